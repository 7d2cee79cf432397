/**
 * The life of one request inside the node. Each move is written to the store before the side effect it
 * announces (a model call, a proof, a transaction), so after a crash the state says what may have
 * happened and recovery repeats only what is safe to repeat.
 */
import { SibylError } from "../../shared/errors.js";

export const JOB_STATES = [
  "received", // read from the chain, waiting for the model
  "running", // the model is (or was, before a crash) being called
  "answered", // output and metadata stored, waiting for a batch
  "proving", // in a batch whose proof is being made
  "submitted", // in a fulfil transaction that was signed and stored, then broadcast
  "confirmed", // its ResultDelivered event is on the chain (whoever fulfilled it)
  "failed", // the chain rejected it for good (e.g. its commitment no longer matches)
  "expired", // too close to or past its deadline to answer
  "cancelled", // its requester cancelled it onchain
] as const;

export type JobState = (typeof JOB_STATES)[number];

const SETTLED_BY_CHAIN: JobState[] = ["confirmed", "cancelled"];

const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  received: ["running", "expired", ...SETTLED_BY_CHAIN],
  // Back to received: the call was interrupted (shutdown or crash) and will be made again.
  running: ["answered", "received", "expired", ...SETTLED_BY_CHAIN],
  // Failed: given up after every delivery of it was rejected (pipeline/rejections.ts).
  answered: ["proving", "failed", "expired", ...SETTLED_BY_CHAIN],
  // Back to answered: the batch was abandoned before or after sending, and will be re-batched.
  // Failed: the fulfil's simulation, before signing, showed the chain will never take it.
  proving: ["submitted", "answered", "failed", "expired", ...SETTLED_BY_CHAIN],
  submitted: ["answered", "failed", "expired", ...SETTLED_BY_CHAIN],
  // A reorg removed the block with its result: the answer is still good, so it goes out again.
  confirmed: ["answered"],
  failed: SETTLED_BY_CHAIN,
  // Another operator may still answer in time, or the requester cancels: the chain has the last word.
  expired: SETTLED_BY_CHAIN,
  cancelled: [],
};

export const TERMINAL_STATES: readonly JobState[] = ["confirmed", "failed", "expired", "cancelled"];

export class InvalidTransitionError extends SibylError {
  override name = "InvalidTransitionError";
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(requestId: bigint, from: JobState, to: JobState): void {
  if (!canTransition(from, to)) {
    throw new InvalidTransitionError(`job ${requestId} cannot go from ${from} to ${to}`);
  }
}
