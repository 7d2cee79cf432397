/**
 * The SQLite side of the signing record: the answers this operator signed (one per request, never
 * forgotten), and other operators' signed statements this node has seen (co-signing asks and replies)
 * with the equivocations they prove: one signer's different answers to one request, kept until reported.
 */
import type Database from "better-sqlite3";
import {
  type EquivocationRow,
  equivocationOf,
  recordedVerdict,
  type StatementRow,
  stringifyEvidence,
  toEquivocation,
} from "./ledgerRows.js";
import type { Equivocation, EquivocationState, SignedStatement, SignVerdict } from "./store.js";

export const LEDGER_SCHEMA = `
CREATE TABLE IF NOT EXISTS statements (
  signer TEXT NOT NULL, request_id TEXT NOT NULL, output_hash TEXT NOT NULL, status INTEGER NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (signer, request_id, output_hash, status));
CREATE TABLE IF NOT EXISTS equivocations (
  signer TEXT NOT NULL, request_id TEXT NOT NULL, evidence TEXT NOT NULL, state TEXT NOT NULL,
  committed_block INTEGER,
  PRIMARY KEY (signer, request_id));
`;

export class StatementLedger {
  readonly #db: Database.Database;

  constructor(db: Database.Database) {
    this.#db = db;
  }

  markSigned(requestId: bigint, answer: string): SignVerdict {
    return this.#db.transaction((): SignVerdict => {
      const id = String(requestId);
      const signed = this.#db.prepare("SELECT answer FROM signed_answers WHERE request_id = ?").get(id) as
        | { answer: string }
        | undefined;
      const job = this.#db.prepare("SELECT request_block FROM jobs WHERE request_id = ?").get(id) as
        | { request_block: number }
        | undefined;
      const recorded = recordedVerdict(signed?.answer, answer, job?.request_block, this.#signingFloor());
      if (recorded !== undefined) return recorded;
      this.#db.prepare("INSERT INTO signed_answers (request_id, answer) VALUES (?, ?)").run(id, answer);
      return "signed";
    })();
  }

  record(signed: SignedStatement): Equivocation | undefined {
    return this.#db.transaction(() => {
      const { signer, statement, signature } = signed;
      const requestId = String(statement.requestId);
      this.#db
        .prepare(
          `INSERT OR IGNORE INTO statements (signer, request_id, output_hash, status, signature)
           VALUES (?, ?, ?, ?, ?)`,
        )
        .run(signer.toLowerCase(), requestId, statement.outputHash, statement.status, signature);
      const other = this.#db
        .prepare(
          `SELECT output_hash, status, signature FROM statements
           WHERE signer = ? AND request_id = ? AND NOT (output_hash = ? AND status = ?) LIMIT 1`,
        )
        .get(signer.toLowerCase(), requestId, statement.outputHash, statement.status) as
        | StatementRow
        | undefined;
      if (other === undefined) return undefined;
      const equivocation = equivocationOf(signed, other);
      const { changes } = this.#db
        .prepare(
          `INSERT OR IGNORE INTO equivocations (signer, request_id, evidence, state) VALUES (?, ?, ?, 'found')`,
        )
        .run(signer.toLowerCase(), requestId, stringifyEvidence(equivocation));
      return changes === 1 ? equivocation : undefined;
    })();
  }

  equivocationsIn(state: EquivocationState): Equivocation[] {
    const rows = this.#db
      .prepare("SELECT evidence, state, committed_block FROM equivocations WHERE state = ?")
      .all(state) as EquivocationRow[];
    return rows.map(toEquivocation);
  }

  mark(equivocation: Equivocation, state: EquivocationState, committedBlock?: bigint): void {
    this.#db
      .prepare(
        `UPDATE equivocations SET state = ?, committed_block = COALESCE(?, committed_block)
         WHERE signer = ? AND request_id = ?`,
      )
      .run(
        state,
        committedBlock === undefined ? null : Number(committedBlock),
        equivocation.signer.toLowerCase(),
        String(equivocation.a.statement.requestId),
      );
  }

  /** The head block when this database was first bound; before that, nothing may be signed. */
  #signingFloor(): bigint | undefined {
    const row = this.#db.prepare("SELECT value FROM meta WHERE key = 'signing_floor'").get() as
      | { value: string }
      | undefined;
    return row === undefined ? undefined : BigInt(row.value);
  }
}
