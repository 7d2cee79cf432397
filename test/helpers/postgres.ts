/**
 * A throwaway PostgreSQL cluster for tests: `initdb` into a temp dir, `pg_ctl start` on a free loopback
 * port, one database per `createDatabase()`; stopped and removed by `stop()`. The server binaries come
 * from Debian's `postgresql` package (or a PATH install); without them `findPostgres()` says why, and
 * the caller skips. initdb refuses to run as root, so as root the cluster runs as the `postgres` user.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { PostgresJobStore } from "../../src/node/store/postgres/pgStore.js";
import { freePort } from "./processes.js";

const run = promisify(execFile);

export interface PostgresBinaries {
  bin: string;
}

/** The directory holding initdb and pg_ctl, or the reason there is none. */
export function findPostgres(): PostgresBinaries | { missing: string } {
  const candidates = [
    ...(process.env.PG_BIN ? [process.env.PG_BIN] : []),
    ...(existsSync("/usr/lib/postgresql")
      ? readdirSync("/usr/lib/postgresql")
          .sort((a, b) => Number(b) - Number(a))
          .map((version) => `/usr/lib/postgresql/${version}/bin`)
      : []),
    "/usr/local/bin",
    "/usr/bin",
  ];
  for (const bin of candidates) {
    if (existsSync(path.join(bin, "initdb")) && existsSync(path.join(bin, "pg_ctl"))) return { bin };
  }
  return {
    missing: "no PostgreSQL server binaries (initdb, pg_ctl): install Debian's postgresql package",
  };
}

export class PostgresCluster {
  readonly #dir: string;
  readonly #bin: string;
  readonly #asUser: string | undefined;
  readonly port: number;
  #databases = 0;

  private constructor(dir: string, bin: string, port: number, asUser: string | undefined) {
    this.#dir = dir;
    this.#bin = bin;
    this.port = port;
    this.#asUser = asUser;
  }

  static async start(binaries: PostgresBinaries): Promise<PostgresCluster> {
    const root = process.getuid?.() === 0;
    const dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-pg-"));
    const asUser = root ? "postgres" : undefined;
    if (root) {
      const { stdout } = await run("id", ["-u", "postgres"]);
      const { stdout: gid } = await run("id", ["-g", "postgres"]);
      await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await chmod(dir, 0o700);
    const cluster = new PostgresCluster(dir, binaries.bin, await freePort(), asUser);
    const data = path.join(dir, "data");
    await cluster.#run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"]);
    await cluster.#run("pg_ctl", [
      "-D",
      data,
      "-l",
      path.join(dir, "server.log"),
      "-w",
      "-o",
      // Loopback only, the socket in the temp dir; fsync off: a test cluster need not survive the machine.
      `-h 127.0.0.1 -p ${cluster.port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
      "start",
    ]);
    return cluster;
  }

  /** A fresh, empty database; its URL. */
  async createDatabase(): Promise<string> {
    const name = `sibyl_${++this.#databases}`;
    const admin = new pg.Client({ connectionString: this.url("postgres") });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return this.url(name);
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async stop(): Promise<void> {
    await this.#run("pg_ctl", ["-D", path.join(this.#dir, "data"), "-m", "immediate", "-w", "stop"]).catch(
      () => undefined,
    );
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #run(tool: string, args: string[]): Promise<void> {
    const file = path.join(this.#bin, tool);
    if (this.#asUser === undefined) await run(file, args);
    else await run("runuser", ["-u", this.#asUser, "--", file, ...args]);
  }
}

/** The shared store's tree root once it equals `contractRoot` (or whatever it is after 20 s). */
export async function sharedRootWhenSynced(url: string, contractRoot: bigint): Promise<bigint | undefined> {
  const store = await PostgresJobStore.open(url);
  try {
    const started = Date.now();
    for (;;) {
      const tree = (await store.checkpoint())?.tree;
      const root = tree && BigInt(tree.root);
      if (root === contractRoot || Date.now() - started > 20_000) return root;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    await store.close();
  }
}
