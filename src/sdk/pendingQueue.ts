/**
 * The onchain queue of results delivered without a proof, checked from the coordinator's events. The
 * coordinator commits the queue as a keccak hash chain, chain(s + 1) = keccak256(abi.encode(chain(s),
 * leaf(s))), from `head` (the chain at the first unproven sequence) to `tail` (at the next sequence to
 * be delivered); recomputing it over the leaves rebuilt from ResultDelivered events and landing on
 * `tail` shows each of those leaves is committed at its place. Pure and browser-safe.
 */
import { concat, type Hex, keccak256, numberToHex } from "viem";
import { IncompleteLogError } from "./errors.js";
import { claimedLeaf, deliveredLeaf, type ResultClaim, type ResultLogEntry } from "./logReader.js";
import type { ResultDeliveredArgs } from "./types.js";

/** What the coordinator's pendingLog() returns. */
export interface PendingLog {
  /** Sequence of the first result not yet in the tree. */
  proven: bigint;
  /** Sequence the next delivered result gets: the queue holds proven .. delivered - 1. */
  delivered: bigint;
  /** The hash chain at `proven`. */
  head: Hex;
  /** The hash chain at `delivered`. */
  tail: Hex;
}

/** The coordinator's pendingLog() result, as a tuple (how viem and ethers return it), by name. */
export function pendingLogFrom([proven, delivered, head, tail]: readonly [
  bigint,
  bigint,
  Hex,
  Hex,
]): PendingLog {
  return { proven, delivered, head, tail };
}

/** One step of the queue's hash chain, as the coordinator computes it. */
export function extendChain(chain: Hex, leaf: bigint): Hex {
  return keccak256(concat([chain, numberToHex(leaf, { size: 32 })]));
}

/**
 * The queued results among `entries`, in sequence order. Throws IncompleteLogError when one is
 * missing: a short read is not a verdict on any result.
 */
export function queuedResults(entries: readonly ResultLogEntry[], queue: PendingLog): ResultDeliveredArgs[] {
  const bySequence = new Map<bigint, ResultDeliveredArgs>();
  for (const entry of entries) {
    if (entry.eventName === "ResultDelivered") bySequence.set(entry.args.sequence, entry.args);
  }
  const queued: ResultDeliveredArgs[] = [];
  for (let sequence = queue.proven; sequence < queue.delivered; sequence++) {
    const result = bySequence.get(sequence);
    if (result === undefined) {
      throw new IncompleteLogError(
        `no ResultDelivered event was read for sequence ${sequence}, which waits in the queue of pending leaves`,
      );
    }
    queued.push(result);
  }
  return queued;
}

export interface CheckPendingParameters {
  /** The result's ResultDelivered event; its sequence must be in the queue. */
  result: ResultDeliveredArgs;
  claim?: ResultClaim;
  /** Every ResultDelivered event of the queue (more are ignored). */
  entries: readonly ResultLogEntry[];
  /** pendingLog() read at `blockNumber`. */
  queue: PendingLog;
  blockNumber: bigint;
}

export interface CheckPendingReturnType {
  /** Why the result is not committed in the queue; undefined when it is. */
  reason: string | undefined;
  /** The result's leaf, as claimed. */
  leaf: bigint;
}

/**
 * Whether the (claimed) result's leaf is committed at its sequence in the onchain queue: the hash chain
 * from `head` over the queue's leaves, this one recomputed from the claim, must end at `tail`.
 */
export function checkPending(parameters: CheckPendingParameters): CheckPendingReturnType {
  const { result, claim = {}, queue, blockNumber } = parameters;
  const leaf = claimedLeaf(result, claim);
  const { sequence } = result;
  if (sequence < queue.proven || sequence >= queue.delivered) {
    return {
      leaf,
      reason: `sequence ${sequence} is not in the queue of pending leaves (sequences ${queue.proven} to ${queue.delivered - 1n}) at block ${blockNumber}`,
    };
  }
  const queued = queuedResults(parameters.entries, queue);
  let chain = queue.head;
  let claimed = queue.head;
  for (const entry of queued) {
    const delivered = deliveredLeaf(entry);
    chain = extendChain(chain, delivered);
    claimed = extendChain(claimed, entry.sequence === sequence ? leaf : delivered);
  }
  // Events that do not rebuild the onchain chain say nothing about any result among them.
  if (chain !== queue.tail) {
    return {
      leaf,
      reason: `the events read rebuild the pending queue's chain ${chain}, the coordinator holds ${queue.tail} at block ${blockNumber}`,
    };
  }
  if (claimed !== queue.tail) {
    const held = deliveredLeaf(queued[Number(sequence - queue.proven)] as ResultDeliveredArgs);
    return {
      leaf,
      reason: `the queue of pending leaves holds leaf ${held} at sequence ${sequence}, the result's leaf is ${leaf}`,
    };
  }
  return { leaf, reason: undefined };
}
