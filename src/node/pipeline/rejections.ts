/**
 * What a rejected transaction means for the jobs it carried: which end, which wait, which count a
 * failed attempt, and what becomes of a job the chain keeps rejecting.
 */
import { stringToHex } from "viem";
import { type ResultPayload, ResultStatus } from "../../shared/encoding.js";
import type { Rejection } from "../chain/submitter.js";
import type { NodeContext } from "../context.js";
import type { JobState } from "../store/jobState.js";
import type { Batch, JobOutcome, JobStore } from "../store/store.js";

/**
 * What the coordinator's revert says about each job. Settled elsewhere (answered by another operator,
 * cancelled, expired): the job ends. Not its turn yet: it waits. Any other error naming a request
 * counts against that request alone; an error naming none counts against every job of the batch,
 * which then go alone, so whichever one is poison is found without holding up the others.
 */
export function rejectionOutcomes(rejection: Rejection, batch: Batch): Map<bigint, JobOutcome> {
  const outcomes = new Map<bigint, JobOutcome>();
  const named = rejection.args[0];
  const note = rejection.errorName;
  // The log's state, not the jobs, stood in the way (a delivery or proof by someone else landed first,
  // or the queue is full): nothing is wrong with them; they are simply sent again. Their arguments are
  // sequence numbers, not request ids.
  if (LOG_STATE_ERRORS.has(note)) {
    for (const requestId of batch.requestIds) outcomes.set(requestId, { state: "answered", note });
    return outcomes;
  }
  if (typeof named === "bigint" && batch.requestIds.includes(named)) {
    const settled: Record<string, JobState> = { RequestNotPending: "failed", RequestExpired: "expired" };
    const state = settled[note];
    if (state) outcomes.set(named, { state, note });
    // Not its turn yet (a window still running, a NoConsensus sent before the coordinator takes it).
    else if (NOT_YET_ERRORS.has(note)) outcomes.set(named, { state: "answered", note });
    // A co-signer left the active set (slashed, exited) since it signed: the answer is still good.
    else if (COSIGNATURE_ERRORS.has(note))
      outcomes.set(named, { state: "answered", note, dropCosignatures: true });
    else outcomes.set(named, { state: "answered", note, failedAttempt: true });
    return outcomes;
  }
  // A proof made for a root the contract has left (another operator's batch landed first) lost a race;
  // nothing is wrong with its jobs, which are simply batched again.
  const staleRoot = note === "InvalidProof" && rejection.args[0] !== batch.oldRoot;
  for (const requestId of batch.requestIds) {
    outcomes.set(
      requestId,
      staleRoot
        ? { state: "answered", note: "proved on a root the chain has left" }
        : { state: "answered", note: `${note}: retried alone`, failedAttempt: true },
    );
  }
  return outcomes;
}

const LOG_STATE_ERRORS = new Set(["UnprovenLeavesPending", "TooManyPendingLeaves"]);
const NOT_YET_ERRORS = new Set(["NotAssignedOperator", "NoConsensusTooEarly"]);
const COSIGNATURE_ERRORS = new Set(["InvalidCosigner", "WrongSignatureCount"]);

/** After this many rejected deliveries a job is sent with an error result instead of its answer... */
const ERROR_RESULT_AFTER_ATTEMPTS = 3;
/** ... and after this many it is given up. */
const GIVE_UP_AFTER_ATTEMPTS = 5;

function undeliverableResult(): ResultPayload {
  return {
    status: ResultStatus.ModelError,
    output: stringToHex("undeliverable: the chain rejected this answer"),
    metadata: stringToHex("{}"),
  };
}

/**
 * A job whose deliveries keep being rejected gets an error result instead of its answer (its output
 * is what the chain may be refusing); if even that keeps failing, it is given up loudly rather than
 * retried forever. Either way the request ends: answered with an error, or refunded at its deadline.
 */
export async function endRepeatedFailures(
  batch: Batch,
  store: JobStore,
  context: NodeContext,
): Promise<void> {
  const { logger, metrics } = context;
  for (const requestId of batch.requestIds) {
    const job = await store.job(requestId);
    if (job?.state !== "answered") continue;
    if (job.attempts >= GIVE_UP_AFTER_ATTEMPTS) {
      await store.transition(requestId, "answered", "failed", "undeliverable: every delivery was rejected");
      metrics.errors.inc({ kind: "undeliverable" });
      logger.error(
        { requestId: String(requestId), attempts: job.attempts },
        "request undeliverable: given up",
      );
    } else if (job.attempts === ERROR_RESULT_AFTER_ATTEMPTS) {
      await store.reanswer(requestId, undeliverableResult(), "delivering an error result instead");
      logger.warn({ requestId: String(requestId) }, "deliveries rejected: sending an error result instead");
    }
  }
}
