/**
 * The SQLite store's tables, created if absent at every open; a column once released stays (older
 * databases are read as they are), and a change adds rather than alters.
 */
export const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints (
  block INTEGER PRIMARY KEY, hash TEXT NOT NULL, tree TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  request_id TEXT NOT NULL UNIQUE,
  model_id TEXT NOT NULL,
  commitment TEXT NOT NULL,
  input TEXT NOT NULL,
  request_block INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  state TEXT NOT NULL,
  status INTEGER, output TEXT, metadata TEXT,
  batch_id INTEGER,
  confirmed_block INTEGER,
  note TEXT,
  operator TEXT NOT NULL,
  exclusive_until INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  cosignatures TEXT,
  signed TEXT, -- superseded by signed_answers (kept: older databases have it)
  received_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, seq);
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  state TEXT NOT NULL,
  request_ids TEXT NOT NULL,
  old_root TEXT NOT NULL, new_root TEXT NOT NULL, start_index TEXT NOT NULL, batch_size INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transactions (
  hash TEXT PRIMARY KEY,
  batch_id INTEGER NOT NULL,
  nonce INTEGER NOT NULL,
  raw TEXT NOT NULL,
  max_fee TEXT NOT NULL, priority_fee TEXT NOT NULL,
  sent_at INTEGER NOT NULL);
-- The answers this operator signed, one per request, never deleted (a rewind keeps them).
CREATE TABLE IF NOT EXISTS signed_answers (request_id TEXT PRIMARY KEY, answer TEXT NOT NULL);
INSERT OR IGNORE INTO signed_answers (request_id, answer)
  SELECT request_id, signed FROM jobs WHERE signed IS NOT NULL;
`;
