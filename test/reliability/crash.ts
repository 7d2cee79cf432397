/**
 * Crash anywhere: the daemon is killed with SIGKILL at each step of its pipeline (through its
 * SIBYL_CRASH_AT crash points) with requests in flight, then restarted on the same database. Every
 * request must end answered exactly once, the node's tree must equal the contract's, and no fulfil
 * may be wasted (a reverted fulfil would mean the node sent a batch twice). The soak variant adds
 * kills from outside at random moments.
 */
import path from "node:path";
import { type Hex, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { CRASH_POINTS, type CrashPoint } from "../../src/node/crashPoints.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import {
  type Devnet,
  nodeRootWhenSynced,
  OPERATOR_KEY,
  sendRequests,
  startDevnet,
} from "../helpers/devnet.js";
import { type PostgresCluster, sharedRootWhenSynced } from "../helpers/postgres.js";
import type { ChildRun } from "../helpers/processes.js";
import { seededRandom } from "../helpers/random.js";
import {
  report,
  revertedTransactions,
  type ScenarioReport,
  type ScenarioSize,
  settle,
  waitForProofs,
} from "./harness.js";

const MODEL = { provider: "builtin", name: "language-id", builtin: "language-id" } as const;
const OPERATOR = privateKeyToAccount(OPERATOR_KEY).address.toLowerCase();
const SENTENCES = [
  "The weather is lovely today.",
  "Il fait très beau aujourd'hui.",
  "Das Wetter ist heute schön.",
];

export interface CrashCheck {
  report: ScenarioReport;
  /** Fulfil transactions of the operator that reverted: batches sent twice. */
  revertedFulfils: number;
  nodeRoot: bigint | undefined;
  contractRoot: bigint;
  crashed: boolean;
  /** Results delivered but never proven after the restart. */
  unproven: bigint;
}

/**
 * `postgres`: the node keeps its state in a database of that cluster (one per crash point) instead
 * of SQLite; `points` narrows the crash points (the fast PostgreSQL variant takes a few).
 */
export async function runCrashes(
  size: ScenarioSize,
  options: { postgres?: PostgresCluster; points?: readonly CrashPoint[] } = {},
): Promise<CrashCheck[]> {
  const devnet = await startDevnet([MODEL]);
  const checks: CrashCheck[] = [];
  try {
    for (const point of options.points ?? CRASH_POINTS) {
      const url = options.postgres && (await options.postgres.createDatabase());
      const store = url ? { store: { kind: "postgres" as const, url } } : {};
      // Proofs wait a little, so kills between a delivery and its proof happen; a batch proven
      // before it is sent (fulfil) is this small load's way only when every batch is.
      const config = await devnet.writeConfig(
        point === "during-proving"
          ? { ...store, batching: { maxSize: 16, maxWaitMs: 100 }, proving: { fulfilWithProofFrom: 1 } }
          : { ...store, batching: { maxSize: 16, maxWaitMs: 100 }, proving: { maxWaitMs: 1_000 } },
        `crash-${point}.json`,
      );
      const root = url
        ? (contractRoot: bigint) => sharedRootWhenSynced(url, contractRoot)
        : (contractRoot: bigint) => nodeRootWhenSynced(path.join(devnet.dir, "node.db"), contractRoot);
      checks.push(await crashAt(devnet, config, point, size.requests, root));
    }
    if (size.soak && options.postgres === undefined) {
      const config = await devnet.writeConfig({
        batching: { maxSize: 16, maxWaitMs: 100 },
        proving: { maxWaitMs: 1_000 },
      });
      const root = (contractRoot: bigint) =>
        nodeRootWhenSynced(path.join(devnet.dir, "node.db"), contractRoot);
      checks.push(await randomKills(devnet, config, size.requests * 4, root));
    }
  } finally {
    await devnet.stop();
  }
  return checks;
}

type RootOf = (contractRoot: bigint) => Promise<bigint | undefined>;

async function crashAt(
  devnet: Devnet,
  config: string,
  point: string,
  requests: number,
  root: RootOf,
): Promise<CrashCheck> {
  const started = Date.now();
  const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
  const node = devnet.startNode(config, { SIBYL_CRASH_AT: point });
  await node.waitFor("sibyl node started", 120_000);
  const ids = await sendRequests(devnet, requests, modelIdFromName(MODEL.name), inputOf);
  const crashed = await exitsWithin(node, 60_000);
  const restarted = devnet.startNode(config);
  try {
    await restarted.waitFor("sibyl node started", 120_000);
    const result = await settle(devnet, ids, fromBlock);
    return await check(
      devnet,
      `crash at ${point}`,
      `kill -9 at ${point}, then restart`,
      ids,
      result,
      fromBlock,
      started,
      crashed,
      root,
    );
  } finally {
    await restarted.stop("SIGTERM");
  }
}

/** Soak: several kills from outside at random moments while a larger load is served. */
async function randomKills(
  devnet: Devnet,
  config: string,
  requests: number,
  root: RootOf,
): Promise<CrashCheck> {
  const started = Date.now();
  const random = seededRandom(0x5ba7);
  const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
  let node = devnet.startNode(config);
  await node.waitFor("sibyl node started", 120_000);
  const sending = sendRequests(devnet, requests, modelIdFromName(MODEL.name), inputOf);
  let sent: bigint[] | undefined;
  void sending.then((ids) => {
    sent = ids;
  });
  let kills = 0;
  while (sent === undefined || kills < 5) {
    await new Promise((resolve) => setTimeout(resolve, 500 + Math.floor(random() * 4_000)));
    await node.stop("SIGKILL");
    kills++;
    node = devnet.startNode(config);
    await node.waitFor("sibyl node started", 120_000);
  }
  try {
    const ids = await sending;
    const result = await settle(devnet, ids, fromBlock, 600_000);
    return await check(
      devnet,
      "crash at random times",
      `${kills} kill -9 at random moments`,
      ids,
      result,
      fromBlock,
      started,
      true,
      root,
    );
  } finally {
    await node.stop("SIGTERM");
  }
}

async function check(
  devnet: Devnet,
  scenario: string,
  injected: string,
  ids: bigint[],
  result: Awaited<ReturnType<typeof settle>>,
  fromBlock: bigint,
  started: number,
  crashed: boolean,
  root: RootOf,
): Promise<CrashCheck> {
  const unproven = await waitForProofs(devnet);
  const contractRoot = await devnet.sibyl.log.read.root();
  return {
    unproven,
    report: report(scenario, injected, ids.length, result, Date.now() - started),
    revertedFulfils: (await revertedTransactions(devnet, [OPERATOR], fromBlock)).get(OPERATOR) ?? 0,
    nodeRoot: await root(contractRoot),
    contractRoot,
    crashed,
  };
}

function inputOf(i: number): Hex {
  return stringToHex(`${SENTENCES[i % SENTENCES.length]} (${i})`);
}

async function exitsWithin(node: ChildRun, timeoutMs: number): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), timeoutMs));
  const exited = await Promise.race([node.exited.then((exit) => exit.signal === "SIGKILL"), timeout]);
  if (!exited) await node.stop("SIGKILL");
  return exited;
}
