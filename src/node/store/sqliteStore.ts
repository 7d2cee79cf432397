/**
 * JobStore on SQLite (better-sqlite3, WAL). Synchronous calls inside transactions make each method
 * atomic, and a committed write survives a kill -9 of the process.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Hex } from "viem";
import type { ResultStatus } from "../../shared/encoding.js";
import { SibylError } from "../../shared/errors.js";
import { assertTransition, type JobState } from "./jobState.js";
import {
  type BatchRow,
  type CheckpointRow,
  countsByState,
  type JobRow,
  newBatchValues,
  newJobValues,
  reassignedValues,
  StoreMismatchError,
  type TransactionRow,
  toBatch,
  toCheckpoint,
  toJob,
  toTransaction,
  transactionValues,
} from "./rows.js";
import { SCHEMA } from "./sqliteSchema.js";
import { LEDGER_SCHEMA, StatementLedger } from "./statementLedger.js";
import type {
  Batch,
  BatchState,
  Checkpoint,
  Equivocation,
  EquivocationState,
  Job,
  JobOutcome,
  JobStore,
  NewJob,
  RangeUpdate,
  SentTransaction,
  SignedStatement,
  SignVerdict,
  Turn,
} from "./store.js";

export class SqliteJobStore implements JobStore {
  readonly #db: Database.Database;
  readonly #ledger: StatementLedger;

  /** `file` ":memory:" gives a throwaway store for tests. */
  constructor(file: string) {
    try {
      if (file !== ":memory:") mkdirSync(path.dirname(file), { recursive: true });
      this.#db = new Database(file);
    } catch (error) {
      throw new SibylError(`database.path: cannot open ${file}`, { cause: error });
    }
    this.#db.pragma("journal_mode = WAL");
    // FULL: a transition is on disk before the side effect it announces, even if the machine dies.
    this.#db.pragma("synchronous = FULL");
    this.#db.exec(SCHEMA);
    this.#db.exec(LEDGER_SCHEMA);
    this.#ledger = new StatementLedger(this.#db);
  }

  async bindDeployment(deployment: string, headBlock: bigint): Promise<void> {
    this.#db.transaction(() => {
      const fresh = this.#db
        .prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('deployment', ?)")
        .run(deployment).changes;
      // A database that already held a deployment before floors existed holds every signature it made.
      const floor = fresh === 1 ? headBlock : 0n;
      this.#db
        .prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('signing_floor', ?)")
        .run(String(floor));
    })();
    const { value } = this.#db.prepare("SELECT value FROM meta WHERE key = 'deployment'").get() as {
      value: string;
    };
    if (value !== deployment) {
      throw new StoreMismatchError(`the database belongs to ${value}, not ${deployment}`, {
        details: "use another database path, or delete this database to resync from the chain",
      });
    }
  }

  async checkpoint(): Promise<Checkpoint | undefined> {
    return (await this.recentCheckpoints(1))[0];
  }

  async recentCheckpoints(limit: number): Promise<Checkpoint[]> {
    const rows = this.#db
      .prepare("SELECT block, hash, tree FROM checkpoints ORDER BY block DESC LIMIT ?")
      .all(limit) as CheckpointRow[];
    return rows.map(toCheckpoint);
  }

  async commitRange(update: RangeUpdate): Promise<{ inserted: number }> {
    return this.#db.transaction(() => {
      let inserted = 0;
      for (const job of update.requested) inserted += this.#insertJob(job);
      for (const { requestId, block } of update.delivered) {
        const job = this.#job(requestId);
        if (job === undefined || job.state === "confirmed" || job.state === "cancelled") continue;
        assertTransition(requestId, job.state, "confirmed");
        this.#db
          .prepare(
            "UPDATE jobs SET state = 'confirmed', confirmed_block = ?, updated_at = ? WHERE request_id = ?",
          )
          .run(Number(block), Date.now(), String(requestId));
      }
      for (const requestId of update.cancelled) {
        const job = this.#job(requestId);
        if (job === undefined || job.state === "cancelled") continue;
        this.#transition(requestId, job.state, "cancelled");
      }
      for (const commitment of update.reassigned) {
        this.#db
          .prepare(
            "UPDATE jobs SET commitment = ?, operator = ?, exclusive_until = ?, updated_at = ? WHERE request_id = ?",
          )
          .run(...reassignedValues(commitment, Date.now(), Number));
      }
      const { block, hash, tree } = update.checkpoint;
      this.#db
        .prepare("INSERT OR REPLACE INTO checkpoints (block, hash, tree) VALUES (?, ?, ?)")
        .run(Number(block), hash, JSON.stringify(tree));
      this.#db
        .prepare(
          "DELETE FROM checkpoints WHERE block NOT IN (SELECT block FROM checkpoints ORDER BY block DESC LIMIT ?)",
        )
        .run(update.keep);
      return { inserted };
    })();
  }

  async rewindTo(block: bigint): Promise<{ dropped: number; reopened: number }> {
    return this.#db.transaction(() => {
      const at = Number(block);
      this.#db.prepare("DELETE FROM checkpoints WHERE block > ?").run(at);
      // A batch with a job that vanished can never be fulfilled as built, and any receipt it had is gone
      // with the fork: it is given up, and what of it survived is batched again.
      const vanished = this.#db
        .prepare("SELECT DISTINCT batch_id FROM jobs WHERE request_block > ? AND batch_id IS NOT NULL")
        .all(at) as Array<{ batch_id: number }>;
      for (const { batch_id } of vanished) this.#abandonBatch(batch_id);
      // The request may come back with another commitment (even under the same id): read it afresh.
      const dropped = this.#db.prepare("DELETE FROM jobs WHERE request_block > ?").run(at).changes;
      const reopened = this.#db
        .prepare(
          `UPDATE jobs SET state = 'answered', batch_id = NULL, confirmed_block = NULL, updated_at = ?
           WHERE state = 'confirmed' AND confirmed_block > ? AND status IS NOT NULL`,
        )
        .run(Date.now(), at).changes;
      // Confirmed by another operator (so never answered here): run the model again.
      const rerun = this.#db
        .prepare(
          `UPDATE jobs SET state = 'received', confirmed_block = NULL, updated_at = ?
           WHERE state = 'confirmed' AND confirmed_block > ?`,
        )
        .run(Date.now(), at).changes;
      return { dropped, reopened: reopened + rerun };
    })();
  }

  async job(requestId: bigint): Promise<Job | undefined> {
    return this.#job(requestId);
  }

  #job(requestId: bigint): Job | undefined {
    const row = this.#db.prepare("SELECT * FROM jobs WHERE request_id = ?").get(String(requestId)) as
      | JobRow
      | undefined;
    return row && toJob(row);
  }

  async jobsIn(state: JobState, limit = -1): Promise<Job[]> {
    const rows = this.#db
      .prepare("SELECT * FROM jobs WHERE state = ? ORDER BY seq LIMIT ?")
      .all(state, limit) as JobRow[];
    return rows.map(toJob);
  }

  async countByState(): Promise<Record<JobState, number>> {
    const rows = this.#db.prepare("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state").all() as Array<{
      state: JobState;
      n: number;
    }>;
    return countsByState(rows);
  }

  async transition(requestId: bigint, from: JobState, to: JobState, note?: string): Promise<void> {
    this.#transition(requestId, from, to, note);
  }

  #transition(requestId: bigint, from: JobState, to: JobState, note?: string): void {
    assertTransition(requestId, from, to);
    const { changes } = this.#db
      .prepare(
        "UPDATE jobs SET state = ?, note = COALESCE(?, note), updated_at = ? WHERE request_id = ? AND state = ?",
      )
      .run(to, note ?? null, Date.now(), String(requestId), from);
    if (changes !== 1) throw new Error(`job ${requestId} is not in state ${from}`);
  }

  async claimForRun(
    modelIds: readonly Hex[],
    limit: number,
    turn: Turn,
    skip: readonly bigint[] = [],
  ): Promise<Job[]> {
    if (modelIds.length === 0 || limit <= 0) return [];
    return this.#db.transaction(() => {
      const placeholders = modelIds.map(() => "?").join(",");
      const skipped = skip.length === 0 ? "" : `AND request_id NOT IN (${skip.map(() => "?").join(",")})`;
      const rows = this.#db
        .prepare(
          `SELECT * FROM jobs WHERE state = 'received' AND model_id IN (${placeholders}) ${skipped}
             AND (operator = ? OR exclusive_until < ?) ORDER BY seq LIMIT ?`,
        )
        .all(
          ...modelIds,
          ...skip.map(String),
          turn.operator.toLowerCase(),
          Number(turn.chainTime),
          limit,
        ) as JobRow[];
      const claim = this.#db.prepare(
        "UPDATE jobs SET state = 'running', updated_at = ? WHERE request_id = ?",
      );
      for (const row of rows) claim.run(Date.now(), row.request_id);
      return rows.map((row) => ({ ...toJob(row), state: "running" as const }));
    })();
  }

  async recordAnswer(
    requestId: bigint,
    result: { status: ResultStatus; output: Hex; metadata: Hex },
  ): Promise<boolean> {
    const { changes } = this.#db
      .prepare(
        `UPDATE jobs SET state = 'answered', status = ?, output = ?, metadata = ?, updated_at = ?
         WHERE request_id = ? AND state = 'running'`,
      )
      .run(result.status, result.output, result.metadata, Date.now(), String(requestId));
    return changes === 1;
  }

  async expireBefore(deadline: bigint): Promise<bigint[]> {
    const rows = this.#db
      .prepare(
        `UPDATE jobs SET state = 'expired', note = 'deadline too close', updated_at = ?
         WHERE state IN ('received', 'running', 'answered') AND deadline < ? RETURNING request_id`,
      )
      .all(Date.now(), Number(deadline)) as Array<{ request_id: string }>;
    return rows.map((row) => BigInt(row.request_id));
  }

  async createBatch(batch: Omit<Batch, "id" | "state" | "createdAt">): Promise<Batch> {
    return this.#db.transaction(() => {
      const createdAt = Date.now();
      const { lastInsertRowid } = this.#db
        .prepare(
          `INSERT INTO batches (state, request_ids, old_root, new_root, start_index, batch_size, created_at)
           VALUES ('proving', ?, ?, ?, ?, ?, ?)`,
        )
        .run(...newBatchValues(batch, createdAt));
      const id = Number(lastInsertRowid);
      for (const requestId of batch.requestIds) {
        this.#transition(requestId, "answered", "proving");
        this.#db.prepare("UPDATE jobs SET batch_id = ? WHERE request_id = ?").run(id, String(requestId));
      }
      return { ...batch, id, state: "proving" as const, createdAt };
    })();
  }

  async batch(id: number): Promise<Batch | undefined> {
    return this.#batch(id);
  }

  #batch(id: number): Batch | undefined {
    const row = this.#db.prepare("SELECT * FROM batches WHERE id = ?").get(id) as BatchRow | undefined;
    return row && toBatch(row);
  }

  async batchesIn(state: BatchState): Promise<Batch[]> {
    const rows = this.#db
      .prepare("SELECT * FROM batches WHERE state = ? ORDER BY id")
      .all(state) as BatchRow[];
    return rows.map(toBatch);
  }

  async recordTransaction(tx: SentTransaction): Promise<void> {
    this.#db.transaction(() => {
      this.#db
        .prepare(
          // A transaction rebuilt byte for byte (a reorg removed the delivery; the same calldata, nonce
          // and fees at the base-fee floor) is the same transaction: it now carries this batch.
          `INSERT INTO transactions (hash, batch_id, nonce, raw, max_fee, priority_fee, sent_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (hash) DO UPDATE SET batch_id = excluded.batch_id, sent_at = excluded.sent_at`,
        )
        .run(...transactionValues(tx));
      const batch = this.#batch(tx.batchId);
      if (batch?.state !== "proving") return; // a replacement of a transaction already recorded
      this.#db.prepare("UPDATE batches SET state = 'submitted' WHERE id = ?").run(tx.batchId);
      this.#db
        .prepare(
          "UPDATE jobs SET state = 'submitted', updated_at = ? WHERE batch_id = ? AND state = 'proving'",
        )
        .run(Date.now(), tx.batchId);
    })();
  }

  async transactionsOf(batchId: number): Promise<SentTransaction[]> {
    const rows = this.#db
      .prepare("SELECT * FROM transactions WHERE batch_id = ? ORDER BY sent_at")
      .all(batchId) as TransactionRow[];
    return rows.map(toTransaction);
  }

  async markBatchMined(batchId: number): Promise<void> {
    this.#db.prepare("UPDATE batches SET state = 'mined' WHERE id = ?").run(batchId);
  }

  async reanswer(
    requestId: bigint,
    result: { status: ResultStatus; output: Hex; metadata: Hex },
    note: string,
  ): Promise<void> {
    const { changes } = this.#db
      .prepare(
        `UPDATE jobs SET status = ?, output = ?, metadata = ?, note = ?, cosignatures = NULL, updated_at = ?
         WHERE request_id = ? AND state = 'answered'`,
      )
      .run(result.status, result.output, result.metadata, note, Date.now(), String(requestId));
    if (changes !== 1) throw new Error(`job ${requestId} is not in state answered`);
  }

  async recordCosignatures(requestId: bigint, signatures: Hex): Promise<void> {
    this.#db
      .prepare("UPDATE jobs SET cosignatures = ?, updated_at = ? WHERE request_id = ? AND state = 'answered'")
      .run(signatures, Date.now(), String(requestId));
  }

  async markSigned(requestId: bigint, answer: string): Promise<SignVerdict> {
    return this.#ledger.markSigned(requestId, answer);
  }

  /** One process on one file: it always leads. */
  async tryLead(): Promise<number> {
    return 1;
  }

  async resign(): Promise<void> {}

  async leader(): Promise<undefined> {
    return undefined;
  }

  async recordStatement(signed: SignedStatement): Promise<Equivocation | undefined> {
    return this.#ledger.record(signed);
  }

  async equivocationsIn(state: EquivocationState): Promise<Equivocation[]> {
    return this.#ledger.equivocationsIn(state);
  }

  async markEquivocation(
    equivocation: Equivocation,
    state: EquivocationState,
    committedBlock?: bigint,
  ): Promise<void> {
    this.#ledger.mark(equivocation, state, committedBlock);
  }

  async abandonBatch(batchId: number, outcomes?: Map<bigint, JobOutcome>): Promise<void> {
    this.#abandonBatch(batchId, outcomes);
  }

  #abandonBatch(batchId: number, outcomes = new Map<bigint, JobOutcome>()): void {
    this.#db.transaction(() => {
      this.#db.prepare("UPDATE batches SET state = 'abandoned' WHERE id = ?").run(batchId);
      const rows = this.#db
        .prepare("SELECT * FROM jobs WHERE batch_id = ? AND state IN ('proving', 'submitted')")
        .all(batchId) as JobRow[];
      for (const row of rows) {
        const requestId = BigInt(row.request_id);
        const outcome = outcomes.get(requestId) ?? { state: "answered" as const, note: "re-batched" };
        this.#transition(requestId, row.state, outcome.state, outcome.note);
        this.#db
          .prepare(
            `UPDATE jobs SET batch_id = NULL, attempts = attempts + ?,
             cosignatures = CASE WHEN ? THEN NULL ELSE cosignatures END WHERE request_id = ?`,
          )
          .run(outcome.failedAttempt ? 1 : 0, outcome.dropCosignatures ? 1 : 0, row.request_id);
      }
    })();
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #insertJob(job: NewJob): number {
    return this.#db
      .prepare(
        `INSERT OR IGNORE INTO jobs (request_id, model_id, commitment, input, request_block, deadline, state,
           received_at, updated_at, operator, exclusive_until)
         VALUES (?, ?, ?, ?, ?, ?, 'received', ?, ?, ?, ?)`,
      )
      .run(...newJobValues(job, Date.now(), Number)).changes;
  }
}
