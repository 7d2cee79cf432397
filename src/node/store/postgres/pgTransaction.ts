/** Running work in one PostgreSQL transaction: committed if it returns, rolled back if it throws. */
import type pg from "pg";

export async function inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    const result = await work();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    // The error that ended the work says more than a failed rollback on a broken connection would.
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** A transaction on a client of the pool's, released afterwards. */
export async function pooledTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, () => work(client));
  } finally {
    client.release();
  }
}
