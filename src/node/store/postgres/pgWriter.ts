/**
 * The PostgreSQL store's writes: serialized within the process (which keeps the SQLite store's
 * semantics: one writer, each method atomic), each in a transaction that first checks, under a share
 * lock on the lease row, that this replica still holds the epoch it took (pgLease.ts). A deposed
 * leader's writes fail from the moment another takes over: it cannot record, and so cannot send, a
 * transaction.
 */
import type pg from "pg";
import { SibylError } from "../../../shared/errors.js";
import type { PgLease } from "./pgLease.js";
import { pooledTransaction } from "./pgTransaction.js";

/** A write refused because another replica leads now: fatal for the deposed one. */
export class FencedError extends SibylError {
  override name = "FencedError";
}

export class PgWriter {
  readonly #pool: pg.Pool;
  readonly #lease: PgLease;
  /** Serializes this process's write transactions. */
  #writing: Promise<unknown> = Promise.resolve();

  constructor(pool: pg.Pool, lease: PgLease) {
    this.#pool = pool;
    this.#lease = lease;
  }

  /** Runs `work` in a transaction after checking, under a share lock on the lease, that this replica leads. */
  fenced<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.unfenced(async (client) => {
      const epoch = this.#lease.epoch;
      if (epoch === undefined) throw new FencedError("store: this replica does not lead; it may not write");
      const { rows } = await client.query<{ epoch: number }>(
        "SELECT epoch FROM leader WHERE id = 1 FOR SHARE",
      );
      if (rows[0]?.epoch !== epoch) {
        throw new FencedError(
          `store: another replica leads now (epoch ${rows[0]?.epoch}, this one had ${epoch})`,
        );
      }
      return work(client);
    });
  }

  /** A serialized transaction with no lease check: binding the deployment, which every replica does at start. */
  unfenced<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const run = this.#writing.then(() => pooledTransaction(this.#pool, work));
    this.#writing = run.catch(() => undefined);
    return run;
  }

  /** Resolves once the writes already asked for have ended. */
  async drain(): Promise<void> {
    await this.#writing.catch(() => undefined);
  }
}
