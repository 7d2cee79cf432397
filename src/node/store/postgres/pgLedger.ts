/**
 * The PostgreSQL side of what every replica of an operator shares without a lease: the answers this
 * operator signed (one per request, never forgotten) and other operators' signed statements with the
 * equivocations they prove. Inserts that may race between replicas are "insert if absent, then read",
 * so two replicas asked at once agree on one answer.
 */
import type pg from "pg";
import {
  type EquivocationRow,
  equivocationOf,
  recordedVerdict,
  type StatementRow,
  stringifyEvidence,
  toEquivocation,
} from "../ledgerRows.js";
import type { Equivocation, EquivocationState, SignedStatement, SignVerdict } from "../store.js";
import { pooledTransaction } from "./pgTransaction.js";

export class PgLedger {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async markSigned(requestId: bigint, answer: string): Promise<SignVerdict> {
    return pooledTransaction(this.#pool, async (client) => {
      const id = String(requestId);
      const signed = await client.query<{ answer: string }>(
        "SELECT answer FROM signed_answers WHERE request_id = $1",
        [id],
      );
      const floor = await client.query<{ value: string }>(
        "SELECT value FROM meta WHERE key = 'signing_floor'",
      );
      const job = await client.query<{ request_block: number }>(
        "SELECT request_block FROM jobs WHERE request_id = $1",
        [id],
      );
      const floorBlock = floor.rows[0]?.value;
      const recorded = recordedVerdict(
        signed.rows[0]?.answer,
        answer,
        job.rows[0]?.request_block,
        floorBlock === undefined ? undefined : BigInt(floorBlock),
      );
      if (recorded !== undefined) return recorded;
      // Another replica may sign this request at the same moment: the first insert wins, both read it.
      await client.query(
        "INSERT INTO signed_answers (request_id, answer) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        [id, answer],
      );
      const { rows } = await client.query<{ answer: string }>(
        "SELECT answer FROM signed_answers WHERE request_id = $1",
        [id],
      );
      return rows[0]?.answer === answer ? "signed" : "another";
    });
  }

  async recordStatement(signed: SignedStatement): Promise<Equivocation | undefined> {
    return pooledTransaction(this.#pool, async (client) => {
      const { signer, statement, signature } = signed;
      const requestId = String(statement.requestId);
      await client.query(
        `INSERT INTO statements (signer, request_id, output_hash, status, signature)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [signer.toLowerCase(), requestId, statement.outputHash, statement.status, signature],
      );
      const { rows } = await client.query<StatementRow>(
        `SELECT output_hash, status, signature FROM statements
         WHERE signer = $1 AND request_id = $2 AND NOT (output_hash = $3 AND status = $4) LIMIT 1`,
        [signer.toLowerCase(), requestId, statement.outputHash, statement.status],
      );
      const other = rows[0];
      if (other === undefined) return undefined;
      const equivocation = equivocationOf(signed, other);
      const { rowCount } = await client.query(
        `INSERT INTO equivocations (signer, request_id, evidence, state) VALUES ($1, $2, $3, 'found')
         ON CONFLICT DO NOTHING`,
        [signer.toLowerCase(), requestId, stringifyEvidence(equivocation)],
      );
      return rowCount === 1 ? equivocation : undefined;
    });
  }

  async equivocationsIn(state: EquivocationState): Promise<Equivocation[]> {
    const { rows } = await this.#pool.query<EquivocationRow>(
      "SELECT evidence, state, committed_block FROM equivocations WHERE state = $1",
      [state],
    );
    return rows.map(toEquivocation);
  }

  /** Inside the caller's (fenced) transaction: only the leader reports. */
  async mark(
    client: pg.PoolClient,
    equivocation: Equivocation,
    state: EquivocationState,
    committedBlock?: bigint,
  ): Promise<void> {
    await client.query(
      `UPDATE equivocations SET state = $1, committed_block = COALESCE($2, committed_block)
       WHERE signer = $3 AND request_id = $4`,
      [
        state,
        committedBlock === undefined ? null : String(committedBlock),
        equivocation.signer.toLowerCase(),
        String(equivocation.a.statement.requestId),
      ],
    );
  }
}
