/**
 * What the node persists: jobs and their states, the batches it made and the transactions that carry
 * them, and how far it has read the chain (with recent block hashes and the result tree at each, so a
 * reorg can rewind). Every method is atomic. Implementations: SQLite (embedded, one node) and
 * PostgreSQL (shared by an operator's replicas, one of which leads: see `tryLead`).
 */
import type { Address, Hex } from "viem";
import type { RequestCommitment, ResultPayload } from "../../shared/encoding.js";
import type { LogSnapshot } from "../chain/logMirror.js";
import type { JobState } from "./jobState.js";

export interface Job {
  requestId: bigint;
  commitment: RequestCommitment;
  input: Hex;
  requestBlock: bigint;
  state: JobState;
  /** Present from `answered` on. */
  result: ResultPayload | undefined;
  batchId: number | undefined;
  /** Wall-clock ms when the node first read the request. */
  receivedAt: number;
  note: string | undefined;
  /** Deliveries of this job the chain rejected; from 1 on it is delivered alone. */
  attempts: number;
  /** For a quorum model: the co-signers' signatures of the answer, as `deliver` takes them. */
  cosignatures: Hex | undefined;
}

/** A statement (see cosign/statement.ts) and its signer's signature of it. */
export interface SignedStatement {
  signer: Address;
  statement: { requestId: bigint; outputHash: Hex; status: number };
  signature: Hex;
}

/** found → committed (commitEquivocationReport mined) → reported (slashed) | failed (refused). */
export type EquivocationState = "found" | "committed" | "reported" | "failed";

/** Two statements by one operator with different answers to one request: slashable. */
export interface Equivocation {
  signer: Address;
  a: SignedStatement;
  b: SignedStatement;
  state: EquivocationState;
  committedBlock: bigint | undefined;
}

/** Whose turn a request is: its assigned operator's, or anyone's once its exclusive window is over. */
export interface Turn {
  operator: Address;
  /** The chain's latest block time, seconds. */
  chainTime: bigint;
}

/** Where a job of a given-up batch goes, and whether the batch failed because of it. */
export interface JobOutcome {
  state: JobState;
  note: string;
  failedAttempt?: boolean;
  /** Its co-signatures no longer count (a co-signer left the active set): they are collected again. */
  dropCosignatures?: boolean;
}

export interface NewJob {
  commitment: RequestCommitment;
  input: Hex;
  requestBlock: bigint;
}

/** The last block the node has read, and the result log after it (the tree and the pending queue). */
export interface Checkpoint {
  block: bigint;
  hash: Hex;
  tree: LogSnapshot;
}

/** Everything learned from one range of blocks; committed together with the new checkpoint. */
export interface RangeUpdate {
  requested: NewJob[];
  /** Requests whose ResultDelivered is in the range, with that block. */
  delivered: Array<{ requestId: bigint; block: bigint }>;
  cancelled: bigint[];
  /** Requests another operator (or this one) took over: their new commitments. */
  reassigned: RequestCommitment[];
  checkpoint: Checkpoint;
  /** How many checkpoints to keep for finding a common ancestor. */
  keep: number;
}

export type BatchState = "proving" | "submitted" | "mined" | "abandoned";

export interface Batch {
  id: number;
  state: BatchState;
  requestIds: bigint[];
  oldRoot: bigint;
  newRoot: bigint;
  startIndex: bigint;
  batchSize: number;
  createdAt: number;
}

export interface SentTransaction {
  hash: Hex;
  batchId: number;
  nonce: number;
  /** The signed transaction, so it can be broadcast again after a restart. */
  raw: Hex;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  sentAt: number;
}

export type SignVerdict = "signed" | "another" | "unknown";

export interface JobStore {
  /**
   * Ties the store to one deployment (chain id and coordinator); refuses a store made for another. A
   * store bound for the first time records `headBlock` as its signing floor (see `markSigned`).
   */
  bindDeployment(deployment: string, headBlock: bigint): Promise<void>;
  /**
   * Takes or renews the leader's lease for `holder` for `ttlMs` (by the database's clock): its epoch
   * when `holder` leads, undefined while another holder's lease runs. Once another holder has taken
   * over, every write of the deposed one fails with a FencedError. SQLite: always the leader.
   */
  tryLead(holder: string, ttlMs: number): Promise<number | undefined>;
  /** Gives the lease up at a clean stop, so a standby takes over at once instead of at its expiry. */
  resign(holder: string): Promise<void>;
  /** The current lease, for status: who holds it and since when (ms); undefined without one. */
  leader(): Promise<{ holder: string; epoch: number; since: number } | undefined>;
  checkpoint(): Promise<Checkpoint | undefined>;
  /** Stored checkpoints from the newest down. */
  recentCheckpoints(limit: number): Promise<Checkpoint[]>;
  commitRange(update: RangeUpdate): Promise<{ inserted: number }>;
  /**
   * Forgets everything read after `block`: requests read later are dropped (their batches given up),
   * results delivered later are due again.
   */
  rewindTo(block: bigint): Promise<{ dropped: number; reopened: number }>;

  job(requestId: bigint): Promise<Job | undefined>;
  jobsIn(state: JobState, limit?: number): Promise<Job[]>;
  countByState(): Promise<Record<JobState, number>>;
  transition(requestId: bigint, from: JobState, to: JobState, note?: string): Promise<void>;

  /**
   * Moves up to `limit` received jobs of the given models to running, oldest first: those assigned to
   * `turn.operator`, and others whose exclusive window closed before `turn.chainTime`; jobs in `skip`
   * are passed over.
   */
  claimForRun(modelIds: readonly Hex[], limit: number, turn: Turn, skip?: readonly bigint[]): Promise<Job[]>;
  /** running → answered, unless the job moved meanwhile (cancelled, rewound): then false. */
  recordAnswer(requestId: bigint, result: ResultPayload): Promise<boolean>;
  /** Replaces an answered job's result (an error status once its deliveries keep failing). */
  reanswer(requestId: bigint, result: ResultPayload, note: string): Promise<void>;
  /** Stores the co-signatures an answered job's delivery carries (a new answer drops them). */
  recordCosignatures(requestId: bigint, signatures: Hex): Promise<void>;
  /**
   * Records that this operator signs `answer` (output hash and status) for the request, once and for
   * good (a rewind does not forget it). "signed": it may sign. "another": it signed a different answer
   * before. "unknown": the request was made at or before the store's signing floor and the store holds
   * no signature for it, so the node cannot rule out having signed it with a database it has lost.
   * An operator signs one answer per request, or it can be slashed.
   */
  markSigned(requestId: bigint, answer: string): Promise<SignVerdict>;
  /**
   * Keeps another operator's signed statement; returns the equivocation it proves, the first time one
   * does (the same signer's different answer to the same request is already kept).
   */
  recordStatement(signed: SignedStatement): Promise<Equivocation | undefined>;
  equivocationsIn(state: EquivocationState): Promise<Equivocation[]>;
  markEquivocation(
    equivocation: Equivocation,
    state: EquivocationState,
    committedBlock?: bigint,
  ): Promise<void>;
  /** Jobs in received/running/answered whose deadline is before `deadline` become expired. */
  expireBefore(deadline: bigint): Promise<bigint[]>;

  createBatch(batch: Omit<Batch, "id" | "state" | "createdAt">): Promise<Batch>;
  batch(id: number): Promise<Batch | undefined>;
  batchesIn(state: BatchState): Promise<Batch[]>;
  /** proving → submitted for the batch and its jobs, with the signed transaction stored. */
  recordTransaction(tx: SentTransaction): Promise<void>;
  transactionsOf(batchId: number): Promise<SentTransaction[]>;
  markBatchMined(batchId: number): Promise<void>;
  /** The batch is given up; its jobs still in proving/submitted go back to answered or to `outcomes`. */
  abandonBatch(batchId: number, outcomes?: Map<bigint, JobOutcome>): Promise<void>;

  close(): Promise<void>;
}
