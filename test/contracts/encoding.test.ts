import assert from "node:assert/strict";
import { network } from "hardhat";
import { describe, it } from "mocha";
import { getAddress, toHex, keccak256 as viemKeccak } from "viem";
import {
  leafOf,
  modelIdFromName,
  ResultStatus,
  SNARK_SCALAR_FIELD,
  TREE_DEPTH,
  toField,
} from "../../src/shared/encoding.js";
import { zeroRoot } from "../../src/shared/merkle.js";
import { seededRandom } from "../helpers/random.js";

describe("encoding: TypeScript and Solidity agree", () => {
  it("constants: empty root, depth, field order", async () => {
    const { viem } = await network.getOrCreate();
    const harness = await viem.deployContract("SibylEncodingHarness");
    assert.equal(await harness.read.emptyRoot(), zeroRoot(TREE_DEPTH));
    assert.equal(await harness.read.treeDepth(), BigInt(TREE_DEPTH));
    assert.equal(await harness.read.fieldOrder(), SNARK_SCALAR_FIELD);
    assert.equal(await harness.read.maxStatus(), Math.max(...Object.values(ResultStatus)));
  });

  it("toField and leafOf on random inputs", async () => {
    const { viem } = await network.getOrCreate();
    const harness = await viem.deployContract("SibylEncodingHarness");
    const random = seededRandom(42);
    const statuses = Object.values(ResultStatus);
    for (let i = 0; i < 25; i++) {
      const word = () => viemKeccak(toHex(`${i}-${random()}`));
      const fields = {
        requestId: BigInt(Math.floor(random() * 2 ** 40)),
        modelId: modelIdFromName(`model-${i}`),
        inputHash: word(),
        outputHash: word(),
        metadataHash: word(),
        status: statuses[i % statuses.length] as ResultStatus,
        operator: getAddress(viemKeccak(toHex(`operator-${i}`)).slice(0, 42)),
      };
      assert.equal(await harness.read.toField([fields.inputHash]), toField(fields.inputHash));
      assert.equal(
        await harness.read.leafOf([
          fields.requestId,
          fields.modelId,
          fields.inputHash,
          fields.outputHash,
          fields.metadataHash,
          fields.status,
          fields.operator,
        ]),
        leafOf(fields),
      );
    }
  });
});
