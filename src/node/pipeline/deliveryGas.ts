/**
 * Gas bounds for a fulfil, a delivery or a proof, computed from what the coordinator does with each result rather than
 * estimated: an estimate runs the callbacks as they are now, and a consumer can change what its
 * callback burns between the estimate and the block (a flag flipped by a front-running transaction).
 * The bound holds whatever a callback does, because each callback gets exactly its gas limit and the
 * coordinator's own work per result is fixed. Unused gas is not paid for, so erring high costs nothing
 * but room in the block.
 */
import type { Job } from "../store/store.js";

/** What the bounds read of a job: its request's callback limit and its answer. */
type DeliveredJob = Pick<Job, "commitment" | "result">;

/** EIP-7825 (Osaka): no transaction may ask for more gas than this. */
export const TRANSACTION_GAS_CAP = 1n << 24n;

/** The transaction, the operator checks, the root update, events and settlement: once per batch. */
const BATCH_GAS = 200_000n;
/** Groth16 verification: ~189k plus ~6.7k per public input (3 + batch size), with margin. */
const VERIFY_GAS = 230_000n;
const VERIFY_GAS_PER_INPUT = 8_000n;
/**
 * One result's checks, commitment read and delete, escrow credit (a new slot: 22k), leaf hash, model
 * fee read, settlement and its event, its calldata head, and the cold account access and 5k reserve of
 * its callback.
 */
const RESULT_GAS = 80_000n;
/** Per byte of output and metadata: calldata at EIP-7623's floor (40), log data (8), memory, with margin. */
const RESULT_GAS_PER_BYTE = 64n;

/** Gas that always covers delivering `job` in a batch, its callback included (64/63 kept back). */
export function resultGasBound(job: DeliveredJob): bigint {
  const result = job.result;
  const bytes = result === undefined ? 0 : (result.output.length + result.metadata.length - 4) / 2;
  const callback = BigInt(job.commitment.callbackGasLimit);
  return RESULT_GAS + BigInt(bytes) * RESULT_GAS_PER_BYTE + (callback * 64n) / 63n;
}

/** Gas a batch of `batchSize` needs besides its results. */
export function batchGasBound(batchSize: number): bigint {
  return BATCH_GAS + VERIFY_GAS + VERIFY_GAS_PER_INPUT * BigInt(batchSize + 3);
}

/** The gas limit a fulfil of `jobs` in a batch of `batchSize` is sent with. */
export function fulfilGasLimit(jobs: readonly DeliveredJob[], batchSize: number): bigint {
  return jobs.reduce((gas, job) => gas + resultGasBound(job), batchGasBound(batchSize));
}

/** The gas limit a delivery of `jobs` without a proof is sent with: no verification, one checkpoint. */
export function deliverGasLimit(jobs: readonly DeliveredJob[]): bigint {
  return jobs.reduce((gas, job) => gas + resultGasBound(job), BATCH_GAS);
}

/**
 * Per request taken over: its commitment's calldata, check, rewrite and event (~40k), and the late
 * assignee's liveness penalty: its stake's write, the held amount's new slot (22.1k) and the event.
 * Only a cap: unused gas is not paid for.
 */
const REASSIGN_GAS_PER_REQUEST = 90_000n;

/** The gas limit a takeover of `count` requests is sent with. */
export function reassignGasLimit(count: number): bigint {
  return 50_000n + REASSIGN_GAS_PER_REQUEST * BigInt(count);
}

/** Per proven leaf: its calldata word (16 gas a byte) and its link of the queue's hash chain. */
const PROVE_GAS_PER_LEAF = 1_000n;

/** The gas limit a proof of `count` pending leaves in a batch of `batchSize` is sent with. */
export function proveGasLimit(count: number, batchSize: number): bigint {
  return batchGasBound(batchSize) + PROVE_GAS_PER_LEAF * BigInt(count);
}
