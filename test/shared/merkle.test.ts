import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { poseidon2 } from "poseidon-lite";
import { EMPTY_LEAF, TREE_DEPTH } from "../../src/shared/encoding.js";
import {
  buildInclusionProof,
  IncrementalMerkleTree,
  rootFromPath,
  subtreeRoot,
  verifyInclusionProof,
  zeroRoot,
} from "../../src/shared/merkle.js";
import { randomLeaves, seededRandom } from "../helpers/random.js";

/** Reference: hash every level of a dense tree of 2^depth slots. */
function naiveRoot(slots: Map<number, bigint>, depth: number): bigint {
  let layer = Array.from({ length: 2 ** depth }, (_, i) => slots.get(i) ?? EMPTY_LEAF);
  while (layer.length > 1) {
    layer = Array.from({ length: layer.length / 2 }, (_, i) =>
      poseidon2([layer[2 * i] as bigint, layer[2 * i + 1] as bigint]),
    );
  }
  return layer[0] as bigint;
}

describe("merkle", () => {
  it("zero subtrees are Poseidon over empty children", () => {
    assert.equal(zeroRoot(0), 0n);
    assert.equal(zeroRoot(1), poseidon2([0n, 0n]));
    assert.equal(zeroRoot(5), poseidon2([zeroRoot(4), zeroRoot(4)]));
    assert.equal(new IncrementalMerkleTree().root, zeroRoot(TREE_DEPTH));
  });

  it("subtreeRoot matches the reference tree", () => {
    const leaves = randomLeaves(seededRandom(1), 16);
    assert.equal(subtreeRoot(leaves), naiveRoot(new Map(leaves.map((leaf, i) => [i, leaf])), 4));
    assert.equal(subtreeRoot([42n]), 42n);
    assert.throws(() => subtreeRoot([1n, 2n, 3n]), /power-of-two/);
  });

  it("random aligned appends agree with the reference tree and with their own witnesses", () => {
    const random = seededRandom(2);
    const depth = 8;
    const tree = new IncrementalMerkleTree(depth);
    const slots = new Map<number, bigint>();
    for (let round = 0; round < 30; round++) {
      const size = [1, 2, 4, 8][Math.floor(random() * 4)] as number;
      const leaves = randomLeaves(random, size);
      const rootBefore = tree.root;
      const witness = tree.appendSubtree(leaves);

      assert.equal(witness.startIndex % BigInt(size), 0n);
      for (const [i, leaf] of leaves.entries()) slots.set(Number(witness.startIndex) + i, leaf);
      assert.equal(witness.oldRoot, rootBefore);
      assert.equal(tree.root, naiveRoot(slots, depth));
      assert.equal(witness.newRoot, tree.root);
      assert.equal(tree.nextIndex, witness.startIndex + BigInt(size));

      // The witness alone explains the change: same path, empty subtree before, filled after.
      const position = witness.startIndex / BigInt(size);
      const height = Math.log2(size);
      assert.equal(rootFromPath(zeroRoot(height), position, witness.siblings), witness.oldRoot);
      assert.equal(rootFromPath(subtreeRoot(leaves), position, witness.siblings), witness.newRoot);
    }
  });

  it("skips slots to align a batch and leaves them empty", () => {
    const tree = new IncrementalMerkleTree(8);
    tree.appendSubtree([11n]);
    const witness = tree.appendSubtree([21n, 22n, 23n, 24n]);
    assert.equal(witness.startIndex, 4n);
    assert.equal(tree.nextIndex, 8n);
    assert.equal(
      tree.root,
      naiveRoot(
        new Map([
          [0, 11n],
          [4, 21n],
          [5, 22n],
          [6, 23n],
          [7, 24n],
        ]),
        8,
      ),
    );
  });

  it("refuses to overflow and stays unchanged", () => {
    const tree = new IncrementalMerkleTree(3);
    tree.appendSubtree([1n, 2n, 3n, 4n]);
    tree.appendSubtree([5n]);
    const before = tree.snapshot();
    assert.throws(() => tree.appendSubtree([6n, 7n, 8n, 9n]), /tree is full/);
    assert.deepEqual(tree.snapshot(), before);
    tree.appendSubtree([6n, 7n]);
    assert.equal(tree.nextIndex, 8n);
    assert.throws(() => tree.appendSubtree([10n]), /tree is full/);
    assert.throws(() => tree.appendSubtree(new Array(16).fill(1n)), /exceeds depth/);
  });

  it("a snapshot restores a tree that keeps appending identically", () => {
    const random = seededRandom(3);
    const original = new IncrementalMerkleTree();
    original.appendSubtree(randomLeaves(random, 16));
    original.appendSubtree(randomLeaves(random, 1));
    const restored = IncrementalMerkleTree.fromSnapshot(JSON.parse(JSON.stringify(original.snapshot())));
    const next = randomLeaves(random, 4);
    assert.deepEqual(restored.appendSubtree(next), original.appendSubtree(next));
    assert.equal(restored.root, original.root);
  });

  it("inclusion proofs verify against the tree root at full depth, and only for the right leaf", () => {
    const random = seededRandom(4);
    const tree = new IncrementalMerkleTree();
    const dense: bigint[] = [];
    for (const size of [1, 16, 4, 1, 64]) {
      const witness = tree.appendSubtree(randomLeaves(random, size));
      while (dense.length < Number(witness.startIndex)) dense.push(EMPTY_LEAF);
      dense.push(...witness.leaves);
    }
    for (const index of [0, 16, 31, 32, 37, 100, dense.length - 1]) {
      const proof = buildInclusionProof(dense, index);
      assert.equal(proof.root, tree.root);
      assert.equal(proof.siblings.length, TREE_DEPTH);
      assert.ok(verifyInclusionProof(proof, tree.root));
      assert.ok(!verifyInclusionProof({ ...proof, leaf: proof.leaf + 1n }, tree.root));
      assert.ok(!verifyInclusionProof({ ...proof, index: proof.index ^ 1n }, tree.root));
      assert.ok(!verifyInclusionProof({ ...proof, index: proof.index + (1n << 32n) }, tree.root));
    }
    assert.throws(() => buildInclusionProof(dense, dense.length), /outside/);
  });
});
