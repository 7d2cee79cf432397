/**
 * What a quorum costs a lone request: the built-in language identifier (reproducible, so every
 * co-signer runs it and gets the same answer) answered by `sibyl node` daemons on one `hardhat node`,
 * with quorum 1 and one daemon, then quorum 2 and 3 with three daemons, each with its own key,
 * database and co-signing endpoint. Issue 14's target: quorum 2 adds at most 1 s to the p50.
 *
 *   npm run bench:quorum                  # ~3 minutes on 2 cores (also run by npm run bench:node)
 *   BENCH_QUICK=1 npm run bench:quorum    # smoke run with 5 requests per row
 *
 * Per row, on a fresh chain in automine mode: two warm-up requests, then requests one at a time from
 * one EOA (no callback), each sent once the previous one is delivered. The coordinator assigns each
 * request to an active operator, so with three daemons each delivers about a third and asks the other
 * two to co-sign. The daemons run the node's defaults for batching and proving; the chain poll and the
 * co-signing retry pause vary by row (SETUPS).
 * A devnet's clock runs ahead of the wall clock (each block at least a second after the last), so the
 * exclusive window is raised to 30 s as the quorum process test does: no request is taken over because
 * the devnet's clock, not a daemon, was slow.
 *
 * Timing as in bench-node.ts (scripts/lib/chainWatcher.ts): from the request seen mined to its result
 * seen mined. From the delivering daemon's debug log, per request: its model answer and, for quorum
 * models, the moment it held enough co-signatures, so the table shows where the added time goes.
 * Prints one table and the target; writes bench/results/quorum.json; each daemon's log is written to
 * the devnet's directory, printed at the end of each row.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { type Address, createPublicClient, createWalletClient, http, parseEventLogs } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { sibylCoordinatorAbi } from "../src/shared/abi/generated.js";
import { modelIdFromName } from "../src/shared/encoding.js";
import { type Devnet, hardhatKey, startDevnet } from "../test/helpers/devnet.js";
import { type ChildRun, freePort } from "../test/helpers/processes.js";
import { quoteEscrow, TEST_OPERATOR_PARAMETERS } from "../test/helpers/sibyl.js";
import { LANGUAGE_ID, logEntries, registerOperator, sentence } from "../test/reliability/chainFaults.js";
import { ChainWatcher, percentile, WATCH_POLL_MS } from "./lib/chainWatcher.js";
import { printTable, writeResults } from "./lib/report.js";

const QUICK = process.env.BENCH_QUICK === "1";
const REQUESTS = QUICK ? 5 : 20;
const WARM_UP = 2;
/** Issue 14: quorum 2 with the built-in model adds at most this to the lone request's p50. */
const TARGET_ADDED_P50_MS = 1_000;
const MODEL_ID = modelIdFromName(LANGUAGE_ID.name);
/** Hardhat accounts: 1 is the devnet's operator, 16 and 17 are staked here; 2 sends every request. */
const OPERATOR_ACCOUNTS = [1, 16, 17];
const SENDER = privateKeyToAccount(hardhatKey(2));
const LANGUAGES = ["en", "fr", "de", "es"] as const;
const EXCLUSIVE_WINDOW_SECONDS = 30n;
/** The node's defaults for batching and proving, as bench-node.ts measures them. */
const NODE_CONFIG = {
  batching: { maxSize: 64, maxWaitMs: 50 },
  proving: { maxWaitMs: 30_000 },
};
/**
 * As bench-node.ts, a 100 ms chain poll, then the node's default poll (500 ms): the assignee asks its
 * peers as soon as it has answered, and a peer that has not read the request yet answers 404, to be
 * asked again only after cosigning.retryAfterMs (2 s by default). The last rows shorten that pause, to
 * show how much of the added time it is.
 */
const DEFAULT_RETRY_AFTER_MS = 2_000;
const SHORT_RETRY_AFTER_MS = 250;
const FAST_POLL_MS = 100;
const DEFAULT_POLL_MS = 500;

interface Setup {
  quorum: number;
  daemons: number;
  /** chain.pollIntervalMs and cosigning.retryAfterMs of every daemon. */
  pollIntervalMs: number;
  retryAfterMs: number;
}

const SETUPS: readonly Setup[] = [
  { quorum: 1, daemons: 1, pollIntervalMs: FAST_POLL_MS, retryAfterMs: DEFAULT_RETRY_AFTER_MS },
  { quorum: 2, daemons: 3, pollIntervalMs: FAST_POLL_MS, retryAfterMs: DEFAULT_RETRY_AFTER_MS },
  { quorum: 3, daemons: 3, pollIntervalMs: FAST_POLL_MS, retryAfterMs: DEFAULT_RETRY_AFTER_MS },
  { quorum: 1, daemons: 1, pollIntervalMs: DEFAULT_POLL_MS, retryAfterMs: DEFAULT_RETRY_AFTER_MS },
  { quorum: 2, daemons: 3, pollIntervalMs: DEFAULT_POLL_MS, retryAfterMs: DEFAULT_RETRY_AFTER_MS },
  { quorum: 2, daemons: 3, pollIntervalMs: FAST_POLL_MS, retryAfterMs: SHORT_RETRY_AFTER_MS },
  { quorum: 3, daemons: 3, pollIntervalMs: FAST_POLL_MS, retryAfterMs: SHORT_RETRY_AFTER_MS },
];

interface Daemon {
  name: string;
  address: Address;
  run: ChildRun;
  log: string;
}

interface Row extends Setup {
  requests: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Medians, from the delivering daemon's log: request seen → model answered → co-signed → seen. */
  phasesMs: { toAnswered: number; answeredToCosigned?: number; toSeen: number };
  /** Requests delivered by each daemon (by name), and assigned to each. */
  deliveredBy: Record<string, number>;
  assignedTo: Record<string, number>;
  /** Requests delivered by an operator other than their assignee (its window passed). */
  takenOver: number;
  /** Co-signing rounds that ended short of signatures (asked again after retryAfterMs). */
  shortRounds: number;
  notOk: number;
  deliveredTwice: number;
  daemonWarnings: string[];
  logs: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function startDaemons(devnet: Devnet, setup: Setup): Promise<Daemon[]> {
  const daemons: Daemon[] = [];
  for (const account of OPERATOR_ACCOUNTS.slice(0, setup.daemons)) {
    // The devnet registered account 1 as its operator; the others stake here.
    const key = account === 1 ? hardhatKey(1) : await registerOperator(devnet, account);
    const name = `op-${account}`;
    const port = await freePort();
    const config = await devnet.writeConfig(
      {
        ...NODE_CONFIG,
        chain: {
          rpcUrl: devnet.chain.url,
          coordinator: devnet.sibyl.coordinator.address,
          pollIntervalMs: setup.pollIntervalMs,
        },
        database: { path: path.join(devnet.dir, `${name}.db`) },
        cosigning: {
          port,
          publicUrl: `http://127.0.0.1:${port}`,
          retryAfterMs: setup.retryAfterMs,
          allowPrivatePeers: true,
        },
        // Debug: the "answered" and "co-signed" lines time the phases.
        log: { level: "debug", format: "json" },
      },
      `${name}.json`,
    );
    daemons.push({
      name,
      address: privateKeyToAccount(key).address,
      run: devnet.startNode(config, { SIBYL_OPERATOR_KEY: key }),
      log: path.join(devnet.dir, `${name}.log`),
    });
  }
  await Promise.all(daemons.map(({ run }) => run.waitFor("sibyl node started", 180_000)));
  return daemons;
}

async function stopDaemons(daemons: readonly Daemon[]): Promise<void> {
  for (const { run, log } of daemons) {
    const stopped = run.stop("SIGTERM");
    const timedOut = await Promise.race([stopped.then(() => false), sleep(30_000).then(() => true)]);
    if (timedOut) {
      process.stderr.write(`${log}: the daemon ignored SIGTERM for 30 s; killing it\n`);
      await run.stop("SIGKILL");
    }
    await writeFile(log, run.text);
  }
}

/** Time of a daemon's first log line `msg` about each request. */
function loggedAt(daemons: readonly Daemon[], msg: string): Map<string, Map<bigint, number>> {
  const byDaemon = new Map<string, Map<bigint, number>>();
  for (const daemon of daemons) {
    const times = new Map<bigint, number>();
    for (const entry of logEntries(daemon.run)) {
      if (entry.msg !== msg || typeof entry.requestId !== "string" || typeof entry.time !== "number")
        continue;
      const id = BigInt(entry.requestId);
      if (!times.has(id)) times.set(id, entry.time);
    }
    byDaemon.set(daemon.address.toLowerCase(), times);
  }
  return byDaemon;
}

async function measureRow(setup: Setup): Promise<Row> {
  const { quorum } = setup;
  const label = `quorum ${quorum}, ${setup.daemons} daemon(s), poll ${setup.pollIntervalMs} ms, co-sign retry ${setup.retryAfterMs} ms`;
  const devnet = await startDevnet([LANGUAGE_ID], { quorum });
  let daemons: Daemon[] = [];
  let watcher: ChainWatcher | undefined;
  try {
    const { coordinator, ledger } = devnet.sibyl;
    await devnet.sibyl.publicClient.waitForTransactionReceipt({
      hash: await ledger.write.setOperatorParameters([
        { ...TEST_OPERATOR_PARAMETERS, exclusiveWindow: EXCLUSIVE_WINDOW_SECONDS },
      ]),
    });
    daemons = await startDaemons(devnet, setup);
    const transport = http(devnet.chain.url, { timeout: 60_000 });
    const client = createPublicClient({ chain: hardhat, transport, pollingInterval: WATCH_POLL_MS });
    const sender = createWalletClient({ account: SENDER, chain: hardhat, transport });
    watcher = new ChainWatcher(client, coordinator.address, (await client.getBlockNumber()) + 1n);
    const escrow = await quoteEscrow(devnet.sibyl, MODEL_ID);
    const runs = daemons.map((daemon) => daemon.run);
    const sendOne = async (i: number): Promise<bigint> => {
      const language = LANGUAGES[i % LANGUAGES.length] as (typeof LANGUAGES)[number];
      const hash = await sender.writeContract({
        address: coordinator.address,
        abi: sibylCoordinatorAbi,
        functionName: "request",
        args: [MODEL_ID, sentence(language, i), 0, SENDER.address],
        value: escrow,
      });
      const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: WATCH_POLL_MS });
      const [event] = parseEventLogs({
        abi: sibylCoordinatorAbi,
        logs: receipt.logs,
        eventName: "InferenceRequested",
      });
      if (receipt.status !== "success" || event === undefined) throw new Error(`request ${hash} failed`);
      await (watcher as ChainWatcher).delivered([event.args.requestId], 120_000, runs);
      return event.args.requestId;
    };
    process.stderr.write(`${label}: warm-up…\n`);
    for (let i = 0; i < WARM_UP; i++) await sendOne(1_000 + i);
    const logOffsets = daemons.map((daemon) => daemon.run.text.length);
    process.stderr.write(`${label}: ${REQUESTS} lone requests…\n`);
    const ids: bigint[] = [];
    for (let i = 0; i < REQUESTS; i++) ids.push(await sendOne(i));
    return { ...setup, ...rowOf(quorum, daemons, watcher, ids, logOffsets) };
  } finally {
    await watcher?.stop();
    await stopDaemons(daemons);
    for (const { log } of daemons) process.stderr.write(`${label}: a daemon's log is in ${log}\n`);
    await devnet.stop();
  }
}

function rowOf(
  quorum: number,
  daemons: readonly Daemon[],
  watcher: ChainWatcher,
  ids: readonly bigint[],
  logOffsets: readonly number[],
): Omit<Row, keyof Setup> {
  const latencies = watcher.latencies(ids);
  const nameOf = new Map(daemons.map((daemon) => [daemon.address.toLowerCase(), daemon.name]));
  const name = (address: Address | undefined) => nameOf.get(address?.toLowerCase() ?? "") ?? String(address);
  const count = (map: Map<bigint, Address>) => {
    const counts: Record<string, number> = {};
    for (const id of ids) counts[name(map.get(id))] = (counts[name(map.get(id))] ?? 0) + 1;
    return counts;
  };
  const answered = loggedAt(daemons, "answered");
  const cosigned = loggedAt(daemons, "co-signed");
  const phases = ids.map((id) => {
    const deliverer = watcher.deliverer.get(id)?.toLowerCase() ?? "";
    const requested = watcher.requestedAt.get(id) as number;
    const answeredAt = answered.get(deliverer)?.get(id);
    const cosignedAt = cosigned.get(deliverer)?.get(id);
    const delivered = watcher.deliveredAt.get(id) as number;
    return {
      toAnswered: answeredAt === undefined ? undefined : answeredAt - requested,
      answeredToCosigned:
        answeredAt === undefined || cosignedAt === undefined ? undefined : cosignedAt - answeredAt,
      toSeen: delivered - (cosignedAt ?? answeredAt ?? requested),
    };
  });
  const median = (values: Array<number | undefined>) => {
    const known = values.filter((value) => value !== undefined);
    return known.length === 0 ? undefined : percentile(known, 50);
  };
  const warnings = daemons.flatMap((daemon, i) =>
    daemon.run.text
      .slice(logOffsets[i])
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .flatMap((line) => {
        const entry = JSON.parse(line) as { level?: number; msg?: string };
        return (entry.level ?? 0) >= 40 ? [`${daemon.name}: ${entry.msg}`] : [];
      }),
  );
  const shortRounds = daemons.reduce(
    (total, daemon, i) =>
      total +
      daemon.run.text
        .slice(logOffsets[i])
        .split("\n")
        .filter((line) => line.includes('"msg":"short of co-signatures"')).length,
    0,
  );
  return {
    requests: ids.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    maxMs: Math.max(...latencies),
    phasesMs: {
      toAnswered: median(phases.map((phase) => phase.toAnswered)) ?? Number.NaN,
      answeredToCosigned: quorum > 1 ? median(phases.map((phase) => phase.answeredToCosigned)) : undefined,
      toSeen: median(phases.map((phase) => phase.toSeen)) ?? Number.NaN,
    },
    deliveredBy: count(watcher.deliverer),
    assignedTo: count(watcher.assignee),
    takenOver: ids.filter(
      (id) => watcher.deliverer.get(id)?.toLowerCase() !== watcher.assignee.get(id)?.toLowerCase(),
    ).length,
    shortRounds,
    notOk: ids.filter((id) => watcher.notOk.has(id)).length,
    deliveredTwice: ids.filter((id) => watcher.deliveredTwice.has(id)).length,
    daemonWarnings: [...new Set(warnings)],
    logs: daemons.map((daemon) => daemon.log),
  };
}

const began = performance.now();
const rows: Row[] = [];
for (const setup of SETUPS) rows.push(await measureRow(setup));

/** The quorum 1 row polling the chain as often as `row`. */
const baselineOf = (row: Row) =>
  rows.find((other) => other.quorum === 1 && other.pollIntervalMs === row.pollIntervalMs);
const fixed = (value: number | undefined) => (value === undefined ? "" : value.toFixed(0));
const added = (row: Row) => {
  const baseline = baselineOf(row);
  return baseline === undefined ? undefined : row.p50Ms - baseline.p50Ms;
};
const spread = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([name, n]) => `${name} ${n}`)
    .join(", ");
printTable(
  [
    "quorum",
    "daemons",
    "poll ms",
    "co-sign retry ms",
    "requests",
    "p50 ms",
    "p95 ms",
    "max ms",
    "p50 vs quorum 1 (same poll) ms",
    "median ms: seen → answered / → co-signed / → result seen",
    "delivered by",
    "taken over",
    "short rounds",
    "not Ok",
  ],
  rows.map((row) => [
    row.quorum,
    row.daemons,
    row.pollIntervalMs,
    row.quorum === 1 ? "" : row.retryAfterMs,
    row.requests,
    fixed(row.p50Ms),
    fixed(row.p95Ms),
    fixed(row.maxMs),
    row.quorum === 1 ? "" : `+${fixed(added(row))}`,
    `${fixed(row.phasesMs.toAnswered)} / ${fixed(row.phasesMs.answeredToCosigned) || "—"} / ${fixed(row.phasesMs.toSeen)}`,
    spread(row.deliveredBy),
    row.takenOver,
    row.shortRounds,
    row.notOk,
  ]),
);

const lines: string[] = [];
const settings = (row: Row) =>
  `quorum ${row.quorum}, poll ${row.pollIntervalMs} ms, co-sign retry ${row.retryAfterMs} ms`;
for (const row of rows) {
  const extra = added(row);
  if (row.quorum !== 2 || row.retryAfterMs !== DEFAULT_RETRY_AFTER_MS || extra === undefined) continue;
  lines.push(
    `${settings(row)}: adds ${fixed(extra)} ms to the lone request's p50 (target ≤ +${TARGET_ADDED_P50_MS}): ${extra <= TARGET_ADDED_P50_MS ? "met" : "MISSED"}`,
  );
}
for (const row of rows) {
  if (row.notOk > 0 || row.deliveredTwice > 0 || row.daemonWarnings.length > 0)
    lines.push(
      `${settings(row)}: ${row.notOk} not Ok, ${row.deliveredTwice} delivered twice; daemon warnings: ${row.daemonWarnings.join("; ") || "none"}`,
    );
  lines.push(`${settings(row)}, daemon logs: ${row.logs.join(", ")}`);
}
const minutes = (performance.now() - began) / 60_000;
lines.push(`whole run: ${minutes.toFixed(1)} min${QUICK ? " (BENCH_QUICK)" : ""}`);
process.stdout.write(`\n${lines.join("\n")}\n`);
await writeResults("quorum", [
  ...rows,
  {
    target: { quorum2AddedP50Ms: TARGET_ADDED_P50_MS },
    config: { ...NODE_CONFIG, exclusiveWindowSeconds: Number(EXCLUSIVE_WINDOW_SECONDS) },
    quick: QUICK,
    minutes,
  },
]);
