/**
 * Crash anywhere: the daemon is killed with SIGKILL at each step of its pipeline (through its
 * SIBYL_CRASH_AT crash points) with requests in flight, then restarted on the same database. Every
 * request must end answered exactly once, the node's tree must equal the contract's, and no fulfil
 * may be wasted (a reverted fulfil would mean the node sent a batch twice). The soak variant adds
 * kills from outside at random moments.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { type Hex, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { CRASH_POINTS } from "../../src/node/crashPoints.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, OPERATOR_KEY, startDevnet } from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";
import { seededRandom } from "../helpers/random.js";
import { report, type ScenarioReport, type ScenarioSize, sendRequests, settle } from "./harness.js";

const MODEL = { provider: "builtin", name: "language-id", builtin: "language-id" } as const;
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
}

export async function runCrashes(size: ScenarioSize): Promise<CrashCheck[]> {
  const devnet = await startDevnet([MODEL]);
  const config = await devnet.writeConfig({ batching: { maxSize: 16, maxWaitMs: 100 } });
  const checks: CrashCheck[] = [];
  try {
    for (const point of CRASH_POINTS) {
      checks.push(await crashAt(devnet, config, point, size.requests));
    }
    if (size.soak) checks.push(await randomKills(devnet, config, size.requests * 4));
  } finally {
    await devnet.stop();
  }
  return checks;
}

async function crashAt(devnet: Devnet, config: string, point: string, requests: number): Promise<CrashCheck> {
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
    );
  } finally {
    await restarted.stop("SIGTERM");
  }
}

/** Soak: several kills from outside at random moments while a larger load is served. */
async function randomKills(devnet: Devnet, config: string, requests: number): Promise<CrashCheck> {
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
): Promise<CrashCheck> {
  const contractRoot = await devnet.sibyl.coordinator.read.root();
  return {
    report: report(scenario, injected, ids.length, result, Date.now() - started),
    revertedFulfils: await revertedFulfils(devnet, fromBlock),
    nodeRoot: await nodeRootWhenSynced(path.join(devnet.dir, "node.db"), contractRoot),
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

/** The operator's transactions to the coordinator since `fromBlock` that reverted. */
async function revertedFulfils(devnet: Devnet, fromBlock: bigint): Promise<number> {
  const { publicClient, coordinator } = devnet.sibyl;
  const operator = privateKeyToAccount(OPERATOR_KEY).address.toLowerCase();
  const latest = await publicClient.getBlockNumber();
  let reverted = 0;
  for (let block = fromBlock; block <= latest; block++) {
    const { transactions } = await publicClient.getBlock({ blockNumber: block, includeTransactions: true });
    for (const tx of transactions) {
      if (tx.from.toLowerCase() !== operator || tx.to?.toLowerCase() !== coordinator.address.toLowerCase())
        continue;
      const receipt = await publicClient.getTransactionReceipt({ hash: tx.hash });
      if (receipt.status !== "success") reverted++;
    }
  }
  return reverted;
}

/** The node's tree root from its database once it has read up to the contract's root (or after 20 s). */
async function nodeRootWhenSynced(file: string, contractRoot: bigint): Promise<bigint | undefined> {
  const started = Date.now();
  let root: bigint | undefined;
  while (Date.now() - started < 20_000) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare("SELECT tree FROM checkpoints ORDER BY block DESC LIMIT 1").get() as
        | { tree: string }
        | undefined;
      root = row ? BigInt(JSON.parse(row.tree).root) : undefined;
    } finally {
      db.close();
    }
    if (root === contractRoot) return root;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return root;
}
