/**
 * The leader's lease: one row holding who leads, under which epoch, until when. Time is the database
 * server's (`now()`), so replicas' clocks need not agree. Taking the lease over bumps the epoch; every
 * write of the store checks its epoch under a share lock on the row (pgStore.ts), and the takeover's
 * update waits for those locks, so once it commits no write of the deposed leader can follow.
 */
import type pg from "pg";

export class PgLease {
  readonly #pool: pg.Pool;
  /** The epoch this process leads under, once it has taken the lease. */
  #epoch: number | undefined;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  get epoch(): number | undefined {
    return this.#epoch;
  }

  /** Renews the lease if `holder` has it, takes it if it has expired; the epoch, or undefined. */
  async tryLead(holder: string, ttlMs: number): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ epoch: number }>(
      `UPDATE leader SET
         epoch = CASE WHEN holder = $1 AND expires_at > now() THEN epoch ELSE epoch + 1 END,
         since = CASE WHEN holder = $1 AND expires_at > now() THEN since ELSE now() END,
         holder = $1,
         expires_at = now() + $2 * interval '1 millisecond'
       WHERE id = 1 AND (holder = $1 OR expires_at <= now())
       RETURNING epoch`,
      [holder, ttlMs],
    );
    const epoch = rows[0]?.epoch;
    // A lease this process lost (expired, then retaken under a new epoch) is not the lease it had:
    // its writes stay fenced off with the old epoch, and the caller sees the change and stands down.
    if (this.#epoch === undefined && epoch !== undefined) this.#epoch = epoch;
    return epoch;
  }

  async resign(holder: string): Promise<void> {
    await this.#pool.query("UPDATE leader SET expires_at = '-infinity' WHERE id = 1 AND holder = $1", [
      holder,
    ]);
  }

  async current(): Promise<{ holder: string; epoch: number; since: number } | undefined> {
    const { rows } = await this.#pool.query<{ holder: string; epoch: number; since: Date }>(
      "SELECT holder, epoch, since FROM leader WHERE id = 1 AND expires_at > now()",
    );
    const row = rows[0];
    return row && { holder: row.holder, epoch: row.epoch, since: row.since.getTime() };
  }
}
