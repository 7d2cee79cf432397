/**
 * How jobs, batches, transactions and checkpoints look as table rows, shared by the SQLite and
 * PostgreSQL stores: ids and big numbers as decimal text, commitments as JSON, block numbers and times
 * as numbers (bound as each driver takes a 64-bit integer: see `IntegerParam`).
 */
import type { Hex } from "viem";
import type { RequestCommitment, ResultStatus } from "../../shared/encoding.js";
import { SibylError } from "../../shared/errors.js";
import type { LogSnapshot } from "../chain/logMirror.js";
import { JOB_STATES, type JobState } from "./jobState.js";
import type { Batch, BatchState, Checkpoint, Job, NewJob, SentTransaction } from "./store.js";

export class StoreMismatchError extends SibylError {
  override name = "StoreMismatchError";
}

export interface JobRow {
  request_id: string;
  commitment: string;
  input: string;
  request_block: number;
  state: JobState;
  status: number | null;
  output: string | null;
  metadata: string | null;
  batch_id: number | null;
  received_at: number;
  note: string | null;
  attempts: number;
  cosignatures: string | null;
}

export interface BatchRow {
  id: number;
  state: BatchState;
  request_ids: string;
  old_root: string;
  new_root: string;
  start_index: string;
  batch_size: number;
  created_at: number;
}

export interface TransactionRow {
  hash: Hex;
  batch_id: number;
  nonce: number;
  raw: Hex;
  max_fee: string;
  priority_fee: string;
  sent_at: number;
}

export function toJob(row: JobRow): Job {
  return {
    requestId: BigInt(row.request_id),
    commitment: parseCommitment(row.commitment),
    input: row.input as Hex,
    requestBlock: BigInt(row.request_block),
    state: row.state,
    result:
      row.status === null
        ? undefined
        : { status: row.status as ResultStatus, output: row.output as Hex, metadata: row.metadata as Hex },
    batchId: row.batch_id ?? undefined,
    receivedAt: row.received_at,
    note: row.note ?? undefined,
    attempts: row.attempts,
    cosignatures: (row.cosignatures as Hex | null) ?? undefined,
  };
}

export function toBatch(row: BatchRow): Batch {
  return {
    id: row.id,
    state: row.state,
    requestIds: (JSON.parse(row.request_ids) as string[]).map(BigInt),
    oldRoot: BigInt(row.old_root),
    newRoot: BigInt(row.new_root),
    startIndex: BigInt(row.start_index),
    batchSize: row.batch_size,
    createdAt: row.created_at,
  };
}

export function stringifyCommitment(commitment: RequestCommitment): string {
  return JSON.stringify({
    ...commitment,
    requestId: String(commitment.requestId),
    escrow: String(commitment.escrow),
    deadline: String(commitment.deadline),
    exclusiveUntil: String(commitment.exclusiveUntil),
  });
}

export function parseCommitment(text: string): RequestCommitment {
  const raw = JSON.parse(text);
  return {
    ...raw,
    requestId: BigInt(raw.requestId),
    escrow: BigInt(raw.escrow),
    deadline: BigInt(raw.deadline),
    exclusiveUntil: BigInt(raw.exclusiveUntil),
  };
}

export function toTransaction(row: TransactionRow): SentTransaction {
  return {
    hash: row.hash,
    batchId: row.batch_id,
    nonce: row.nonce,
    raw: row.raw,
    maxFeePerGas: BigInt(row.max_fee),
    maxPriorityFeePerGas: BigInt(row.priority_fee),
    sentAt: row.sent_at,
  };
}

export interface CheckpointRow {
  block: number;
  hash: Hex;
  tree: string;
}

export function toCheckpoint(row: CheckpointRow): Checkpoint {
  return { block: BigInt(row.block), hash: row.hash, tree: JSON.parse(row.tree) as LogSnapshot };
}

/** Every job state with its count, zero for the states no row is in. */
export function countsByState(rows: ReadonlyArray<{ state: JobState; n: number | string }>) {
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  for (const { state, n } of rows) counts[state] = Number(n);
  return counts;
}

/**
 * How a driver binds a 64-bit integer column: better-sqlite3 takes a number, `pg` decimal text (a
 * deadline may pass 2^53).
 */
export type IntegerParam<T> = (value: bigint) => T;

/**
 * A new job's values for `INSERT INTO jobs (request_id, model_id, commitment, input, request_block,
 * deadline, state, received_at, updated_at, operator, exclusive_until)`, state left to the statement.
 */
export function newJobValues<T>(job: NewJob, now: number, integer: IntegerParam<T>) {
  const { commitment } = job;
  return [
    String(commitment.requestId),
    commitment.modelId,
    stringifyCommitment(commitment),
    job.input,
    integer(job.requestBlock),
    integer(commitment.deadline),
    now,
    now,
    commitment.operator.toLowerCase(),
    integer(commitment.exclusiveUntil),
  ] as const;
}

/** A reassignment's values for `UPDATE jobs SET commitment, operator, exclusive_until, updated_at WHERE request_id`. */
export function reassignedValues<T>(commitment: RequestCommitment, now: number, integer: IntegerParam<T>) {
  return [
    stringifyCommitment(commitment),
    commitment.operator.toLowerCase(),
    integer(commitment.exclusiveUntil),
    now,
    String(commitment.requestId),
  ] as const;
}

/** A new batch's values for `INSERT INTO batches (state, request_ids, old_root, new_root, start_index, batch_size, created_at)`, state left to the statement. */
export function newBatchValues(batch: Omit<Batch, "id" | "state" | "createdAt">, createdAt: number) {
  return [
    JSON.stringify(batch.requestIds.map(String)),
    String(batch.oldRoot),
    String(batch.newRoot),
    String(batch.startIndex),
    batch.batchSize,
    createdAt,
  ] as const;
}

/** A sent transaction's values for `INSERT INTO transactions (hash, batch_id, nonce, raw, max_fee, priority_fee, sent_at)`. */
export function transactionValues(tx: SentTransaction) {
  return [
    tx.hash,
    tx.batchId,
    tx.nonce,
    tx.raw,
    String(tx.maxFeePerGas),
    String(tx.maxPriorityFeePerGas),
    tx.sentAt,
  ] as const;
}
