/**
 * The PostgreSQL side of what every replica of an operator shares without a lease: the answers this
 * operator signed (one per request, never forgotten) and other operators' signed statements with the
 * equivocations they prove. Inserts that may race between replicas are "insert if absent, then read",
 * so two replicas asked at once agree on one answer.
 */
import type pg from "pg";
import type { Hex } from "viem";
import { parseEvidence, stringifyEvidence } from "../statementLedger.js";
import type { Equivocation, EquivocationState, SignedStatement, SignVerdict } from "../store.js";

export class PgLedger {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async markSigned(requestId: bigint, answer: string): Promise<SignVerdict> {
    return this.#transaction(async (client) => {
      const id = String(requestId);
      const signed = await client.query<{ answer: string }>(
        "SELECT answer FROM signed_answers WHERE request_id = $1",
        [id],
      );
      if (signed.rows[0]) return signed.rows[0].answer === answer ? "signed" : "another";
      const floor = await client.query<{ value: string }>(
        "SELECT value FROM meta WHERE key = 'signing_floor'",
      );
      const job = await client.query<{ request_block: number }>(
        "SELECT request_block FROM jobs WHERE request_id = $1",
        [id],
      );
      const requestBlock = job.rows[0]?.request_block;
      const floorBlock = floor.rows[0]?.value;
      if (
        requestBlock === undefined ||
        floorBlock === undefined ||
        BigInt(requestBlock) <= BigInt(floorBlock)
      )
        return "unknown";
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
    return this.#transaction(async (client) => {
      const { signer, statement, signature } = signed;
      const requestId = String(statement.requestId);
      await client.query(
        `INSERT INTO statements (signer, request_id, output_hash, status, signature)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
        [signer.toLowerCase(), requestId, statement.outputHash, statement.status, signature],
      );
      const { rows } = await client.query<{ output_hash: Hex; status: number; signature: Hex }>(
        `SELECT output_hash, status, signature FROM statements
         WHERE signer = $1 AND request_id = $2 AND NOT (output_hash = $3 AND status = $4) LIMIT 1`,
        [signer.toLowerCase(), requestId, statement.outputHash, statement.status],
      );
      const other = rows[0];
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
      const { rowCount } = await client.query(
        `INSERT INTO equivocations (signer, request_id, evidence, state) VALUES ($1, $2, $3, 'found')
         ON CONFLICT DO NOTHING`,
        [signer.toLowerCase(), requestId, stringifyEvidence(equivocation)],
      );
      return rowCount === 1 ? equivocation : undefined;
    });
  }

  async equivocationsIn(state: EquivocationState): Promise<Equivocation[]> {
    const { rows } = await this.#pool.query<{
      evidence: string;
      state: EquivocationState;
      committed_block: number | null;
    }>("SELECT evidence, state, committed_block FROM equivocations WHERE state = $1", [state]);
    return rows.map((row) => ({
      ...parseEvidence(row.evidence),
      state: row.state,
      committedBlock: row.committed_block === null ? undefined : BigInt(row.committed_block),
    }));
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

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query("BEGIN");
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
