/**
 * How jobs, batches and transactions look as table rows, shared by the SQLite and PostgreSQL stores:
 * ids and big numbers as decimal text, commitments as JSON, block numbers and times as numbers.
 */
import type { Hex } from "viem";
import type { RequestCommitment, ResultStatus } from "../../shared/encoding.js";
import { SibylError } from "../../shared/errors.js";
import type { JobState } from "./jobState.js";
import type { Batch, BatchState, Job, SentTransaction } from "./store.js";

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
