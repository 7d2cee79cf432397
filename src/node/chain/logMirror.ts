/**
 * The node's copy of the coordinator's result log: the Poseidon tree, and in front of it the queue of
 * results delivered without a proof yet (sequence order, each marked where its delivery ended: a proof
 * may only end there). Rebuilt from events alone, and snapshotted with each checkpoint so a restart
 * or a rewind picks up the queue where the chain had it.
 */
import { EMPTY_LEAF } from "../../shared/encoding.js";
import { SibylError } from "../../shared/errors.js";
import { type AppendWitness, type FrontierSnapshot, IncrementalMerkleTree } from "../../shared/merkle.js";

export class TreeMismatchError extends SibylError {
  override name = "TreeMismatchError";
}

export interface PendingLeaf {
  sequence: bigint;
  leaf: bigint;
  /** The last result of its delivery: a proof of the queue's first leaves may end here. */
  endsDelivery: boolean;
}

/** A checkpoint's copy of the log. Older checkpoints hold only the tree (an empty queue). */
export interface LogSnapshot extends FrontierSnapshot {
  delivered?: string;
  pending?: Array<{ sequence: string; leaf: string; endsDelivery: boolean }>;
}

export interface BatchEvent {
  oldRoot: bigint;
  newRoot: bigint;
  startIndex: bigint;
  batchSize: bigint;
  count: bigint;
  firstSequence: bigint;
}

export class LogMirror {
  readonly tree: IncrementalMerkleTree;
  readonly #pending: PendingLeaf[];
  /** The sequence the next delivered result gets. */
  #delivered: bigint;

  constructor(tree = new IncrementalMerkleTree(), pending: PendingLeaf[] = [], delivered = 0n) {
    this.tree = tree;
    this.#pending = pending;
    this.#delivered = delivered;
  }

  static fromSnapshot(snapshot: LogSnapshot): LogMirror {
    const pending = (snapshot.pending ?? []).map((entry) => ({
      sequence: BigInt(entry.sequence),
      leaf: BigInt(entry.leaf),
      endsDelivery: entry.endsDelivery,
    }));
    return new LogMirror(
      IncrementalMerkleTree.fromSnapshot(snapshot),
      pending,
      BigInt(snapshot.delivered ?? "0"),
    );
  }

  snapshot(): LogSnapshot {
    return {
      ...this.tree.snapshot(),
      delivered: this.#delivered.toString(),
      pending: this.#pending.map((entry) => ({
        sequence: entry.sequence.toString(),
        leaf: entry.leaf.toString(),
        endsDelivery: entry.endsDelivery,
      })),
    };
  }

  copy(): LogMirror {
    return LogMirror.fromSnapshot(this.snapshot());
  }

  /** Delivered results waiting for their proof, oldest first. */
  get pending(): readonly PendingLeaf[] {
    return this.#pending;
  }

  get delivered(): bigint {
    return this.#delivered;
  }

  /** Queues the leaves of one transaction's ResultDelivered events, in their order. */
  deliver(results: ReadonlyArray<{ sequence: bigint; leaf: bigint }>): void {
    results.forEach(({ sequence, leaf }, position) => {
      if (sequence !== this.#delivered) {
        throw new TreeMismatchError(`result ${sequence} delivered, the node expected ${this.#delivered}`);
      }
      this.#pending.push({ sequence, leaf, endsDelivery: position === results.length - 1 });
      this.#delivered++;
    });
  }

  /** Moves the batch's results from the queue into the tree, checking the chain's new root. */
  append(batch: BatchEvent): void {
    const { oldRoot, newRoot, startIndex, batchSize, count, firstSequence } = batch;
    if (this.tree.root !== oldRoot) {
      throw new TreeMismatchError(
        `batch at ${startIndex} starts from root ${oldRoot}, the node has ${this.tree.root}`,
      );
    }
    const first = this.#pending[0];
    if (count > BigInt(this.#pending.length) || first?.sequence !== firstSequence) {
      throw new TreeMismatchError(
        `batch at ${startIndex} holds results ${firstSequence}+${count}, the node has ${this.#pending.length} queued from ${first?.sequence}`,
      );
    }
    const proven = this.#pending.splice(0, Number(count));
    const leaves = proven.map((entry) => entry.leaf);
    while (leaves.length < Number(batchSize)) leaves.push(EMPTY_LEAF);
    const witness = this.tree.appendSubtree(leaves);
    if (witness.newRoot !== newRoot || witness.startIndex !== startIndex) {
      throw new TreeMismatchError(
        `batch at ${startIndex}: the chain's root ${newRoot}, the node's ${witness.newRoot}`,
      );
    }
  }

  /**
   * How many of the queue's first leaves one proof of at most `maxCount` can cover: it must end where
   * a delivery ended. Zero when the queue is empty.
   */
  provableCount(maxCount: number): number {
    let count = 0;
    for (let i = 0; i < Math.min(maxCount, this.#pending.length); i++) {
      if (this.#pending[i]?.endsDelivery) count = i + 1;
    }
    return count;
  }

  /** The append proving the queue's first `count` leaves on top of the tree (which is left unchanged). */
  proofWitness(count: number, batchSize: number): AppendWitness {
    const leaves = this.#pending.slice(0, count).map((entry) => entry.leaf);
    while (leaves.length < batchSize) leaves.push(EMPTY_LEAF);
    return IncrementalMerkleTree.fromSnapshot(this.tree.snapshot()).appendSubtree(leaves);
  }
}
