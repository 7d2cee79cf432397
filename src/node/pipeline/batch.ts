/**
 * Batch assembly: when to cut a batch from the answered jobs, and the statement it proves. Leaves are
 * computed with the same shared encoding the coordinator mirrors, and the subtree lands where the
 * contract will put it (the next slot aligned to the batch size).
 */

import { batchSizeFor, EMPTY_LEAF, resultLeaf } from "../../shared/encoding.js";
import { type AppendWitness, IncrementalMerkleTree } from "../../shared/merkle.js";
import type { FulfillArgs } from "../chain/submitter.js";
import { toProofWords } from "../prover/calldata.js";
import type { BatchProof } from "../prover/prover.js";
import type { Job } from "../store/store.js";

export interface BatchPolicy {
  maxSize: number;
  maxWaitMs: number;
}

/**
 * The jobs to batch now, or how long to wait for more: a full batch goes at once; a partial one when
 * its oldest answer has waited `maxWaitMs`.
 */
export function selectBatch(
  answered: readonly Job[],
  answeredAt: (job: Job) => number,
  policy: BatchPolicy,
  now: number,
): { jobs: Job[] } | { waitMs: number } | undefined {
  if (answered.length === 0) return undefined;
  if (answered.length >= policy.maxSize) return { jobs: answered.slice(0, policy.maxSize) };
  const oldest = Math.min(...answered.map(answeredAt));
  const waitMs = oldest + policy.maxWaitMs - now;
  return waitMs <= 0 ? { jobs: [...answered] } : { waitMs };
}

/** The append of `jobs`' results to `tree` (which is left unchanged). */
export function batchWitness(jobs: readonly Job[], tree: IncrementalMerkleTree): AppendWitness {
  const batchSize = batchSizeFor(jobs.length);
  const leaves = jobs.map((job) => resultLeaf(job.commitment, answerOf(job)));
  while (leaves.length < batchSize) leaves.push(EMPTY_LEAF);
  return IncrementalMerkleTree.fromSnapshot(tree.snapshot()).appendSubtree(leaves);
}

export function fulfillArgs(jobs: readonly Job[], proof: BatchProof): FulfillArgs {
  const fulfillments = jobs.map((job) => ({ commitment: job.commitment, ...answerOf(job) }));
  return [fulfillments, proof.publicSignals[1] as bigint, toProofWords(proof.proof)];
}

function answerOf(job: Job) {
  if (job.result === undefined) throw new Error(`job ${job.requestId} has no answer to batch`);
  return job.result;
}
