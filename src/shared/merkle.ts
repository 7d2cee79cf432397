/**
 * The result log: a fixed-depth binary Poseidon(2) Merkle tree (circomlib Poseidon) that grows by
 * appending aligned subtrees. The incremental tree keeps only a frontier, so the node can append and
 * build witnesses in O(depth) memory; inclusion proofs are built from the full leaf list.
 */
import { poseidon2 } from "poseidon-lite";
import { alignedStart, EMPTY_LEAF, TREE_DEPTH } from "./encoding.js";

export function hashPair(left: bigint, right: bigint): bigint {
  return poseidon2([left, right]);
}

const zeroCache: bigint[] = [EMPTY_LEAF];

/** zeroRoot(h): root of a subtree of height h whose leaves are all empty. */
export function zeroRoot(height: number): bigint {
  for (let level = zeroCache.length; level <= height; level++) {
    const below = zeroCache[level - 1] as bigint;
    zeroCache.push(hashPair(below, below));
  }
  return zeroCache[height] as bigint;
}

/** Root of a complete tree over `leaves` (a power-of-two count). */
export function subtreeRoot(leaves: readonly bigint[]): bigint {
  const height = exactLog2(leaves.length);
  let layer = [...leaves];
  for (let level = 0; level < height; level++) {
    layer = hashLayer(layer);
  }
  return layer[0] as bigint;
}

export class MerkleTreeError extends Error {
  override name = "MerkleTreeError";
}

/** What the BatchAppend circuit needs to prove one append. */
export interface AppendWitness {
  oldRoot: bigint;
  newRoot: bigint;
  startIndex: bigint;
  leaves: bigint[];
  /** Siblings from the appended subtree up to the root, lowest first. */
  siblings: bigint[];
}

export interface FrontierSnapshot {
  depth: number;
  nextIndex: string;
  root: string;
  frontier: string[];
}

/**
 * Append-only tree that remembers, per level, the latest node that is a left child (the frontier).
 * Everything to the right of the next slot is empty, so a new subtree's siblings are either a
 * frontier node (when it is a right child) or a zero subtree (when it is a left child).
 */
export class IncrementalMerkleTree {
  readonly depth: number;
  #nextIndex = 0n;
  #root: bigint;
  readonly #frontier: bigint[];

  constructor(depth: number = TREE_DEPTH) {
    if (!Number.isInteger(depth) || depth < 1 || depth > 64) {
      throw new MerkleTreeError(`tree depth must be an integer in 1..64, got ${depth}`);
    }
    this.depth = depth;
    this.#frontier = Array.from({ length: depth }, (_, level) => zeroRoot(level));
    this.#root = zeroRoot(depth);
  }

  static fromSnapshot(snapshot: FrontierSnapshot): IncrementalMerkleTree {
    const tree = new IncrementalMerkleTree(snapshot.depth);
    if (snapshot.frontier.length !== snapshot.depth) {
      throw new MerkleTreeError(
        `snapshot frontier has ${snapshot.frontier.length} nodes, depth is ${snapshot.depth}`,
      );
    }
    snapshot.frontier.forEach((node, level) => {
      tree.#frontier[level] = BigInt(node);
    });
    tree.#nextIndex = BigInt(snapshot.nextIndex);
    tree.#root = BigInt(snapshot.root);
    return tree;
  }

  get root(): bigint {
    return this.#root;
  }

  /** First slot that has never been written; slots skipped by alignment stay empty forever. */
  get nextIndex(): bigint {
    return this.#nextIndex;
  }

  get capacity(): bigint {
    return 1n << BigInt(this.depth);
  }

  snapshot(): FrontierSnapshot {
    return {
      depth: this.depth,
      nextIndex: this.#nextIndex.toString(),
      root: this.#root.toString(),
      frontier: this.#frontier.map((node) => node.toString()),
    };
  }

  /**
   * Appends `leaves` (a power-of-two count) as one subtree at the next aligned slot and returns the
   * witness of that state change. The tree is unchanged if this throws.
   */
  appendSubtree(leaves: readonly bigint[]): AppendWitness {
    const height = exactLog2(leaves.length);
    if (height > this.depth) {
      throw new MerkleTreeError(`a subtree of ${leaves.length} leaves exceeds depth ${this.depth}`);
    }
    const size = BigInt(leaves.length);
    const startIndex = alignedStart(this.#nextIndex, leaves.length);
    if (startIndex + size > this.capacity) {
      throw new MerkleTreeError(
        `tree is full: ${leaves.length} leaves at ${startIndex} exceed capacity ${this.capacity}`,
      );
    }

    const oldRoot = this.#root;
    const siblings: bigint[] = [];
    const frontierUpdates: Array<[number, bigint]> = [];
    let node = subtreeRoot(leaves);
    let position = startIndex >> BigInt(height);
    for (let level = height; level < this.depth; level++) {
      const isRightChild = (position & 1n) === 1n;
      const sibling = isRightChild ? (this.#frontier[level] as bigint) : zeroRoot(level);
      if (!isRightChild) frontierUpdates.push([level, node]);
      siblings.push(sibling);
      node = isRightChild ? hashPair(sibling, node) : hashPair(node, sibling);
      position >>= 1n;
    }

    for (const [level, value] of frontierUpdates) this.#frontier[level] = value;
    this.#root = node;
    this.#nextIndex = startIndex + size;
    return { oldRoot, newRoot: node, startIndex, leaves: [...leaves], siblings };
  }
}

export interface InclusionProof {
  leaf: bigint;
  index: bigint;
  /** Siblings from the leaf up to the root, lowest first. */
  siblings: bigint[];
  root: bigint;
}

/**
 * Inclusion proof for `leaves[index]` in the tree holding `leaves` at slots 0..leaves.length-1 (empty
 * slots as EMPTY_LEAF) and nothing after them.
 */
export function buildInclusionProof(
  leaves: readonly bigint[],
  index: number,
  depth: number = TREE_DEPTH,
): InclusionProof {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new MerkleTreeError(`leaf index ${index} is outside the ${leaves.length} known leaves`);
  }
  const siblings: bigint[] = [];
  let layer = [...leaves];
  let position = index;
  for (let level = 0; level < depth; level++) {
    const sibling = layer[position ^ 1] ?? zeroRoot(level);
    siblings.push(sibling);
    if (layer.length % 2 === 1) layer.push(zeroRoot(level));
    layer = hashLayer(layer);
    position >>= 1;
  }
  return { leaf: leaves[index] as bigint, index: BigInt(index), siblings, root: layer[0] as bigint };
}

/**
 * Walks `node` at `position` (counted at its own level) up through `siblings`, lowest first, and
 * returns the root. Throws when the position does not fit the path.
 */
export function rootFromPath(node: bigint, position: bigint, siblings: readonly bigint[]): bigint {
  if (position < 0n || position >> BigInt(siblings.length) !== 0n) {
    throw new MerkleTreeError(`position ${position} does not fit a path of ${siblings.length} levels`);
  }
  let current = node;
  let remaining = position;
  for (const sibling of siblings) {
    current = (remaining & 1n) === 1n ? hashPair(sibling, current) : hashPair(current, sibling);
    remaining >>= 1n;
  }
  return current;
}

/** True when the proof's leaf, index and siblings lead to `expectedRoot`. */
export function verifyInclusionProof(proof: InclusionProof, expectedRoot: bigint): boolean {
  if (proof.index < 0n || proof.index >> BigInt(proof.siblings.length) !== 0n) return false;
  return rootFromPath(proof.leaf, proof.index, proof.siblings) === expectedRoot;
}

function exactLog2(count: number): number {
  if (!Number.isInteger(count) || count < 1 || (count & (count - 1)) !== 0) {
    throw new MerkleTreeError(`a subtree needs a power-of-two number of leaves, got ${count}`);
  }
  return Math.log2(count);
}

function hashLayer(layer: bigint[]): bigint[] {
  const next: bigint[] = [];
  for (let i = 0; i < layer.length; i += 2) {
    next.push(hashPair(layer[i] as bigint, layer[i + 1] as bigint));
  }
  return next;
}
