import assert from "node:assert/strict";
import { after, describe, it } from "mocha";
import { releaseSnarkjsCurve } from "../../src/node/prover/curve.js";
import { circuitInput } from "../../src/node/prover/input.js";
import { BATCH_SIZES, type BatchSize, SNARK_SCALAR_FIELD, TREE_DEPTH } from "../../src/shared/encoding.js";
import {
  type AppendWitness,
  IncrementalMerkleTree,
  rootFromPath,
  subtreeRoot,
  zeroRoot,
} from "../../src/shared/merkle.js";
import { assertRejectedAt, checkWitness } from "../helpers/circuit.js";
import { randomLeaf, randomLeaves, seededRandom } from "../helpers/random.js";

// Source text of the constraint each failing case must trip.
const RANGE = "indexBits.in <== startIndex";
const ALIGNMENT = "indexBits.out[i] === 0";
const OLD_ROOT = "oldRoot === before.root";
const NEW_ROOT = "newRoot === after.root";

/** A witness for writing `leaves` at `startIndex` under arbitrary (random) earlier history. */
function witnessAt(startIndex: bigint, leaves: bigint[], random: () => number): AppendWitness {
  const height = Math.log2(leaves.length);
  const siblings = Array.from({ length: TREE_DEPTH - height }, () => randomLeaf(random));
  const position = startIndex >> BigInt(height);
  return {
    oldRoot: rootFromPath(zeroRoot(height), position, siblings),
    newRoot: rootFromPath(subtreeRoot(leaves), position, siblings),
    startIndex,
    leaves,
    siblings,
  };
}

describe("BatchAppend circuit (witness + R1CS)", function () {
  this.timeout(120_000);
  after(releaseSnarkjsCurve);

  for (const batchSize of BATCH_SIZES) {
    describe(`batch size ${batchSize}`, () => {
      it("accepts appends that agree with the TypeScript tree: first slot, then after mixed batches", async () => {
        const random = seededRandom(100 + batchSize);
        const tree = new IncrementalMerkleTree();
        await checkWitness(batchSize, circuitInput(tree.appendSubtree(randomLeaves(random, batchSize))));
        for (const earlier of [1, 4, 1]) tree.appendSubtree(randomLeaves(random, earlier));
        const witness = tree.appendSubtree(randomLeaves(random, batchSize));
        assert.ok(witness.startIndex > 0n);
        await checkWitness(batchSize, circuitInput(witness));
      });

      it("accepts the last aligned slot of the tree", async () => {
        const random = seededRandom(200 + batchSize);
        const last = (1n << BigInt(TREE_DEPTH)) - BigInt(batchSize);
        await checkWitness(batchSize, circuitInput(witnessAt(last, randomLeaves(random, batchSize), random)));
      });

      it("rejects a start index beyond capacity", async () => {
        const random = seededRandom(300 + batchSize);
        const input = circuitInput(witnessAt(0n, randomLeaves(random, batchSize), random));
        await checkWitness(batchSize, input);
        for (const beyond of [1n << BigInt(TREE_DEPTH), SNARK_SCALAR_FIELD - BigInt(batchSize)]) {
          await assertRejectedAt(batchSize, { ...input, startIndex: beyond.toString() }, RANGE);
        }
      });
    });
  }

  describe("rejects a wrong statement (batch size 16)", () => {
    const batchSize: BatchSize = 16;

    async function validWitness(
      seed: number,
    ): Promise<{ tree: IncrementalMerkleTree; witness: AppendWitness }> {
      const random = seededRandom(seed);
      const tree = new IncrementalMerkleTree();
      tree.appendSubtree(randomLeaves(random, 16));
      tree.appendSubtree(randomLeaves(random, 1));
      const witness = tree.appendSubtree(randomLeaves(random, batchSize));
      await checkWitness(batchSize, circuitInput(witness));
      return { tree, witness };
    }

    it("wrong oldRoot", async () => {
      const { witness } = await validWitness(1);
      const input = circuitInput({ ...witness, oldRoot: witness.oldRoot + 1n });
      await assertRejectedAt(batchSize, input, OLD_ROOT);
    });

    it("wrong newRoot", async () => {
      const { witness } = await validWitness(2);
      const input = circuitInput({ ...witness, newRoot: witness.oldRoot });
      await assertRejectedAt(batchSize, input, NEW_ROOT);
    });

    it("unaligned startIndex", async () => {
      const random = seededRandom(3);
      const witness = witnessAt(48n, randomLeaves(random, batchSize), random);
      await checkWitness(batchSize, circuitInput(witness));
      // 49..63 share 48's path bits, so the roots still match: only the alignment is wrong.
      for (const unaligned of [49n, 56n, 63n]) {
        const input = circuitInput({ ...witness, startIndex: unaligned });
        await assertRejectedAt(batchSize, input, ALIGNMENT);
      }
    });

    it("a leaf changed after the root was computed", async () => {
      const { witness } = await validWitness(4);
      const leaves = [...witness.leaves];
      leaves[7] = (leaves[7] as bigint) + 1n;
      await assertRejectedAt(batchSize, circuitInput({ ...witness, leaves }), NEW_ROOT);
    });

    it("a non-empty target slot", async () => {
      const random = seededRandom(5);
      const tree = new IncrementalMerkleTree();
      const first = randomLeaves(random, batchSize);
      const second = randomLeaves(random, batchSize);
      tree.appendSubtree(first);
      tree.appendSubtree(second);
      // Honest siblings of slot 0..15 in this tree: they rebuild the real root from the first batch.
      const siblings = Array.from({ length: TREE_DEPTH - 4 }, (_, i) =>
        i === 0 ? subtreeRoot(second) : zeroRoot(4 + i),
      );
      assert.equal(rootFromPath(subtreeRoot(first), 0n, siblings), tree.root);

      const overwrite = randomLeaves(random, batchSize);
      const input = circuitInput({
        oldRoot: tree.root,
        newRoot: rootFromPath(subtreeRoot(overwrite), 0n, siblings),
        startIndex: 0n,
        leaves: overwrite,
        siblings,
      });
      await assertRejectedAt(batchSize, input, OLD_ROOT);
    });
  });
});
