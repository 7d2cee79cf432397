import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { type Hex, keccak256, stringToHex, toHex } from "viem";
import { IncompleteLogError } from "../../src/sdk/errors.js";
import { checkResult, findResultEntry, type ResultLogEntry, rebuildLeaves } from "../../src/sdk/logReader.js";
import type { ResultDeliveredArgs } from "../../src/sdk/types.js";
import { decodeUtf8, resolveModelId, toBytesHex } from "../../src/sdk/utils.js";
import {
  EMPTY_LEAF,
  modelIdFromName,
  ResultStatus,
  resultLeaf,
  TREE_DEPTH,
} from "../../src/shared/encoding.js";
import { buildInclusionProof, IncrementalMerkleTree } from "../../src/shared/merkle.js";

const MODEL = modelIdFromName("language-id");
const OPERATOR = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

function delivered(requestId: bigint, leafIndex: bigint, output: string): ResultDeliveredArgs {
  return {
    requestId,
    modelId: MODEL,
    operator: OPERATOR,
    leafIndex,
    status: ResultStatus.Ok,
    callback: 0,
    fee: 1n,
    inputHash: keccak256(toHex(`input ${requestId}`)),
    output: toHex(output),
    metadata: toHex('{"provider":"builtin"}'),
  };
}

function leafOfArgs(args: ResultDeliveredArgs): bigint {
  return resultLeaf(
    args,
    { status: ResultStatus.Ok, output: args.output, metadata: args.metadata },
    OPERATOR,
  );
}

/**
 * The events the coordinator would emit for `batches` (each a batch size and its results), appended in
 * order to a fresh log: BatchAppended first, then its ResultDelivered events, as in one transaction.
 */
function emitLog(batches: Array<{ size: number; outputs: string[] }>) {
  const tree = new IncrementalMerkleTree();
  const entries: ResultLogEntry[] = [];
  let requestId = 1n;
  for (const { size, outputs } of batches) {
    const start =
      tree.nextIndex === 0n ? 0n : ((tree.nextIndex + BigInt(size) - 1n) / BigInt(size)) * BigInt(size);
    const results = outputs.map((output, i) => delivered(requestId++, start + BigInt(i), output));
    const leaves = [...results.map(leafOfArgs), ...Array(size - outputs.length).fill(EMPTY_LEAF)];
    const witness = tree.appendSubtree(leaves);
    assert.equal(witness.startIndex, start);
    entries.push({
      eventName: "BatchAppended",
      args: {
        oldRoot: witness.oldRoot,
        newRoot: witness.newRoot,
        startIndex: start,
        batchSize: BigInt(size),
        count: BigInt(outputs.length),
      },
    });
    for (const args of results) entries.push({ eventName: "ResultDelivered", args });
  }
  return { entries, root: tree.root };
}

describe("sdk log reader (pure)", () => {
  // Slots: 0 (batch of 1), 1..3 skipped to align, 4..7 (batch of 4 with 3 results), 8 (batch of 1).
  const { entries, root } = emitLog([
    { size: 1, outputs: ["en 0.9871"] },
    { size: 4, outputs: ["fr 0.9962", "de 0.9500", "en 0.9000"] },
    { size: 1, outputs: ["es 0.9100"] },
  ]);

  it("rebuilds every slot, with empty leaves for alignment gaps and unused batch slots", () => {
    const leaves = rebuildLeaves(entries);
    assert.equal(leaves.length, 9);
    assert.deepEqual(
      leaves.map((leaf) => leaf === EMPTY_LEAF),
      [false, true, true, true, false, false, false, true, false],
    );
    assert.equal(buildInclusionProof(leaves, 0, TREE_DEPTH).root, root);
  });

  it("does not depend on the order batches were read in", () => {
    assert.deepEqual(rebuildLeaves([...entries].reverse()), rebuildLeaves(entries));
  });

  it("accepts each delivered result and nothing else", () => {
    const leaves = rebuildLeaves(entries);
    for (const requestId of [1n, 2n, 4n, 5n]) {
      const result = findResultEntry(entries, requestId) as ResultDeliveredArgs;
      const verdict = checkResult({ result, leaves, root, blockNumber: 7n });
      assert.equal(verdict.valid, true, verdict.reason);
      assert.equal(verdict.reason, undefined);
      assert.equal(verdict.leafIndex, result.leafIndex);
      assert.equal(verdict.siblings.length, TREE_DEPTH);
      assert.equal(verdict.blockNumber, 7n);
    }
    const result = findResultEntry(entries, 2n) as ResultDeliveredArgs;
    const cases = [
      { claim: { output: "en 0.9962" } },
      { claim: { status: ResultStatus.ModelError } },
      { claim: { metadata: "{}" } },
      { leafIndex: 5n },
      { leafIndex: 7n },
      { leafIndex: 9n },
      { siblings: checkResult({ result, leaves, root, blockNumber: 7n }).siblings.slice(1) },
    ];
    for (const overrides of cases) {
      const verdict = checkResult({ result, leaves, root, blockNumber: 7n, ...overrides });
      assert.equal(
        verdict.valid,
        false,
        JSON.stringify(overrides, (_k, v) => (typeof v === "bigint" ? `${v}` : v)),
      );
      assert.ok(verdict.reason && verdict.reason.length > 0);
    }
  });

  it("checks a path someone handed over without the log, and rejects it with one sibling changed", () => {
    const leaves = rebuildLeaves(entries);
    const result = findResultEntry(entries, 3n) as ResultDeliveredArgs;
    const { siblings } = checkResult({ result, leaves, root, blockNumber: 1n });
    assert.equal(checkResult({ result, siblings, root, blockNumber: 1n }).valid, true);
    const forged = siblings.map((sibling, level) => (level === 2 ? sibling + 1n : sibling));
    const verdict = checkResult({ result, siblings: forged, root, blockNumber: 1n });
    assert.equal(verdict.valid, false);
    assert.match(verdict.reason ?? "", /does not lead to the onchain root/);
  });

  it("says so when the events read do not rebuild the onchain root", () => {
    const leaves = rebuildLeaves(entries);
    const result = findResultEntry(entries, 1n) as ResultDeliveredArgs;
    const verdict = checkResult({ result, leaves, root: root + 1n, blockNumber: 1n });
    assert.equal(verdict.valid, false);
    assert.match(verdict.reason ?? "", /rebuild root/);
  });

  it("refuses a log read that starts late or misses a batch or a result", () => {
    assert.deepEqual(rebuildLeaves([]), []);
    const withoutFirstBatch = entries.slice(2);
    assert.throws(() => rebuildLeaves(withoutFirstBatch), IncompleteLogError);
    const withoutMiddleBatch = entries.filter(
      (entry) => !(entry.eventName === "BatchAppended" && entry.args.startIndex === 4n),
    );
    assert.throws(() => rebuildLeaves(withoutMiddleBatch), /missing from the log read/);
    const withoutResult = entries.filter(
      (entry) => !(entry.eventName === "ResultDelivered" && entry.args.requestId === 3n),
    );
    assert.throws(() => rebuildLeaves(withoutResult), /no ResultDelivered event was read for leaf 5/);
    assert.throws(() => rebuildLeaves([...entries, entries[1] as ResultLogEntry]), /no open slot/);
  });

  it("reads models, inputs and outputs the way people write them", () => {
    assert.equal(resolveModelId("language-id"), MODEL);
    assert.equal(resolveModelId(MODEL.toUpperCase().replace("0X", "0x")), MODEL);
    assert.equal(toBytesHex("hello"), stringToHex("hello"));
    assert.equal(toBytesHex("0xdead"), "0xdead");
    assert.equal(toBytesHex("0xabc"), stringToHex("0xabc"), "odd-length hex is text");
    assert.equal(toBytesHex(new Uint8Array([1, 2])), "0x0102");
    assert.equal(decodeUtf8(toHex("fr 0.9962")), "fr 0.9962");
    assert.equal(decodeUtf8("0xff" as Hex), undefined);
  });
});
