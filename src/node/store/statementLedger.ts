/**
 * Other operators' signed statements this node has seen (co-signing asks and replies), and the
 * equivocations they prove: one signer's different answers to one request, kept until reported.
 */
import type Database from "better-sqlite3";
import type { Address, Hex } from "viem";
import type { Equivocation, EquivocationState, SignedStatement } from "./store.js";

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
        | { output_hash: Hex; status: number; signature: Hex }
        | undefined;
      if (other === undefined) return undefined;
      const equivocation: Equivocation = {
        signer,
        a: signed,
        b: {
          signer,
          statement: { requestId: statement.requestId, outputHash: other.output_hash, status: other.status },
          signature: other.signature,
        },
        state: "found",
        committedBlock: undefined,
      };
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
      .all(state) as Array<{ evidence: string; state: EquivocationState; committed_block: number | null }>;
    return rows.map((row) => ({
      ...parseEvidence(row.evidence),
      state: row.state,
      committedBlock: row.committed_block === null ? undefined : BigInt(row.committed_block),
    }));
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
}

/** The evidence as stored: both signed statements, the request id as a decimal string. */
export function stringifyEvidence(equivocation: Equivocation): string {
  const plain = (signed: SignedStatement) => ({
    ...signed,
    statement: { ...signed.statement, requestId: String(signed.statement.requestId) },
  });
  return JSON.stringify({ signer: equivocation.signer, a: plain(equivocation.a), b: plain(equivocation.b) });
}

export function parseEvidence(text: string): Pick<Equivocation, "signer" | "a" | "b"> {
  const raw = JSON.parse(text) as { signer: Address; a: SignedStatement; b: SignedStatement };
  const typed = (signed: SignedStatement) => ({
    ...signed,
    statement: { ...signed.statement, requestId: BigInt(signed.statement.requestId) },
  });
  return { signer: raw.signer, a: typed(raw.a), b: typed(raw.b) };
}
