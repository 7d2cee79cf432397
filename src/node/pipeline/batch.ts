/**
 * Batch assembly: when to cut a batch from the answered jobs (by count, gas and what each escrow pays
 * for), and the statement it proves. Leaves are computed with the same shared encoding the coordinator
 * mirrors, bound to this operator, and the subtree lands where the contract will put it (the next slot
 * aligned to the batch size).
 */

import type { Address } from "viem";
import { batchSizeFor, EMPTY_LEAF, resultLeaf } from "../../shared/encoding.js";
import { type AppendWitness, IncrementalMerkleTree } from "../../shared/merkle.js";
import type { FulfillArgs } from "../chain/submitter.js";
import { toProofWords } from "../prover/calldata.js";
import type { BatchProof } from "../prover/prover.js";
import type { Job } from "../store/store.js";
import { batchGasBound, fulfilGasLimit, resultGasBound } from "./deliveryGas.js";

export interface BatchPolicy {
  maxSize: number;
  maxWaitMs: number;
}

/** What the chain allows now: gas per transaction, and the price a fulfil would pay per gas. */
export interface ChainLimits {
  maxGas: bigint;
  gasPrice: bigint;
}

export type BatchChoice =
  | { jobs: Job[]; unaffordable: Job[] }
  | { waitMs: number; unaffordable: Job[] }
  | undefined;

/**
 * The jobs to batch now, or how long to wait for more. A job the chain has rejected before goes alone,
 * so a poison request cannot sink the ones batched with it. Otherwise jobs go oldest first while the
 * batch's gas bound fits the transaction: a batch full by count or by gas goes at once, a partial one
 * when its oldest answer has waited `maxWaitMs`. A job whose escrow does not cover its share of the
 * gas at the going price is left out: it waits until the price falls or its deadline passes.
 */
export function selectBatch(
  answered: readonly Job[],
  answeredAt: (job: Job) => number,
  policy: BatchPolicy,
  now: number,
  limits: ChainLimits,
): BatchChoice {
  const quarantined = answered.filter((job) => job.attempts > 0);
  for (const job of quarantined) {
    if (affordable(job, 1, limits.gasPrice)) return { jobs: [job], unaffordable: [] };
  }
  // Whatever could pay its share of the fullest batch possible competes for a place; the rest waits
  // without holding up the jobs behind it.
  const fresh = answered.filter((job) => job.attempts === 0);
  const largest = Math.min(fresh.length, policy.maxSize);
  const unaffordable = [...quarantined];
  const pool = fresh.filter((job) => {
    const ok = largest > 0 && affordable(job, largest, limits.gasPrice);
    if (!ok) unaffordable.push(job);
    return ok;
  });
  const candidates: Job[] = [];
  let full = false;
  for (const job of pool) {
    const next = [...candidates, job];
    if (next.length > policy.maxSize || fulfilGasLimit(next, batchSizeFor(next.length)) > limits.maxGas) {
      full = true;
      break;
    }
    candidates.push(job);
  }
  // A smaller batch than hoped shares less gas per job: check again at the size it has.
  const jobs = candidates.filter((job) => {
    const ok = affordable(job, candidates.length, limits.gasPrice);
    if (!ok) unaffordable.push(job);
    return ok;
  });
  if (jobs.length === 0)
    return unaffordable.length > 0 ? { waitMs: policy.maxWaitMs, unaffordable } : undefined;
  if (full || jobs.length >= policy.maxSize) return { jobs, unaffordable };
  const oldest = Math.min(...jobs.map(answeredAt));
  const waitMs = oldest + policy.maxWaitMs - now;
  return waitMs <= 0 ? { jobs, unaffordable } : { waitMs, unaffordable };
}

/** Whether `job`'s escrow pays for its share of a batch of `count` at `gasPrice`. */
export function affordable(job: Job, count: number, gasPrice: bigint): boolean {
  const share = resultGasBound(job) + batchGasBound(batchSizeFor(count)) / BigInt(count);
  return job.commitment.escrow >= share * gasPrice;
}

/** The append of `jobs`' results, delivered by `operator`, to `tree` (which is left unchanged). */
export function batchWitness(
  jobs: readonly Job[],
  tree: IncrementalMerkleTree,
  operator: Address,
): AppendWitness {
  const batchSize = batchSizeFor(jobs.length);
  const leaves = jobs.map((job) => resultLeaf(job.commitment, answerOf(job), operator));
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
