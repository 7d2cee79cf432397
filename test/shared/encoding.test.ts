import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { concatHex, pad, toHex, keccak256 as viemKeccak } from "viem";
import {
  alignedStart,
  BATCH_SIZES,
  batchSizeFor,
  keccak256,
  leafOf,
  publicSignals,
  ResultStatus,
  SNARK_SCALAR_FIELD,
  toField,
} from "../../src/shared/encoding.js";

describe("encoding", () => {
  describe("toField", () => {
    it("drops the low byte, so the largest hash still fits the field", () => {
      const max = `0x${"ff".repeat(32)}` as const;
      assert.equal(toField(max), (1n << 248n) - 1n);
      assert.ok(toField(max) < SNARK_SCALAR_FIELD);
      assert.equal(toField(`0x${"00".repeat(31)}ab`), 0n);
      assert.equal(toField(`0x${"00".repeat(30)}cdab`), 0xcdn);
    });

    it("rejects anything but 32 bytes", () => {
      assert.throws(() => toField("0x1234"), /32-byte hex/);
      assert.throws(() => toField(`0x${"zz".repeat(32)}` as `0x${string}`), /32-byte hex/);
    });
  });

  it("keccak256 from @noble/hashes matches viem's", () => {
    for (const data of ["0x", "0x00", toHex("sibyl"), toHex("x".repeat(1000))] as const) {
      assert.equal(keccak256(data), viemKeccak(data));
    }
  });

  it("leafOf hashes the abi-encoded fields in the documented order", () => {
    const fields = {
      requestId: 7n,
      modelId: pad(toHex("langid"), { dir: "right", size: 32 }),
      inputHash: viemKeccak(toHex("bonjour")),
      outputHash: viemKeccak(toHex("fr")),
      metadataHash: viemKeccak(toHex("{}")),
      status: ResultStatus.Ok,
      operator: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    } as const;
    // abi.encode of static types is each value left-padded to 32 bytes, concatenated.
    const encoded = concatHex([
      pad(toHex(fields.requestId)),
      fields.modelId,
      fields.inputHash,
      fields.outputHash,
      fields.metadataHash,
      pad(toHex(fields.status)),
      pad(fields.operator),
    ]);
    assert.equal(leafOf(fields), BigInt(viemKeccak(encoded)) >> 8n);
    assert.notEqual(leafOf({ ...fields, status: ResultStatus.ModelError }), leafOf(fields));
    assert.notEqual(leafOf({ ...fields, requestId: 8n }), leafOf(fields));
    // Binding: the same result delivered by another operator is another leaf.
    assert.notEqual(
      leafOf({ ...fields, operator: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" }),
      leafOf(fields),
    );
  });

  it("publicSignals puts oldRoot, newRoot, startIndex before the leaves", () => {
    const signals = publicSignals({ oldRoot: 1n, newRoot: 2n, startIndex: 16n, leaves: [5n, 6n] });
    assert.deepEqual(signals, [1n, 2n, 16n, 5n, 6n]);
  });

  it("batchSizeFor picks the smallest circuit that holds the batch", () => {
    assert.deepEqual(
      [...BATCH_SIZES],
      [...BATCH_SIZES].sort((a, b) => a - b),
    );
    assert.equal(batchSizeFor(1), 1);
    assert.equal(batchSizeFor(2), 4);
    assert.equal(batchSizeFor(16), 16);
    assert.equal(batchSizeFor(17), 64);
    assert.equal(batchSizeFor(64), 64);
    assert.throws(() => batchSizeFor(0), /1 to 64/);
    assert.throws(() => batchSizeFor(65), /1 to 64/);
  });

  it("alignedStart rounds up to the next multiple of the batch size", () => {
    assert.equal(alignedStart(0n, 16), 0n);
    assert.equal(alignedStart(1n, 16), 16n);
    assert.equal(alignedStart(16n, 16), 16n);
    assert.equal(alignedStart(17n, 4), 20n);
    assert.equal(alignedStart(17n, 1), 17n);
  });
});
