/**
 * The whole node under load: `hardhat node`, the `sibyl node` daemon with its prover process, and an
 * instant model (the tests' OpenAI-protocol server, which answers at once), so what is measured is the
 * node's own pipeline (listen, batch, prove, submit) and not a model. It reuses the test devnet
 * (test/helpers/devnet.ts), so the benchmark and the process-level tests run the same deployment.
 *
 *   npm run bench:node                  # ~5 minutes on 2 cores
 *   BENCH_QUICK=1 npm run bench:node    # smoke run with small sizes
 *   BENCH_STORES=sqlite npm run bench:node   # SQLite only (default: SQLite, then PostgreSQL if installed)
 *
 * Two mining modes, each on a fresh chain and node: automine (one block per transaction, Hardhat's
 * default) and one-second blocks (evm_setAutomine false, evm_setIntervalMining 1000), closer to a real
 * chain. Per mode, after two warm-up requests (the first proof builds the curve):
 *  - single: sequential requests, each sent once the previous one is delivered, from an EOA with no
 *    callback and through PromptBoard (a consumer contract with a callback);
 *  - burst: N requests signed beforehand and sent from 18 accounts at once, each account in nonce
 *    order; rate = N / (last result seen − first request seen). Send time is reported apart, so a slow
 *    sender shows up as such and not as a slow node.
 *
 * Timing: one watcher polls the chain every 50 ms (eth_blockNumber, then getLogs over the new blocks)
 * and stamps every InferenceRequested and ResultDelivered with the wall time it first sees it. A
 * latency is delivered-seen minus requested-seen: both ends carry the same polling delay (0–50 ms plus
 * one getLogs), so it mostly cancels, where block timestamps would round to whole seconds.
 * Memory and CPU from /proc for the daemon and its descendants (the prover): VmRSS sampled every
 * 200 ms (peak per scenario), utime+stime before and after each scenario. The chain, the daemon and
 * the prover share the cores, so the JSON also has the chain's CPU, and every row the share of the
 * machine other processes took: on a shared host they slow the proofs.
 * Prints one table, the targets and where a single request's time goes; writes bench/results/node.json.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  type PublicClient,
  parseEventLogs,
  toHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { ModelSpecInput } from "../src/node/models/registry.js";
import { estimateFee } from "../src/sdk/estimateFee.js";
import { quoteGasPrice } from "../src/sdk/quoteGasPrice.js";
import { sibylCoordinatorAbi } from "../src/shared/abi/generated.js";
import { modelIdFromName } from "../src/shared/encoding.js";
import { type Devnet, hardhatKey, startDevnet } from "../test/helpers/devnet.js";
import { FakeOpenAIServer } from "../test/helpers/openaiServer.js";
import { findPostgres, PostgresCluster } from "../test/helpers/postgres.js";
import type { ChildRun } from "../test/helpers/processes.js";
import { ChainWatcher, percentile, WATCH_POLL_MS } from "./lib/chainWatcher.js";
import { printTable, writeResults } from "./lib/report.js";

type Mode = "automine" | "1s blocks";
type StoreKind = "sqlite" | "postgres";

const QUICK = process.env.BENCH_QUICK === "1";
const SIZES = QUICK
  ? { singles: { automine: 5, "1s blocks": 3 }, consumerSingles: 2, bursts: [20, 50] }
  : { singles: { automine: 20, "1s blocks": 10 }, consumerSingles: 5, bursts: [100, 1000] };
/** Issue 12's targets: a lone request delivered at once, bursts no slower than before, p95 halved. */
const TARGETS = {
  singleP50Ms: { automine: 500, "1s blocks": 1_500 },
  requestsPerSecond: 17.9,
  burstP95Ms: 26_500,
  rssBytes: 400e6,
};
/** The node's defaults for batching and proving (the test devnet proves sooner), more model calls. */
const NODE_CONFIG = {
  batching: { maxSize: 64, maxWaitMs: 50 },
  proving: { maxWaitMs: 30_000 },
  execution: { concurrency: 32 },
};
const MODEL = "instant";
const MODEL_ID = modelIdFromName(MODEL);
const CONSUMER_CALLBACK_GAS = 300_000;
/** Hardhat's accounts 0 (owner) and 1 (operator, whose nonce is the node's) never send requests. */
const SENDERS = Array.from({ length: 18 }, (_, i) => privateKeyToAccount(hardhatKey(i + 2)));
/** Where unused escrow goes; the bench never withdraws it. */
const REFUND_TO = privateKeyToAccount(hardhatKey(1)).address;
const SAMPLE_MS = 200;
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
const MiB = 1024 * 1024;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resident memory and CPU time from /proc of the daemon, the prover it forks, and the chain. Any other
 * process under the daemon counts towards whichever of the two started it.
 */
class ProcessSampler {
  #peak = { node: 0, prover: 0, combined: 0 };
  #cpuAtStart = { node: 0, prover: 0, chain: 0, bench: 0, machine: 0 };
  #startedAt = 0;
  /** Every process the daemon started, with its command line, so one left behind can be stopped. */
  readonly descendants = new Map<number, string>();
  readonly #proverPids = new Set<number>();
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly nodePid: number,
    private readonly chainPid: number,
  ) {
    this.#timer = setInterval(() => this.#sample(), SAMPLE_MS);
  }

  /** Starts a scenario: peaks from now on, CPU counted from now. */
  begin(): void {
    this.#peak = { node: 0, prover: 0, combined: 0 };
    this.#sample();
    this.#cpuAtStart = this.#cpuTicks();
    this.#startedAt = Date.now();
  }

  /**
   * Peak RSS (MiB) and CPU milliseconds since begin(), and the share of the machine that processes
   * other than ours (chain, daemon, prover, this benchmark) took meanwhile: they slow the proofs.
   */
  end() {
    this.#sample();
    const ticks = this.#cpuTicks();
    const ms = (key: keyof typeof ticks) => ((ticks[key] - this.#cpuAtStart[key]) * 1000) / CLOCK_TICKS;
    const ours = ms("node") + ms("prover") + ms("chain") + ms("bench");
    const capacityMs = (Date.now() - this.#startedAt) * os.availableParallelism();
    return {
      peakRssMiB: {
        node: this.#peak.node / MiB,
        prover: this.#peak.prover / MiB,
        combined: this.#peak.combined / MiB,
      },
      cpuMs: { node: ms("node"), prover: ms("prover"), chain: ms("chain"), bench: ms("bench") },
      otherLoadPercent: capacityMs > 0 ? (100 * Math.max(0, ms("machine") - ours)) / capacityMs : 0,
    };
  }

  /** The kernel's own peak (VmHWM) over each process's lifetime, in MiB. */
  lifetimePeakMiB() {
    const { node, prover } = this.#split((pid) => statusBytes(pid, "VmHWM"));
    return { node: node / MiB, prover: prover / MiB };
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #sample(): void {
    for (const { pid, parent } of descendants(this.nodePid)) {
      if (this.descendants.has(pid)) continue;
      const command = commandLine(pid);
      this.descendants.set(pid, command);
      if (command.includes("proverProcess") || this.#proverPids.has(parent)) this.#proverPids.add(pid);
    }
    const { node, prover } = this.#split((pid) => statusBytes(pid, "VmRSS"));
    this.#peak = {
      node: Math.max(this.#peak.node, node),
      prover: Math.max(this.#peak.prover, prover),
      combined: Math.max(this.#peak.combined, node + prover),
    };
  }

  /** `measure` summed over the prover's processes and over the daemon with its other descendants. */
  #split(measure: (pid: number) => number): { node: number; prover: number } {
    let node = measure(this.nodePid);
    let prover = 0;
    for (const pid of this.descendants.keys()) {
      if (this.#proverPids.has(pid)) prover += measure(pid);
      else node += measure(pid);
    }
    return { node, prover };
  }

  #cpuTicks() {
    return {
      ...this.#split(cpuTicksOf),
      chain: cpuTicksOf(this.chainPid),
      bench: cpuTicksOf(process.pid),
      machine: machineBusyTicks(),
    };
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}

/** Busy time of the whole machine (every core) in clock ticks, from the first line of /proc/stat. */
function machineBusyTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** Every process under `pid`, each listed before its own children. */
function descendants(pid: number): Array<{ pid: number; parent: number }> {
  const children: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      if (text) children.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    return [];
  }
  return children.flatMap((child) => [{ pid: child, parent: pid }, ...descendants(child)]);
}

/** A `VmRSS:`/`VmHWM:` line of /proc/<pid>/status in bytes; 0 once the process is gone. */
function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(
      new RegExp(`^${field}:\\s+(\\d+) kB`, "m"),
    );
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** utime + stime of /proc/<pid>/stat (fields 14 and 15, counted after the parenthesised name). */
function cpuTicksOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

interface BatchLog {
  msg?: string;
  level?: number;
  time?: number;
  results?: number;
  proveMs?: number;
}

/** What the node logged since `offset`: its batches, and any warning or error. */
function nodeLogSince(node: ChildRun, offset: number) {
  const lines = node.text
    .slice(offset)
    .split("\n")
    .flatMap((line): BatchLog[] => {
      try {
        return [JSON.parse(line) as BatchLog];
      } catch {
        return [];
      }
    });
  // Proofs made before sending (a fulfil) or after (delivered results); transactions that delivered.
  const proved = lines.filter((line) => line.msg === "batch proved" || line.msg === "pending results proved");
  const sent = lines.filter((line) => line.msg === "batch delivered" || line.msg === "batch fulfilled");
  const problems = lines.filter((line) => (line.level ?? 0) >= 40).map((line) => line.msg ?? "?");
  const sum = (entries: BatchLog[], key: "results" | "proveMs") =>
    entries.reduce((total, line) => total + (line[key] ?? 0), 0);
  return {
    proved: lines.filter((line) => line.msg === "batch proved"),
    batches: sent.length,
    meanBatch: sent.length ? sum(sent, "results") / sent.length : 0,
    meanProveMs: proved.length ? sum(proved, "proveMs") / proved.length : 0,
    problems: [...new Set(problems)],
  };
}

interface Row {
  mode: Mode;
  store?: StoreKind;
  scenario: string;
  requests: number;
  p50Ms: number;
  p95Ms: number;
  requestsPerSecond?: number;
  sendSeconds?: number;
  peakRssMiB: { node: number; prover: number; combined: number };
  cpuMsPerRequest: { node: number; prover: number; total: number; chain: number; bench: number };
  /** CPU taken by processes outside this benchmark, in % of the machine (other jobs on a shared host). */
  otherLoadPercent: number;
  /** Singles: median ms from request seen to proof start, proving, and proof end to result seen. */
  phasesMs?: { toProofStart: number; prove: number; proofToSeen: number };
  batches: number;
  meanBatch: number;
  meanProveMs: number;
  notOk: number;
  nodeProblems: string[];
}

interface Bench {
  mode: Mode;
  devnet: Devnet;
  client: PublicClient;
  node: ChildRun;
  watcher: ChainWatcher;
  sampler: ProcessSampler;
  sendConsumerRequest: (question: string) => Promise<Hex>;
}

/** Runs `scenario`, and builds its row from the watcher's stamps, /proc and the node's log. */
async function measure(
  bench: Bench,
  scenario: string,
  run: () => Promise<{ ids: bigint[]; sendSeconds?: number }>,
): Promise<Row> {
  process.stderr.write(`${bench.mode}: ${scenario}…\n`);
  const logOffset = bench.node.text.length;
  bench.sampler.begin();
  const { ids, sendSeconds } = await run();
  const usage = bench.sampler.end();
  const log = nodeLogSince(bench.node, logOffset);
  const { watcher } = bench;
  const latencies = watcher.latencies(ids);
  const perRequest = (ms: number) => ms / ids.length;
  const row: Row = {
    mode: bench.mode,
    scenario,
    requests: ids.length,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    peakRssMiB: usage.peakRssMiB,
    cpuMsPerRequest: {
      node: perRequest(usage.cpuMs.node),
      prover: perRequest(usage.cpuMs.prover),
      total: perRequest(usage.cpuMs.node + usage.cpuMs.prover),
      chain: perRequest(usage.cpuMs.chain),
      bench: perRequest(usage.cpuMs.bench),
    },
    otherLoadPercent: usage.otherLoadPercent,
    batches: log.batches,
    meanBatch: log.meanBatch,
    meanProveMs: log.meanProveMs,
    notOk: ids.filter((id) => watcher.notOk.has(id)).length,
    nodeProblems: log.problems,
  };
  if (sendSeconds !== undefined) {
    const first = Math.min(...ids.map((id) => watcher.requestedAt.get(id) as number));
    const last = Math.max(...ids.map((id) => watcher.deliveredAt.get(id) as number));
    row.requestsPerSecond = (ids.length * 1000) / (last - first);
    row.sendSeconds = sendSeconds;
  } else {
    row.phasesMs = singlePhases(ids, watcher, log.proved);
  }
  return row;
}

/** Where a single request's time goes, from the node's "batch proved" lines (one batch each). */
function singlePhases(ids: readonly bigint[], watcher: ChainWatcher, proved: BatchLog[]) {
  const phases = ids.flatMap((id) => {
    const requested = watcher.requestedAt.get(id) as number;
    const delivered = watcher.deliveredAt.get(id) as number;
    const batch = proved.find((line) => (line.time ?? 0) > requested && (line.time ?? 0) < delivered);
    if (batch?.time === undefined || batch.proveMs === undefined) return [];
    return [
      { start: batch.time - batch.proveMs - requested, prove: batch.proveMs, end: delivered - batch.time },
    ];
  });
  if (phases.length === 0) return undefined;
  const median = (values: number[]) => percentile(values, 50);
  return {
    toProofStart: median(phases.map((phase) => phase.start)),
    prove: median(phases.map((phase) => phase.prove)),
    proofToSeen: median(phases.map((phase) => phase.end)),
  };
}

/** Signs `count` requests (no callback) spread over the sender accounts, each list in nonce order. */
async function signRequests(client: PublicClient, coordinator: Hex, count: number, tag: string) {
  // Twice the SDK's quote: the base fee climbs while a burst fills blocks, and whatever the delivery
  // does not cost is credited back. The tip is the one the node bids, so requests do not outbid the
  // node's fulfilments.
  const value = 2n * (await estimateFee(client, { coordinator, model: MODEL_ID }));
  const fees = await client.estimateFeesPerGas();
  const data = (i: number) =>
    encodeFunctionData({
      abi: sibylCoordinatorAbi,
      functionName: "request",
      args: [MODEL_ID, toHex(`${tag} question ${String(i).padStart(5, "0")}`), 0, REFUND_TO],
    });
  const gasEstimate = await client.estimateGas({
    account: SENDERS[0]?.address,
    to: coordinator,
    data: data(0),
    value,
  });
  const senders = SENDERS.slice(0, Math.min(SENDERS.length, count));
  return Promise.all(
    senders.map(async (account, s) => {
      let nonce = await client.getTransactionCount({ address: account.address, blockTag: "pending" });
      const signed: Hex[] = [];
      for (let i = s; i < count; i += senders.length) {
        signed.push(
          await account.signTransaction({
            type: "eip1559",
            chainId: hardhat.id,
            to: coordinator,
            data: data(i),
            value,
            gas: (gasEstimate * 3n) / 2n,
            nonce: nonce++,
            maxFeePerGas: 4n * fees.maxFeePerGas,
            maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
          }),
        );
      }
      return signed;
    }),
  );
}

function requestIdsIn(logs: Parameters<typeof parseEventLogs>[0]["logs"]): bigint[] {
  return parseEventLogs({ abi: sibylCoordinatorAbi, logs, eventName: "InferenceRequested" }).map(
    (event) => event.args.requestId,
  );
}

/** One request at a time, each sent once the previous result is delivered. */
function singles(bench: Bench, scenario: string, count: number, viaConsumer: boolean): Promise<Row> {
  const coordinator = bench.devnet.sibyl.coordinator.address;
  const sendOne = async (i: number): Promise<bigint> => {
    const hash = viaConsumer
      ? await bench.sendConsumerRequest(`consumer question ${i}`)
      : await bench.client.sendRawTransaction({
          serializedTransaction: (
            await signRequests(bench.client, coordinator, 1, `single ${i}`)
          )[0]?.[0] as Hex,
        });
    const receipt = await bench.client.waitForTransactionReceipt({ hash, pollingInterval: WATCH_POLL_MS });
    const [id] = requestIdsIn(receipt.logs);
    if (receipt.status !== "success" || id === undefined) throw new Error(`request ${hash} failed`);
    await bench.watcher.delivered([id], 60_000, [bench.node]);
    return id;
  };
  return measure(bench, scenario, async () => {
    const ids: bigint[] = [];
    for (let i = 0; i < count; i++) ids.push(await sendOne(i));
    return { ids };
  });
}

/** `count` requests signed beforehand and sent as fast as the chain takes them. */
async function burst(bench: Bench, count: number): Promise<Row> {
  const coordinator = bench.devnet.sibyl.coordinator.address;
  const signed = await signRequests(bench.client, coordinator, count, `burst ${count}`);
  const firstId = await bench.devnet.sibyl.coordinator.read.nextRequestId();
  const ids = Array.from({ length: count }, (_, i) => firstId + BigInt(i));
  return measure(bench, `burst ${count}`, async () => {
    const started = performance.now();
    await Promise.all(
      signed.map(async (transactions) => {
        for (const serializedTransaction of transactions)
          await bench.client.sendRawTransaction({ serializedTransaction });
      }),
    );
    const sendSeconds = (performance.now() - started) / 1000;
    await bench.watcher.delivered(ids, 120_000 + count * 500, [bench.node]);
    return { ids, sendSeconds };
  });
}

async function stopNode(node: ChildRun): Promise<void> {
  const stopped = node.stop("SIGTERM");
  const timedOut = await Promise.race([stopped.then(() => false), sleep(30_000).then(() => true)]);
  if (timedOut) {
    process.stderr.write(`the node ignored SIGTERM for 30 s; killing it:\n${node.tail()}\n`);
    await node.stop("SIGKILL");
  }
}

/** `postgresUrl`: the node keeps its state in that database instead of SQLite. */
async function runMode(
  mode: Mode,
  modelUrl: string,
  postgresUrl?: string,
): Promise<{ rows: Row[]; lifetime: object }> {
  const models: ModelSpecInput[] = [
    { provider: "openai", name: MODEL, model: "instant-1", baseURL: modelUrl },
  ];
  const devnet = await startDevnet(models);
  let node: ChildRun | undefined;
  let watcher: ChainWatcher | undefined;
  let sampler: ProcessSampler | undefined;
  try {
    const coordinator = devnet.sibyl.coordinator.address;
    const transport = http(devnet.chain.url, { timeout: 60_000 });
    const client = createPublicClient({ chain: hardhat, transport, pollingInterval: WATCH_POLL_MS });
    // Deployed while every transaction still mines at once; the mining mode changes after.
    const board = await devnet.connection.viem.deployContract("PromptBoard", [
      devnet.sibyl.log.address,
      MODEL_ID,
      CONSUMER_CALLBACK_GAS,
    ]);
    if (mode === "1s blocks") {
      const testClient = createTestClient({ mode: "hardhat", chain: hardhat, transport });
      await testClient.setAutomine(false);
      await testClient.setIntervalMining({ interval: 1 });
    }
    const asker = createWalletClient({
      account: privateKeyToAccount(hardhatKey(19)),
      chain: hardhat,
      transport,
    });
    const config = await devnet.writeConfig({
      chain: { rpcUrl: devnet.chain.url, coordinator, pollIntervalMs: 100 },
      ...NODE_CONFIG,
      ...(postgresUrl ? { store: { kind: "postgres" as const, url: postgresUrl } } : {}),
    });
    node = devnet.startNode(config);
    await node.waitFor("sibyl node started", 120_000);
    const nodePid = node.child.pid;
    const chainPid = devnet.chain.run.child.pid;
    if (nodePid === undefined || chainPid === undefined) throw new Error("no pid for the node or the chain");
    watcher = new ChainWatcher(client, coordinator, (await client.getBlockNumber()) + 1n);
    sampler = new ProcessSampler(nodePid, chainPid);
    const bench: Bench = {
      mode,
      devnet,
      client,
      node,
      watcher,
      sampler,
      sendConsumerRequest: async (question) =>
        asker.writeContract({
          address: board.address,
          abi: board.abi,
          functionName: "ask",
          args: [question],
          value: 2n * (await board.read.askFee([await quoteGasPrice(client)])),
        }),
    };
    await singles(bench, "warm-up", 2, false);
    const rows = [
      await singles(bench, "single (EOA)", SIZES.singles[mode], false),
      await singles(bench, "single (PromptBoard)", SIZES.consumerSingles, true),
    ];
    for (const count of SIZES.bursts) rows.push(await burst(bench, count));
    const store: StoreKind = postgresUrl ? "postgres" : "sqlite";
    return {
      rows: rows.map((row) => ({ ...row, store })),
      lifetime: { mode, store, vmHwmMiB: sampler.lifetimePeakMiB() },
    };
  } finally {
    await watcher?.stop();
    sampler?.stop();
    if (node) {
      await stopNode(node);
      const logFile = path.join(devnet.dir, "node.log");
      await writeFile(logFile, node.text);
      process.stderr.write(`${mode}: the node's log is in ${logFile}\n`);
    }
    // A prover left behind by a killed daemon would hold its memory until this process exits.
    for (const [pid, command] of sampler?.descendants ?? []) {
      if (command !== "" && commandLine(pid) === command) process.kill(pid, "SIGKILL");
    }
    await devnet.stop();
  }
}

const began = performance.now();
const { url: modelUrl, close: closeModel } = await new FakeOpenAIServer().start();
const rows: Row[] = [];
const lifetimes: object[] = [];
const stores = (process.env.BENCH_STORES ?? "sqlite,postgres").split(",") as StoreKind[];
const postgres = findPostgres();
const cluster =
  stores.includes("postgres") && !("missing" in postgres) ? await PostgresCluster.start(postgres) : undefined;
if (stores.includes("postgres") && cluster === undefined)
  process.stderr.write(`postgres: skipped (${"missing" in postgres ? postgres.missing : ""})\n`);
try {
  for (const store of stores) {
    if (store === "postgres" && cluster === undefined) continue;
    for (const mode of ["automine", "1s blocks"] as const) {
      const result = await runMode(
        mode,
        modelUrl,
        store === "postgres" ? await cluster?.createDatabase() : undefined,
      );
      rows.push(...result.rows);
      lifetimes.push(result.lifetime);
    }
  }
} finally {
  await closeModel();
  await cluster?.stop();
}

const fixed = (value: number | undefined, digits = 0) => (value === undefined ? "" : value.toFixed(digits));
printTable(
  [
    "store",
    "mode",
    "scenario",
    "requests",
    "p50 ms",
    "p95 ms",
    "req/s",
    "send s",
    "peak RSS MiB node / prover / both",
    "CPU ms/request node+prover",
    "batches (mean size)",
    "other load %",
  ],
  rows.map((row) => [
    row.store ?? "sqlite",
    row.mode,
    row.scenario,
    row.requests,
    fixed(row.p50Ms),
    fixed(row.p95Ms),
    fixed(row.requestsPerSecond, 1),
    fixed(row.sendSeconds, 1),
    `${fixed(row.peakRssMiB.node)} / ${fixed(row.peakRssMiB.prover)} / ${fixed(row.peakRssMiB.combined)}`,
    fixed(row.cpuMsPerRequest.total),
    `${row.batches} (${fixed(row.meanBatch, 1)})`,
    fixed(row.otherLoadPercent),
  ]),
);

const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
const lines: string[] = [];
for (const mode of ["automine", "1s blocks"] as const) {
  const ofMode = rows.filter((row) => row.mode === mode && row.store !== "postgres");
  const sustained = (store: StoreKind) =>
    rows
      .filter((row) => row.mode === mode && row.store === store && row.requestsPerSecond !== undefined)
      .at(-1);
  const [onSqlite, onPostgres] = [sustained("sqlite"), sustained("postgres")];
  if (onSqlite?.requestsPerSecond && onPostgres?.requestsPerSecond) {
    const share = onPostgres.requestsPerSecond / onSqlite.requestsPerSecond;
    lines.push(
      `${mode}: PostgreSQL sustains ${fixed(onPostgres.requestsPerSecond, 1)} req/s (p50 ${fixed(onPostgres.p50Ms)} ms), ${fixed(share * 100)}% of SQLite's ${fixed(onSqlite.requestsPerSecond, 1)} (p50 ${fixed(onSqlite.p50Ms)} ms; target ≥ 80%): ${verdict(share >= 0.8)}`,
    );
  }
  const single = ofMode.find((row) => row.scenario === "single (EOA)");
  const largest = ofMode.filter((row) => row.requestsPerSecond !== undefined).at(-1);
  const peakMiB = Math.max(...ofMode.map((row) => row.peakRssMiB.combined));
  if (single)
    lines.push(
      `${mode}: single-request p50 ${fixed(single.p50Ms)} ms (target ≤ ${TARGETS.singleP50Ms[mode]}): ${verdict(single.p50Ms <= TARGETS.singleP50Ms[mode])}`,
    );
  if (largest?.requestsPerSecond !== undefined) {
    lines.push(
      `${mode}: sustained ${fixed(largest.requestsPerSecond, 1)} req/s over ${largest.requests} (target ≥ ${TARGETS.requestsPerSecond}): ${verdict(largest.requestsPerSecond >= TARGETS.requestsPerSecond)}`,
    );
    if (largest.requests >= 1000)
      lines.push(
        `${mode}: burst of ${largest.requests} p95 ${fixed(largest.p95Ms)} ms (target ≤ ${TARGETS.burstP95Ms}): ${verdict(largest.p95Ms <= TARGETS.burstP95Ms)}`,
      );
  }
  lines.push(
    `${mode}: peak RSS node + prover ${fixed((peakMiB * MiB) / 1e6)} MB (target ≤ ${TARGETS.rssBytes / 1e6} MB): ${verdict(peakMiB * MiB <= TARGETS.rssBytes)}`,
  );
}
for (const row of rows) {
  if (row.phasesMs === undefined) continue;
  const { toProofStart, prove, proofToSeen } = row.phasesMs;
  lines.push(
    `${row.mode} ${row.scenario}, median ms: request seen → proof start ${fixed(toProofStart)}, proving ${fixed(prove)}, proof → result seen ${fixed(proofToSeen)}`,
  );
}
const problems = rows.filter((row) => row.notOk > 0 || row.nodeProblems.length > 0);
for (const row of problems)
  lines.push(
    `${row.mode} ${row.scenario}: ${row.notOk} results not Ok; node warnings: ${row.nodeProblems.join(", ") || "none"}`,
  );
const minutes = (performance.now() - began) / 60_000;
lines.push(`whole run: ${minutes.toFixed(1)} min${QUICK ? " (BENCH_QUICK)" : ""}`);
process.stdout.write(`\n${lines.join("\n")}\n`);
await writeResults("node", [
  ...rows,
  ...lifetimes,
  { config: NODE_CONFIG, quick: QUICK, clockTicks: CLOCK_TICKS, minutes },
]);
