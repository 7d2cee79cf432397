/**
 * Failover: two replicas of one operator (same key) share one PostgreSQL database. The leader is
 * killed with SIGKILL at a step of its pipeline (its SIBYL_CRASH_AT crash point) with requests in
 * flight, or cut off from the database while it still reaches the chain; the standby must take over
 * and finish: every request answered exactly once, no fulfil sent twice (none reverted), every
 * delivered result proven, the shared tree equal to the contract's root. Also: both replicas started
 * at once (one leads), and the time from the kill to the standby leading, for the takeover figures.
 */
import { connect, createServer, type Socket } from "node:net";
import { type Hex, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { CrashPoint } from "../../src/node/crashPoints.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, OPERATOR_KEY, sendRequests, startDevnet } from "../helpers/devnet.js";
import { type PostgresCluster, sharedRootWhenSynced } from "../helpers/postgres.js";
import type { ChildRun } from "../helpers/processes.js";
import { report, revertedTransactions, type ScenarioReport, settle, waitForProofs } from "./harness.js";

const MODEL = { provider: "builtin", name: "language-id", builtin: "language-id" } as const;
const OPERATOR = privateKeyToAccount(OPERATOR_KEY).address.toLowerCase();
/** Short, so the tests stay short; the default is 5 s. */
const LEASE_MS = 2_000;

export interface FailoverCheck {
  report: ScenarioReport;
  /** The killed (or cut-off) leader really stopped; the other replica then led. */
  leaderStopped: boolean;
  tookOver: boolean;
  /** From the kill (or the cut) to the standby's "leading" line, ms. */
  takeoverMs: number;
  /** The standby's /readyz and sibyl_leader before and after it took over (failover() only). */
  roles: string[];
  revertedFulfils: number;
  unproven: bigint;
  nodeRoot: bigint | undefined;
  contractRoot: bigint;
}

export interface Replicas {
  devnet: Devnet;
  config(name: string, url: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startReplicas(): Promise<Replicas> {
  const devnet = await startDevnet([MODEL]);
  return {
    devnet,
    config: (name, url) =>
      devnet.writeConfig(
        {
          store: { kind: "postgres", url, leaseMs: LEASE_MS },
          batching: { maxSize: 16, maxWaitMs: 100 },
          proving: { maxWaitMs: 1_000 },
        },
        `${name}.json`,
      ),
    stop: () => devnet.stop(),
  };
}

/** The leader (started first, alone) dies at `point`; the standby started after it finishes. */
export async function killLeaderAt(
  replicas: Replicas,
  cluster: PostgresCluster,
  point: CrashPoint,
  requests: number,
): Promise<FailoverCheck> {
  const { devnet } = replicas;
  const started = Date.now();
  const url = await cluster.createDatabase();
  const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
  const leader = devnet.startNode(await replicas.config("leader", url), { SIBYL_CRASH_AT: point });
  await leader.waitFor('"msg":"leading"', 120_000);
  const standby = devnet.startNode(await replicas.config("standby", url));
  try {
    await standby.waitFor("standby: waiting for the lead", 120_000);
    const ids = await sendRequests(devnet, requests, modelIdFromName(MODEL.name), inputOf);
    const exit = await leader.exited;
    const killedAt = Date.now();
    await standby.waitFor('"msg":"leading"', 60_000);
    const takeoverMs = Date.now() - killedAt;
    const result = await settle(devnet, ids, fromBlock);
    return await check(devnet, url, {
      scenario: `failover at ${point}`,
      injected: `leader kill -9 at ${point}, standby takes over`,
      ids,
      result,
      fromBlock,
      started,
      leaderStopped: exit.signal === "SIGKILL",
      takeoverMs,
      roles: [],
    });
  } finally {
    await standby.stop("SIGTERM");
    await leader.stop("SIGKILL");
  }
}

/**
 * Both replicas start at once (one leads), requests arrive, and the leader is killed from outside
 * (`cut`: "kill") or its database connection is cut while it still reaches the chain ("database").
 */
export async function failover(
  replicas: Replicas,
  cluster: PostgresCluster,
  cut: "kill" | "database",
  requests: number,
): Promise<FailoverCheck> {
  const { devnet } = replicas;
  const started = Date.now();
  const url = await cluster.createDatabase();
  // Each replica reaches the database through its own proxy, so one can be cut off alone.
  const proxies = await Promise.all([startTcpProxy(cluster.port), startTcpProxy(cluster.port)]);
  const urls = proxies.map((proxy) => url.replace(`:${cluster.port}/`, `:${proxy.port}/`));
  const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
  const runs = [
    devnet.startNode(await replicas.config("replica-a", urls[0] as string)),
    devnet.startNode(await replicas.config("replica-b", urls[1] as string)),
  ];
  try {
    await Promise.all(runs.map((run) => run.waitFor("sibyl node started", 120_000)));
    const leading = await until(() => runs.findIndex((run) => run.text.includes('"msg":"leading"')));
    const leader = runs[leading] as ChildRun;
    const standby = runs[1 - leading] as ChildRun;
    const bothLed = runs.every((run) => run.text.includes('"msg":"leading"'));
    const roles = [await roleOf(standby)];
    const ids = await sendRequests(devnet, requests, modelIdFromName(MODEL.name), inputOf);
    // In flight: some answered, not all delivered.
    await leader.waitFor(/"msg":"batch (delivered|fulfilled)"/, 60_000);
    const cutAt = Date.now();
    if (cut === "kill") await leader.stop("SIGKILL");
    else await (proxies[leading] as TcpProxy).blackhole();
    await standby.waitFor('"msg":"leading"', 60_000);
    const takeoverMs = Date.now() - cutAt;
    roles.push(await roleOf(standby));
    // Cut off from the database, the leader must stand down within its lease (before the takeover).
    const leaderStopped =
      cut === "kill" || leader.text.includes('"msg":"standing down: no longer the leader"');
    const result = await settle(devnet, ids, fromBlock);
    return await check(devnet, url, {
      scenario: cut === "kill" ? "failover: leader killed" : "failover: leader loses its database",
      injected:
        cut === "kill"
          ? "2 replicas started at once; kill -9 of the leader mid-load"
          : "2 replicas started at once; the leader's database connection black-holed mid-load",
      ids,
      result,
      fromBlock,
      started,
      leaderStopped: leaderStopped && !bothLed,
      takeoverMs,
      roles,
    });
  } finally {
    for (const run of runs) await run.stop("SIGKILL");
    for (const proxy of proxies) await proxy.close();
  }
}

async function check(
  devnet: Devnet,
  url: string,
  run: {
    scenario: string;
    injected: string;
    ids: bigint[];
    result: Awaited<ReturnType<typeof settle>>;
    fromBlock: bigint;
    started: number;
    leaderStopped: boolean;
    takeoverMs: number;
    roles: string[];
  },
): Promise<FailoverCheck> {
  const unproven = await waitForProofs(devnet);
  const contractRoot = await devnet.sibyl.log.read.root();
  return {
    report: report(run.scenario, run.injected, run.ids.length, run.result, Date.now() - run.started),
    leaderStopped: run.leaderStopped,
    tookOver: true,
    takeoverMs: run.takeoverMs,
    roles: run.roles,
    revertedFulfils: (await revertedTransactions(devnet, [OPERATOR], run.fromBlock)).get(OPERATOR) ?? 0,
    unproven,
    nodeRoot: await sharedRootWhenSynced(url, contractRoot),
    contractRoot,
  };
}

const SENTENCES = [
  "The weather is lovely today.",
  "Il fait très beau aujourd'hui.",
  "Das Wetter ist heute schön.",
];

function inputOf(i: number): Hex {
  return stringToHex(`${SENTENCES[i % SENTENCES.length]} (failover ${i})`);
}

/** "<readyz status> <role> leader=<sibyl_leader>" from a replica's API (its URL is in its start line). */
async function roleOf(replica: ChildRun): Promise<string> {
  const api = /"api":"([^"]+)"/.exec(replica.text)?.[1];
  if (api === undefined) return "no api";
  const ready = await fetch(`${api}/readyz`);
  const { role } = (await ready.json()) as { role?: string };
  const leader = /^sibyl_leader (\d)/m.exec(await (await fetch(`${api}/metrics`)).text())?.[1];
  return `${ready.status} ${role} leader=${leader}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(find: () => number, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const found = find();
    if (found >= 0) return found;
    if (Date.now() - started > timeoutMs) throw new Error("no replica leads");
    await sleep(50);
  }
}

/**
 * A TCP proxy in front of the database; `blackhole()` stops forwarding both ways without closing
 * anything, as a dead network does (no RST, no FIN: only timeouts notice).
 */
interface TcpProxy {
  port: number;
  blackhole(): Promise<void>;
  close(): Promise<void>;
}

async function startTcpProxy(target: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let dead = false;
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    }
    client.on("data", (chunk) => {
      if (!dead) upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      if (!dead) client.write(chunk);
    });
    // A killed process's socket closes: so does its connection to the server.
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return {
    port: address.port,
    async blackhole() {
      dead = true;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
