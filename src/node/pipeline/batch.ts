/**
 * Batch assembly: when to cut a batch from the answered jobs (by count, gas and what each escrow pays
 * for), and the statement it proves. Leaves are computed with the same shared encoding the coordinator
 * mirrors, bound to this operator, and the subtree lands where the contract will put it (the next slot
 * aligned to the batch size).
 */

import type { Address } from "viem";
import { batchSizeFor, EMPTY_LEAF, resultLeaf } from "../../shared/encoding.js";
import { type AppendWitness, IncrementalMerkleTree } from "../../shared/merkle.js";
import type { FulfillArgs, Fulfillments } from "../chain/calls.js";
import { toProofWords } from "../prover/calldata.js";
import type { BatchProof } from "../prover/prover.js";
import type { Job } from "../store/store.js";
import { fulfilGasLimit } from "./deliveryGas.js";

export interface BatchPolicy {
  maxSize: number;
  maxWaitMs: number;
}

/** What the chain allows now: gas per transaction, and which jobs pay for their gas at today's price. */
export interface ChainLimits {
  maxGas: bigint;
  affordable: (job: Job) => boolean;
}

export type BatchChoice =
  | { jobs: Job[]; unaffordable: Job[] }
  | { waitMs: number; unaffordable: Job[] }
  | undefined;

/**
 * The jobs to batch now, or how long to wait for more. A job whose escrow does not pay for its gas at
 * the going price is left out, without holding up the jobs behind it: it waits until the price falls
 * or its deadline passes. A job the chain has rejected before goes alone, so a poison request cannot
 * sink the ones batched with it. Otherwise jobs go oldest first while the batch's gas bound fits the
 * transaction: a batch full by count or by gas goes at once, a partial one when its oldest answer has
 * waited `maxWaitMs`.
 */
export function selectBatch(
  answered: readonly Job[],
  answeredAt: (job: Job) => number,
  policy: BatchPolicy,
  now: number,
  limits: ChainLimits,
): BatchChoice {
  const unaffordable: Job[] = [];
  const payable = answered.filter((job) => {
    const ok = limits.affordable(job);
    if (!ok) unaffordable.push(job);
    return ok;
  });
  const quarantined = payable.find((job) => job.attempts > 0);
  if (quarantined) return { jobs: [quarantined], unaffordable };
  const jobs: Job[] = [];
  let full = false;
  for (const job of payable) {
    const next = [...jobs, job];
    if (next.length > policy.maxSize || fulfilGasLimit(next, batchSizeFor(next.length)) > limits.maxGas) {
      full = true;
      break;
    }
    jobs.push(job);
  }
  if (jobs.length === 0)
    return unaffordable.length > 0 ? { waitMs: policy.maxWaitMs, unaffordable } : undefined;
  if (full || jobs.length >= policy.maxSize) return { jobs, unaffordable };
  const oldest = Math.min(...jobs.map(answeredAt));
  const waitMs = oldest + policy.maxWaitMs - now;
  return waitMs <= 0 ? { jobs, unaffordable } : { waitMs, unaffordable };
}

/** The coordinator's fee parameters the escrow was sized with (see FeeParameters in SibylTypes.sol). */
export interface EscrowTerms {
  deliveryGas: number;
  gasPerOutputByte: number;
  proofGasPerLeaf: number;
}

/**
 * Whether `job`'s escrow, less its model fee, pays for delivering it alone at `gasPrice`, by the
 * coordinator's own sizing of an escrow (estimateFee): callback gas + deliveryGas + proofGasPerLeaf + gasPerOutputByte ×
 * the model's largest output. A batch shares its fixed cost, so it only costs less.
 */
export function affordable(job: Job, gasPrice: bigint, terms: EscrowTerms, modelFee: bigint): boolean {
  const { callbackGasLimit, maxOutputBytes, escrow } = job.commitment;
  const gas =
    BigInt(callbackGasLimit) +
    BigInt(terms.deliveryGas) +
    BigInt(terms.proofGasPerLeaf) +
    BigInt(terms.gasPerOutputByte) * BigInt(maxOutputBytes);
  return escrow >= modelFee + gas * gasPrice;
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

/** The results of `jobs` as the coordinator takes them. */
export function fulfillmentsOf(jobs: readonly Job[]): Fulfillments {
  return jobs.map((job) => ({
    commitment: job.commitment,
    ...answerOf(job),
    signatures: job.cosignatures ?? "0x",
  }));
}

export function fulfillArgs(jobs: readonly Job[], proof: BatchProof): FulfillArgs {
  return [fulfillmentsOf(jobs), proof.publicSignals[1] as bigint, toProofWords(proof.proof)];
}

function answerOf(job: Job) {
  if (job.result === undefined) throw new Error(`job ${job.requestId} has no answer to batch`);
  return job.result;
}
