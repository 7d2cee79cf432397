/**
 * Proves the coordinator's queue of delivered results in the background while deliveries go on. A
 * proof starts once a full proof's worth is pending, or the oldest pending result has waited
 * `proving.maxWaitMs`, or the queue has reached this node's limit; it is made on the tree as the node
 * last read it, and handed to the batcher to send when ready, unless the chain has moved on meanwhile
 * (another prover was first), in which case it is dropped. While a finished proof is being sent, the
 * next one is already under way on the tree as it will be.
 */
import { batchSizeFor } from "../../shared/encoding.js";
import type { AppendWitness } from "../../shared/merkle.js";
import type { LogMirror } from "../chain/logMirror.js";
import type { NodeContext } from "../context.js";
import type { BatchProof, BatchProver } from "../prover/prover.js";

export interface ReadyProof {
  firstSequence: bigint;
  leaves: bigint[];
  witness: AppendWitness;
  proof: BatchProof;
}

interface ProofTask {
  firstSequence: bigint;
  count: number;
  witness: AppendWitness;
  proof?: BatchProof;
  error?: unknown;
  done: boolean;
}

export interface ProvingPolicy {
  batchSize: number;
  maxWaitMs: number;
  maxPending: number;
}

export class PendingProver {
  readonly #context: NodeContext;
  readonly #prover: BatchProver;
  readonly #onDone: () => void;
  /** When this node first saw each pending result, by sequence, for the max-wait rule. */
  readonly #seenAt = new Map<bigint, number>();
  #task: ProofTask | undefined;

  constructor(context: NodeContext, prover: BatchProver, onDone: () => void) {
    this.#context = context;
    this.#prover = prover;
    this.#onDone = onDone;
  }

  /**
   * A finished proof to send now, if one is ready and still fits the chain as `log` has it; otherwise
   * starts one if it is due, and says how long until one might be. A failed proof throws (once).
   */
  next(log: LogMirror, policy: ProvingPolicy, now: number): { ready?: ReadyProof; waitMs: number } {
    this.#track(log, now);
    const task = this.#task;
    if (task !== undefined) {
      if (!task.done) return { waitMs: Number.POSITIVE_INFINITY };
      this.#task = undefined;
      if (task.error !== undefined) throw task.error;
      const first = log.pending[0];
      const current =
        task.witness.oldRoot === log.tree.root &&
        first?.sequence === task.firstSequence &&
        log.pending.length >= task.count;
      if (current && task.proof) {
        const leaves = task.witness.leaves.slice(0, task.count);
        // The prover would sit idle while this one is mined and read back: prove what follows it now,
        // on the tree as it will be. Dropped like any other if this one does not land.
        this.#startIfDue(afterProof(log, task), policy, now);
        return {
          ready: { firstSequence: task.firstSequence, leaves, witness: task.witness, proof: task.proof },
          waitMs: 0,
        };
      }
    }
    return { waitMs: this.#startIfDue(log, policy, now) };
  }

  #startIfDue(log: LogMirror, policy: ProvingPolicy, now: number): number {
    const first = log.pending[0];
    if (first === undefined) return Number.POSITIVE_INFINITY;
    const oldest = this.#seenAt.get(first.sequence) ?? now;
    const waitMs = oldest + policy.maxWaitMs - now;
    const due = log.pending.length >= Math.min(policy.batchSize, policy.maxPending) || waitMs <= 0;
    if (!due) return waitMs;
    const count = log.provableCount(policy.batchSize);
    if (count === 0) return waitMs;
    const witness = log.proofWitness(count, batchSizeFor(count));
    const task: ProofTask = { firstSequence: first.sequence, count, witness, done: false };
    this.#task = task;
    this.#context.logger.debug({ firstSequence: String(first.sequence), count }, "proving pending results");
    this.#context.crashAt("during-pending-proof");
    this.#prover
      .prove(witness)
      .then(
        (proof) => {
          task.proof = proof;
        },
        (error: unknown) => {
          task.error = error;
        },
      )
      .finally(() => {
        task.done = true;
        this.#onDone();
      });
    return Number.POSITIVE_INFINITY;
  }

  #track(log: LogMirror, now: number): void {
    const first = log.pending[0]?.sequence ?? log.delivered;
    for (const sequence of this.#seenAt.keys()) if (sequence < first) this.#seenAt.delete(sequence);
    for (const entry of log.pending)
      if (!this.#seenAt.has(entry.sequence)) this.#seenAt.set(entry.sequence, now);
  }
}

/** `log` as it will be once `task`'s proof lands: its leaves moved from the queue into the tree. */
function afterProof(log: LogMirror, task: ProofTask): LogMirror {
  const next = log.copy();
  next.append({
    oldRoot: task.witness.oldRoot,
    newRoot: task.witness.newRoot,
    startIndex: task.witness.startIndex,
    batchSize: BigInt(task.witness.leaves.length),
    count: BigInt(task.count),
    firstSequence: task.firstSequence,
  });
  return next;
}
