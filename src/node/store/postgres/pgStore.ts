/**
 * JobStore on PostgreSQL (`pg`, pooled), for an operator whose replicas share one database. One replica
 * leads at a time (the `leader` row: a lease with an epoch, see pgLease.ts), and only it may write
 * (pgWriter.ts). The never-sign-twice record and other operators' statements are shared by every
 * replica and need no lease (pgLedger.ts).
 */
import type pg from "pg";
import type { Hex } from "viem";
import type { ResultPayload } from "../../../shared/encoding.js";
import { assertTransition, type JobState } from "../jobState.js";
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
} from "../rows.js";
import type {
  Batch,
  BatchState,
  Checkpoint,
  Equivocation,
  EquivocationState,
  Job,
  JobOutcome,
  JobStore,
  RangeUpdate,
  SentTransaction,
  SignedStatement,
  SignVerdict,
  Turn,
} from "../store.js";
import { abandonIn, jobIn, transitionIn } from "./pgJobs.js";
import { PgLease } from "./pgLease.js";
import { PgLedger } from "./pgLedger.js";
import { openPool, type PostgresStoreOptions } from "./pgPool.js";
import { PgWriter } from "./pgWriter.js";

export type { PostgresStoreOptions } from "./pgPool.js";
export { FencedError } from "./pgWriter.js";

/** `pg` binds a 64-bit integer column as decimal text: a deadline may pass 2^53. */
const integer = (value: bigint) => String(value);

export class PostgresJobStore implements JobStore {
  readonly #pool: pg.Pool;
  readonly #lease: PgLease;
  readonly #ledger: PgLedger;
  readonly #writer: PgWriter;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#lease = new PgLease(pool);
    this.#ledger = new PgLedger(pool);
    this.#writer = new PgWriter(pool, this.#lease);
  }

  /** Connects, migrates the schema to this code's version, and returns the store. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresJobStore> {
    return new PostgresJobStore(await openPool(url, options));
  }

  async bindDeployment(deployment: string, headBlock: bigint): Promise<void> {
    const value = await this.#writer.unfenced(async (client) => {
      const { rowCount } = await client.query(
        "INSERT INTO meta (key, value) VALUES ('deployment', $1) ON CONFLICT DO NOTHING",
        [deployment],
      );
      // The first replica to bind the database fixes the floor for all of them.
      if (rowCount === 1)
        await client.query("INSERT INTO meta (key, value) VALUES ('signing_floor', $1)", [String(headBlock)]);
      const { rows } = await client.query<{ value: string }>(
        "SELECT value FROM meta WHERE key = 'deployment'",
      );
      return rows[0]?.value;
    });
    if (value !== deployment) {
      throw new StoreMismatchError(`the database belongs to ${value}, not ${deployment}`, {
        details: "use another database, or empty this one to resync from the chain",
      });
    }
  }

  tryLead(holder: string, ttlMs: number): Promise<number | undefined> {
    return this.#lease.tryLead(holder, ttlMs);
  }

  resign(holder: string): Promise<void> {
    return this.#lease.resign(holder);
  }

  leader(): Promise<{ holder: string; epoch: number; since: number } | undefined> {
    return this.#lease.current();
  }

  async checkpoint(): Promise<Checkpoint | undefined> {
    return (await this.recentCheckpoints(1))[0];
  }

  async recentCheckpoints(limit: number): Promise<Checkpoint[]> {
    const { rows } = await this.#pool.query<CheckpointRow>(
      "SELECT block, hash, tree FROM checkpoints ORDER BY block DESC LIMIT $1",
      [limit],
    );
    return rows.map(toCheckpoint);
  }

  commitRange(update: RangeUpdate): Promise<{ inserted: number }> {
    return this.#writer.fenced(async (client) => {
      let inserted = 0;
      const now = Date.now();
      for (const job of update.requested) {
        const { rowCount } = await client.query(
          `INSERT INTO jobs (request_id, model_id, commitment, input, request_block, deadline, state,
             received_at, updated_at, operator, exclusive_until)
           VALUES ($1, $2, $3, $4, $5, $6, 'received', $7, $8, $9, $10) ON CONFLICT (request_id) DO NOTHING`,
          [...newJobValues(job, now, integer)],
        );
        inserted += rowCount ?? 0;
      }
      for (const { requestId, block } of update.delivered) {
        const job = await jobIn(client, requestId);
        if (job === undefined || job.state === "confirmed" || job.state === "cancelled") continue;
        assertTransition(requestId, job.state, "confirmed");
        await client.query(
          "UPDATE jobs SET state = 'confirmed', confirmed_block = $1, updated_at = $2 WHERE request_id = $3",
          [String(block), now, String(requestId)],
        );
      }
      for (const requestId of update.cancelled) {
        const job = await jobIn(client, requestId);
        if (job === undefined || job.state === "cancelled") continue;
        await transitionIn(client, requestId, job.state, "cancelled");
      }
      for (const commitment of update.reassigned) {
        await client.query(
          "UPDATE jobs SET commitment = $1, operator = $2, exclusive_until = $3, updated_at = $4 WHERE request_id = $5",
          [...reassignedValues(commitment, now, integer)],
        );
      }
      const { block, hash, tree } = update.checkpoint;
      await client.query(
        `INSERT INTO checkpoints (block, hash, tree) VALUES ($1, $2, $3)
         ON CONFLICT (block) DO UPDATE SET hash = excluded.hash, tree = excluded.tree`,
        [String(block), hash, JSON.stringify(tree)],
      );
      await client.query(
        "DELETE FROM checkpoints WHERE block NOT IN (SELECT block FROM checkpoints ORDER BY block DESC LIMIT $1)",
        [update.keep],
      );
      return { inserted };
    });
  }

  rewindTo(block: bigint): Promise<{ dropped: number; reopened: number }> {
    return this.#writer.fenced(async (client) => {
      const at = String(block);
      const now = Date.now();
      await client.query("DELETE FROM checkpoints WHERE block > $1", [at]);
      // As in the SQLite store: batches with a vanished job are given up, vanished requests re-read.
      const vanished = await client.query<{ batch_id: number }>(
        "SELECT DISTINCT batch_id FROM jobs WHERE request_block > $1 AND batch_id IS NOT NULL",
        [at],
      );
      for (const { batch_id } of vanished.rows) await abandonIn(client, batch_id, new Map());
      const dropped = (await client.query("DELETE FROM jobs WHERE request_block > $1", [at])).rowCount ?? 0;
      const reopened = await client.query(
        `UPDATE jobs SET state = 'answered', batch_id = NULL, confirmed_block = NULL, updated_at = $1
         WHERE state = 'confirmed' AND confirmed_block > $2 AND status IS NOT NULL`,
        [now, at],
      );
      const rerun = await client.query(
        `UPDATE jobs SET state = 'received', confirmed_block = NULL, updated_at = $1
         WHERE state = 'confirmed' AND confirmed_block > $2`,
        [now, at],
      );
      return { dropped, reopened: (reopened.rowCount ?? 0) + (rerun.rowCount ?? 0) };
    });
  }

  async job(requestId: bigint): Promise<Job | undefined> {
    return jobIn(this.#pool, requestId);
  }

  async jobsIn(state: JobState, limit?: number): Promise<Job[]> {
    const { rows } = await this.#pool.query<JobRow>(
      "SELECT * FROM jobs WHERE state = $1 ORDER BY seq LIMIT $2",
      [state, limit === undefined || limit < 0 ? null : limit],
    );
    return rows.map(toJob);
  }

  async countByState(): Promise<Record<JobState, number>> {
    const { rows } = await this.#pool.query<{ state: JobState; n: number }>(
      "SELECT state, COUNT(*) AS n FROM jobs GROUP BY state",
    );
    return countsByState(rows);
  }

  async transition(requestId: bigint, from: JobState, to: JobState, note?: string): Promise<void> {
    assertTransition(requestId, from, to);
    await this.#writer.fenced((client) => transitionIn(client, requestId, from, to, note));
  }

  claimForRun(
    modelIds: readonly Hex[],
    limit: number,
    turn: Turn,
    skip: readonly bigint[] = [],
  ): Promise<Job[]> {
    if (modelIds.length === 0 || limit <= 0) return Promise.resolve([]);
    return this.#writer.fenced(async (client) => {
      const { rows } = await client.query<JobRow & { seq: number }>(
        `UPDATE jobs SET state = 'running', updated_at = $1 WHERE seq IN (
           SELECT seq FROM jobs WHERE state = 'received' AND model_id = ANY($2) AND request_id <> ALL($3)
             AND (operator = $4 OR exclusive_until < $5) ORDER BY seq LIMIT $6)
         RETURNING *`,
        [
          Date.now(),
          [...modelIds],
          skip.map(String),
          turn.operator.toLowerCase(),
          String(turn.chainTime),
          limit,
        ],
      );
      return rows.sort((a, b) => a.seq - b.seq).map(toJob);
    });
  }

  recordAnswer(requestId: bigint, result: ResultPayload): Promise<boolean> {
    return this.#writer.fenced(async (client) => {
      const { rowCount } = await client.query(
        `UPDATE jobs SET state = 'answered', status = $1, output = $2, metadata = $3, updated_at = $4
         WHERE request_id = $5 AND state = 'running'`,
        [result.status, result.output, result.metadata, Date.now(), String(requestId)],
      );
      return rowCount === 1;
    });
  }

  reanswer(requestId: bigint, result: ResultPayload, note: string): Promise<void> {
    return this.#writer.fenced(async (client) => {
      const { rowCount } = await client.query(
        `UPDATE jobs SET status = $1, output = $2, metadata = $3, note = $4, cosignatures = NULL, updated_at = $5
         WHERE request_id = $6 AND state = 'answered'`,
        [result.status, result.output, result.metadata, note, Date.now(), String(requestId)],
      );
      if (rowCount !== 1) throw new Error(`job ${requestId} is not in state answered`);
    });
  }

  recordCosignatures(requestId: bigint, signatures: Hex): Promise<void> {
    return this.#writer.fenced(async (client) => {
      await client.query(
        "UPDATE jobs SET cosignatures = $1, updated_at = $2 WHERE request_id = $3 AND state = 'answered'",
        [signatures, Date.now(), String(requestId)],
      );
    });
  }

  markSigned(requestId: bigint, answer: string): Promise<SignVerdict> {
    return this.#ledger.markSigned(requestId, answer);
  }

  recordStatement(signed: SignedStatement): Promise<Equivocation | undefined> {
    return this.#ledger.recordStatement(signed);
  }

  equivocationsIn(state: EquivocationState): Promise<Equivocation[]> {
    return this.#ledger.equivocationsIn(state);
  }

  markEquivocation(
    equivocation: Equivocation,
    state: EquivocationState,
    committedBlock?: bigint,
  ): Promise<void> {
    return this.#writer.fenced((client) => this.#ledger.mark(client, equivocation, state, committedBlock));
  }

  expireBefore(deadline: bigint): Promise<bigint[]> {
    return this.#writer.fenced(async (client) => {
      const { rows } = await client.query<{ request_id: string }>(
        `UPDATE jobs SET state = 'expired', note = 'deadline too close', updated_at = $1
         WHERE state IN ('received', 'running', 'answered') AND deadline < $2 RETURNING request_id`,
        [Date.now(), String(deadline)],
      );
      return rows.map((row) => BigInt(row.request_id));
    });
  }

  createBatch(batch: Omit<Batch, "id" | "state" | "createdAt">): Promise<Batch> {
    return this.#writer.fenced(async (client) => {
      const createdAt = Date.now();
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO batches (state, request_ids, old_root, new_root, start_index, batch_size, created_at)
         VALUES ('proving', $1, $2, $3, $4, $5, $6) RETURNING id`,
        [...newBatchValues(batch, createdAt)],
      );
      const id = (rows[0] as { id: number }).id;
      for (const requestId of batch.requestIds) {
        await transitionIn(client, requestId, "answered", "proving");
        await client.query("UPDATE jobs SET batch_id = $1 WHERE request_id = $2", [id, String(requestId)]);
      }
      return { ...batch, id, state: "proving" as const, createdAt };
    });
  }

  async batch(id: number): Promise<Batch | undefined> {
    const { rows } = await this.#pool.query<BatchRow>("SELECT * FROM batches WHERE id = $1", [id]);
    return rows[0] && toBatch(rows[0]);
  }

  async batchesIn(state: BatchState): Promise<Batch[]> {
    const { rows } = await this.#pool.query<BatchRow>("SELECT * FROM batches WHERE state = $1 ORDER BY id", [
      state,
    ]);
    return rows.map(toBatch);
  }

  recordTransaction(tx: SentTransaction): Promise<void> {
    return this.#writer.fenced(async (client) => {
      // A transaction rebuilt byte for byte after a reorg is the same one: it now carries this batch.
      await client.query(
        `INSERT INTO transactions (hash, batch_id, nonce, raw, max_fee, priority_fee, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (hash) DO UPDATE SET batch_id = excluded.batch_id, sent_at = excluded.sent_at`,
        [...transactionValues(tx)],
      );
      const { rowCount } = await client.query(
        "UPDATE batches SET state = 'submitted' WHERE id = $1 AND state = 'proving'",
        [tx.batchId],
      );
      if (rowCount !== 1) return; // a replacement of a transaction already recorded
      await client.query(
        "UPDATE jobs SET state = 'submitted', updated_at = $1 WHERE batch_id = $2 AND state = 'proving'",
        [Date.now(), tx.batchId],
      );
    });
  }

  async transactionsOf(batchId: number): Promise<SentTransaction[]> {
    const { rows } = await this.#pool.query<TransactionRow>(
      "SELECT * FROM transactions WHERE batch_id = $1 ORDER BY sent_at, hash",
      [batchId],
    );
    return rows.map(toTransaction);
  }

  markBatchMined(batchId: number): Promise<void> {
    return this.#writer.fenced(async (client) => {
      await client.query("UPDATE batches SET state = 'mined' WHERE id = $1", [batchId]);
    });
  }

  abandonBatch(batchId: number, outcomes = new Map<bigint, JobOutcome>()): Promise<void> {
    return this.#writer.fenced((client) => abandonIn(client, batchId, outcomes));
  }

  async close(): Promise<void> {
    await this.#writer.drain();
    if (!this.#pool.ended) await this.#pool.end();
  }
}
