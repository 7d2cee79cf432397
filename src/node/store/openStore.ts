/** Opens the store a config names: SQLite at a path, or a PostgreSQL server (migrated to this code). */
import type { StoreSpec } from "../config.js";
import { PostgresJobStore } from "./postgres/pgStore.js";
import { SqliteJobStore } from "./sqliteStore.js";
import type { JobStore } from "./store.js";

export async function openStore(spec: StoreSpec): Promise<JobStore> {
  return spec.kind === "postgres"
    ? PostgresJobStore.open(spec.url, { leaseMs: spec.leaseMs })
    : new SqliteJobStore(spec.path);
}
