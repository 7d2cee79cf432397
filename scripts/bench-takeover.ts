/**
 * How long an operator is without a leader when the leader dies: two `sibyl node` replicas share one
 * PostgreSQL database (a throwaway cluster) with the default 5 s lease; the leader is killed with
 * SIGKILL at a random moment of its lease, and the time from the kill to the standby's "leading" log
 * line (its own timestamp) is one sample. The new leader is then killed in turn once a fresh standby
 * waits, so each round starts one process.
 *
 *   npm run bench:takeover                # 12 kills
 *   BENCH_KILLS=4 npm run bench:takeover  # fewer
 *
 * Prints p50/p95/max and writes bench/results/takeover.json. Issue 22's target: within 10 s.
 */

import { startDevnet } from "../test/helpers/devnet.js";
import { findPostgres, PostgresCluster } from "../test/helpers/postgres.js";
import type { ChildRun } from "../test/helpers/processes.js";
import { percentile } from "./lib/chainWatcher.js";
import { printTable, writeResults } from "./lib/report.js";

const KILLS = Number(process.env.BENCH_KILLS ?? "12");
const LEASE_MS = 5_000;
const TARGET_MS = 10_000;

const binaries = findPostgres();
if ("missing" in binaries) {
  process.stderr.write(`bench:takeover needs PostgreSQL: ${binaries.missing}\n`);
  process.exit(1);
}
const cluster = await PostgresCluster.start(binaries);
const devnet = await startDevnet([{ provider: "builtin", name: "language-id", builtin: "language-id" }]);
const samples: number[] = [];
const running: ChildRun[] = [];
try {
  const url = await cluster.createDatabase();
  let replica = 0;
  const start = async () => {
    const config = await devnet.writeConfig(
      { store: { kind: "postgres", url, leaseMs: LEASE_MS } },
      `replica-${++replica}.json`,
    );
    const run = devnet.startNode(config);
    running.push(run);
    await run.waitFor("sibyl node started", 180_000);
    return run;
  };
  let leader = await start();
  await leader.waitFor('"msg":"leading"', 60_000);
  for (let kill = 0; kill < KILLS; kill++) {
    const standby = await start();
    await standby.waitFor("standby: waiting for the lead", 60_000);
    // Anywhere in the leader's renewal cycle.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * LEASE_MS));
    const killedAt = Date.now();
    await leader.stop("SIGKILL");
    await standby.waitFor('"msg":"leading"', 60_000);
    const line = standby.text.split("\n").find((text) => text.includes('"msg":"leading"')) ?? "";
    const ledAt = (JSON.parse(line) as { time: number }).time;
    samples.push(ledAt - killedAt);
    process.stdout.write(`kill ${kill + 1}: taken over in ${ledAt - killedAt} ms\n`);
    leader = standby;
  }
} finally {
  for (const run of running) await run.stop("SIGKILL");
  await devnet.stop();
  await cluster.stop();
}

const sorted = [...samples].sort((a, b) => a - b);
const p50 = percentile(sorted, 50);
const p95 = percentile(sorted, 95);
const max = sorted.at(-1) ?? 0;
printTable(
  ["kills", "lease ms", "p50 ms", "p95 ms", "max ms"],
  [[samples.length, LEASE_MS, p50.toFixed(0), p95.toFixed(0), max.toFixed(0)]],
);
process.stdout.write(
  `takeover within ${TARGET_MS / 1000} s of a kill -9 (max ${max} ms): ${max <= TARGET_MS ? "met" : "MISSED"}\n`,
);
await writeResults("takeover", [{ kills: samples.length, leaseMs: LEASE_MS, p50, p95, max, samples }]);
