/**
 * The verdict on one delivered result, from the coordinator's events and two onchain reads taken at
 * one block (root() and pendingLog()). A result is either proven (its leaf is in the Poseidon log
 * under the root) or still in the queue of delivered leaves waiting for their proof; each state has
 * its own check, and a valid verdict says which one held and what that guarantees. Pure and
 * browser-safe: the viem actions and the ethers adapter share it.
 */
import { IncompleteLogError } from "./errors.js";
import {
  batchesOf,
  checkInclusion,
  claimedLeaf,
  type ResultClaim,
  type ResultLogEntry,
  rebuildLeaves,
} from "./logReader.js";
import { checkPending, type PendingLog } from "./pendingQueue.js";
import { leafIndexIn, type ResultDeliveredArgs } from "./types.js";

/** Where a delivered result is: in the Poseidon log under the root, or in the queue waiting for it. */
export type ResultState = "proven" | "pending";

/** What a valid verdict of each state guarantees, in plain words. */
export const RESULT_STATE_MEANING: Record<ResultState, string> = {
  pending:
    "in the log, proof pending: the coordinator checked the request's commitment, computed this leaf " +
    "itself and called the requester back; the leaf is committed onchain in the queue of delivered " +
    "leaves, which can only be proven in this order. It is not under the Merkle root yet.",
  proven:
    "proven: everything a pending result guarantees, and the leaf is in the Poseidon Merkle log under " +
    "the onchain root, which moves only by a Groth16-verified proof of appending exactly these leaves.",
};

export interface CheckResultParameters {
  /** The request's ResultDelivered event: the request fields of the leaf and, by default, its result. */
  result: ResultDeliveredArgs;
  claim?: ResultClaim;
  /** Checks the leaf at this slot instead of the result's (a proven result only). */
  leafIndex?: bigint;
  /** A path someone handed over, lowest sibling first (a proven result only). */
  siblings?: readonly bigint[];
  /**
   * The log's events up to `blockNumber`: every one of them, unless `siblings` is given, when the
   * batches alone place the result (or `leafIndex` does).
   */
  entries: readonly ResultLogEntry[];
  /** The coordinator's root() and pendingLog(), read at `blockNumber`. */
  root: bigint;
  queue: PendingLog;
  blockNumber: bigint;
}

export interface CheckResultReturnType {
  valid: boolean;
  /** Why the result is not valid; absent when it is. */
  reason?: string;
  /** Which check ran: the Merkle path to the root, or the hash chain of the pending queue. */
  state: ResultState;
  /** What a valid verdict in this state guarantees. */
  meaning: string;
  /** The result's leaf, as claimed. */
  leaf: bigint;
  sequence: bigint;
  /** The slot checked; undefined while the proof is pending. */
  leafIndex: bigint | undefined;
  /** The path checked, lowest first (empty while pending): hand it to anyone to check without the logs. */
  siblings: bigint[];
  root: bigint;
  /** pendingLog() at `blockNumber`: the queue the result was checked against, or that it left. */
  queue: PendingLog;
  blockNumber: bigint;
}

/** Whether the (claimed) result is in the log: proven under the root, or committed in the pending queue. */
export function checkResult(parameters: CheckResultParameters): CheckResultReturnType {
  const { result, claim = {}, root, queue, blockNumber, entries } = parameters;
  const state: ResultState = result.sequence < queue.proven ? "proven" : "pending";
  const verdict = (fields: {
    leaf: bigint;
    reason: string | undefined;
    leafIndex?: bigint | undefined;
    siblings?: bigint[];
  }): CheckResultReturnType => ({
    valid: fields.reason === undefined,
    ...(fields.reason === undefined ? {} : { reason: fields.reason }),
    state,
    meaning: RESULT_STATE_MEANING[state],
    leaf: fields.leaf,
    sequence: result.sequence,
    leafIndex: fields.leafIndex,
    siblings: fields.siblings ?? [],
    root,
    queue,
    blockNumber,
  });

  if (state === "pending") {
    if (parameters.siblings !== undefined || parameters.leafIndex !== undefined) {
      return verdict({
        leaf: claimedLeaf(result, claim),
        reason: `the result (sequence ${result.sequence}) is not proven at block ${blockNumber}, so it has no slot or path yet; verify it without one to check the queue of pending leaves`,
      });
    }
    return verdict(checkPending({ result, claim, entries, queue, blockNumber }));
  }

  const leaf = claimedLeaf(result, claim);
  const leafIndex = parameters.leafIndex ?? leafIndexIn(batchesOf(entries), result.sequence);
  if (leafIndex === undefined) {
    throw new IncompleteLogError(
      `no batch read holds sequence ${result.sequence}, which the coordinator has proven by block ${blockNumber}`,
    );
  }
  const inclusion = checkInclusion({
    leaf,
    leafIndex,
    root,
    blockNumber,
    ...(parameters.siblings === undefined
      ? { leaves: rebuildLeaves(entries) }
      : { siblings: parameters.siblings }),
  });
  return verdict({ leaf, leafIndex, ...inclusion });
}
