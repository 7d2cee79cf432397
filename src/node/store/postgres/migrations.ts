/**
 * The PostgreSQL store's schema, as numbered migrations applied in order at start. A migration once
 * released is never edited: a change is a new one at the end. A database whose schema is newer than
 * this code knows was migrated by a newer replica; this one refuses to start rather than misread it.
 */
import type { PoolClient } from "pg";
import { SibylError } from "../../../shared/errors.js";
import { inTransaction } from "./pgTransaction.js";

export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE checkpoints (block BIGINT PRIMARY KEY, hash TEXT NOT NULL, tree TEXT NOT NULL);
   CREATE TABLE jobs (
     seq BIGSERIAL PRIMARY KEY,
     request_id TEXT NOT NULL UNIQUE,
     model_id TEXT NOT NULL,
     commitment TEXT NOT NULL,
     input TEXT NOT NULL,
     request_block BIGINT NOT NULL,
     deadline BIGINT NOT NULL,
     state TEXT NOT NULL,
     status INTEGER, output TEXT, metadata TEXT,
     batch_id INTEGER,
     confirmed_block BIGINT,
     note TEXT,
     operator TEXT NOT NULL,
     exclusive_until BIGINT NOT NULL,
     attempts INTEGER NOT NULL DEFAULT 0,
     cosignatures TEXT,
     received_at BIGINT NOT NULL,
     updated_at BIGINT NOT NULL);
   CREATE INDEX jobs_by_state ON jobs (state, seq);
   CREATE INDEX jobs_by_batch ON jobs (batch_id);
   CREATE TABLE batches (
     id SERIAL PRIMARY KEY,
     state TEXT NOT NULL,
     request_ids TEXT NOT NULL,
     old_root TEXT NOT NULL, new_root TEXT NOT NULL, start_index TEXT NOT NULL, batch_size INTEGER NOT NULL,
     created_at BIGINT NOT NULL);
   CREATE TABLE transactions (
     hash TEXT PRIMARY KEY,
     batch_id INTEGER NOT NULL,
     nonce INTEGER NOT NULL,
     raw TEXT NOT NULL,
     max_fee TEXT NOT NULL, priority_fee TEXT NOT NULL,
     sent_at BIGINT NOT NULL);
   CREATE INDEX transactions_by_batch ON transactions (batch_id);
   CREATE TABLE signed_answers (request_id TEXT PRIMARY KEY, answer TEXT NOT NULL);
   CREATE TABLE statements (
     signer TEXT NOT NULL, request_id TEXT NOT NULL, output_hash TEXT NOT NULL, status INTEGER NOT NULL,
     signature TEXT NOT NULL,
     PRIMARY KEY (signer, request_id, output_hash, status));
   CREATE TABLE equivocations (
     signer TEXT NOT NULL, request_id TEXT NOT NULL, evidence TEXT NOT NULL, state TEXT NOT NULL,
     committed_block BIGINT,
     PRIMARY KEY (signer, request_id));
   -- One row: who leads, under which epoch, until when (by the database's clock).
   CREATE TABLE leader (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     holder TEXT NOT NULL,
     epoch BIGINT NOT NULL,
     since TIMESTAMPTZ NOT NULL,
     expires_at TIMESTAMPTZ NOT NULL);
   INSERT INTO leader VALUES (1, '', 0, now(), '-infinity');`,
];

export class SchemaVersionError extends SibylError {
  override name = "SchemaVersionError";
}

/** Any fixed key: replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 0x51b71;

/**
 * Brings the schema to this code's version inside one transaction; throws SchemaVersionError when the
 * database is already past it. `known` is for tests that play an older replica.
 */
export async function migrate(client: PoolClient, known = MIGRATIONS.length): Promise<number> {
  return inTransaction(client, async () => {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query(
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)",
    );
    const { rows } = await client.query<{ version: number | null }>(
      "SELECT max(version) AS version FROM schema_version",
    );
    const current = rows[0]?.version ?? 0;
    if (current > known) {
      throw new SchemaVersionError(
        `store: the database's schema is version ${current}, newer than this node's ${known}: upgrade this node`,
      );
    }
    for (let version = current + 1; version <= known; version++) {
      await client.query(MIGRATIONS[version - 1] as string);
      await client.query("INSERT INTO schema_version VALUES ($1, now())", [version]);
    }
    return known;
  });
}
