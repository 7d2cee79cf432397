/**
 * Opening the PostgreSQL store's connection pool: session settings that keep a dead replica from
 * holding a takeover up, the schema migrated to this code's version, and errors that never quote the
 * connection string.
 */
import pg from "pg";
import { SibylError } from "../../../shared/errors.js";
import { redactUrl } from "../../observe/redact.js";
import { MIGRATIONS, migrate } from "./migrations.js";

export interface PostgresStoreOptions {
  /** For tests that play an older replica: the schema version this code knows. */
  schemaVersion?: number;
  /** The leader's lease (ms): bounds how long a dead replica's locks can hold a takeover up. */
  leaseMs?: number;
}

const INT8_OID = 20;
/** Block numbers, ms times and serial ids all fit a double: read them as numbers, like SQLite's. */
const types = {
  getTypeParser: (oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format),
};

export async function openPool(url: string, options: PostgresStoreOptions = {}): Promise<pg.Pool> {
  // Keep-alive and timeouts: a dead server or network shows up as an error, not a hang.
  const pool = new pg.Pool({
    connectionString: url,
    max: 8,
    connectionTimeoutMillis: 5_000,
    query_timeout: 15_000,
    keepAlive: true,
    types,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on("error", () => undefined);
  // A replica that dies (or loses the network) inside a transaction leaves its backend holding the
  // lease row's share lock until the server notices: a transaction idle this long is ended, so a
  // takeover waits for it at most that; no statement waits for a lock longer than a lease.
  const leaseMs = options.leaseMs ?? 5_000;
  pool.on("connect", (client) => {
    client
      .query(
        `SET idle_in_transaction_session_timeout = ${Math.ceil(leaseMs / 2)}; SET lock_timeout = ${leaseMs}`,
      )
      .catch(() => undefined);
  });
  try {
    const client = await pool.connect();
    try {
      await migrate(client, options.schemaVersion ?? MIGRATIONS.length);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    if (error instanceof SibylError) throw error;
    // pg's message can quote the connection string; name the server by host only.
    throw new SibylError(`store.url: cannot open the database at ${redactUrl(url)}`, {
      cause: error,
      details: error instanceof Error ? ((error as { code?: string }).code ?? error.name) : undefined,
    });
  }
  return pool;
}
