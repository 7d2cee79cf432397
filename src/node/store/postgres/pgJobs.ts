/** Job reads and transitions that several PostgreSQL store methods make inside their transactions. */
import type pg from "pg";
import { assertTransition, type JobState } from "../jobState.js";
import { type JobRow, toJob } from "../rows.js";
import type { Job, JobOutcome } from "../store.js";

type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

export async function jobIn(db: Queryable, requestId: bigint): Promise<Job | undefined> {
  const { rows } = await db.query<JobRow>("SELECT * FROM jobs WHERE request_id = $1", [String(requestId)]);
  return rows[0] && toJob(rows[0]);
}

export async function transitionIn(
  client: pg.PoolClient,
  requestId: bigint,
  from: JobState,
  to: JobState,
  note?: string,
): Promise<void> {
  assertTransition(requestId, from, to);
  const { rowCount } = await client.query(
    "UPDATE jobs SET state = $1, note = COALESCE($2, note), updated_at = $3 WHERE request_id = $4 AND state = $5",
    [to, note ?? null, Date.now(), String(requestId), from],
  );
  if (rowCount !== 1) throw new Error(`job ${requestId} is not in state ${from}`);
}

/** The batch is given up; its jobs still in proving/submitted go back to answered or to `outcomes`. */
export async function abandonIn(
  client: pg.PoolClient,
  batchId: number,
  outcomes: Map<bigint, JobOutcome>,
): Promise<void> {
  await client.query("UPDATE batches SET state = 'abandoned' WHERE id = $1", [batchId]);
  const { rows } = await client.query<JobRow>(
    "SELECT * FROM jobs WHERE batch_id = $1 AND state IN ('proving', 'submitted') ORDER BY seq",
    [batchId],
  );
  for (const row of rows) {
    const requestId = BigInt(row.request_id);
    const outcome = outcomes.get(requestId) ?? { state: "answered" as const, note: "re-batched" };
    await transitionIn(client, requestId, row.state, outcome.state, outcome.note);
    await client.query(
      `UPDATE jobs SET batch_id = NULL, attempts = attempts + $1,
       cosignatures = CASE WHEN $2 THEN NULL ELSE cosignatures END WHERE request_id = $3`,
      [outcome.failedAttempt ? 1 : 0, outcome.dropCosignatures === true, row.request_id],
    );
  }
}
