/**
 * Faults of the chain under a running daemon: its RPC goes away and comes back (through a proxy, so the
 * chain keeps its state), a reorg deeper than its confirmation setting replaces answered requests with
 * other requests under the same ids, and a fulfil sits in the mempool until the node replaces it with
 * higher fees. Answers are counted from the final chain's events; inputs are sentences in different
 * languages, so the built-in language identifier's answer shows which input it was computed from.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { type Hex, hexToString, stringToHex, toHex } from "viem";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, hardhatKey, sendRequests, startDevnet } from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";
import { type OutageMode, RpcProxy } from "../helpers/rpcProxy.js";
import { quoteEscrow, stakeOperator } from "../helpers/sibyl.js";
import { until } from "../helpers/wait.js";
import { report, type ScenarioReport, type ScenarioSize, settle, tally } from "./harness.js";

export const LANGUAGE_ID = { provider: "builtin", name: "language-id", builtin: "language-id" } as const;
const MODEL_ID = modelIdFromName(LANGUAGE_ID.name);

/** Sentences by the language code the built-in identifier answers for them. */
const SENTENCES = {
  en: "The weather is lovely today and we are going for a walk.",
  fr: "Il fait très beau aujourd'hui et nous allons nous promener.",
  de: "Das Wetter ist heute schön und wir gehen spazieren.",
  es: "Hoy hace muy buen tiempo y vamos a dar un paseo.",
} as const;

type Language = keyof typeof SENTENCES;

export function sentence(language: Language, i: number): Hex {
  return stringToHex(`${SENTENCES[language]} (${i})`);
}

/** The language an input was written in, by its sentence. */
function languageOf(input: Hex): Language | undefined {
  const text = hexToString(input);
  return (Object.keys(SENTENCES) as Language[]).find((language) => text.startsWith(SENTENCES[language]));
}

/** What every scenario here returns besides its report. */
export interface DaemonCheck {
  report: ScenarioReport;
  /** The daemon's process was still running at the end (and, for outages, after each one). */
  survived: boolean;
  /** Where the daemon's whole log is written when it stops. */
  log: string;
}

export interface RpcOutageCheck extends DaemonCheck {
  /** Error lines the daemon logged while its RPC was down. */
  errorsDuringOutage: number;
}

export interface ReorgCheck extends DaemonCheck {
  /** Blocks the losing fork had past the common ancestor. */
  depth: number;
  /** How many of the losing fork's requests the node answered before the reorg. */
  answeredOnLosingFork: number;
  reorgLogged: boolean;
  /** Deliveries on the final chain whose output is not the language of that request's input. */
  wrongAnswers: string[];
}

export interface StuckTransactionCheck extends DaemonCheck {
  /** Replacements the daemon logged for the stuck nonce. */
  replacements: number;
  /** Transactions of the stuck nonce that have a receipt: exactly one may. */
  minedForNonce: number;
  minedIsReplacement: boolean;
  firstMaxFeePerGas: bigint;
  minedMaxFeePerGas: bigint | undefined;
  sameNonce: boolean;
}

/**
 * Scenarios that share a devnet give each daemon its own operator, so a nonce one of them leaves behind
 * (a reorg can) never meets another's transactions.
 */
const OPERATOR_OF = { reorg: 18, stuck: 19 } as const;

/** All three chain faults on one devnet, for `npm run soak`. */
export async function runChainFaults(size: ScenarioSize): Promise<ScenarioReport[]> {
  const devnet = await startDevnet([LANGUAGE_ID]);
  try {
    return [
      (await rpcOutage(devnet, size)).report,
      (await deepReorg(devnet, size)).report,
      (await stuckTransaction(devnet, size)).report,
    ];
  } finally {
    await devnet.stop();
  }
}

/**
 * When the RPC goes away: just after a batch was proved (its fulfil on its way), and at the very moment
 * the node broadcasts a fulfil (that call never reaches the chain).
 */
const OUTAGES: ReadonlyArray<{ at: "after a proof" | "at a broadcast"; mode: OutageMode }> = [
  { at: "after a proof", mode: "refuse" },
  { at: "at a broadcast", mode: "refuse" },
];

/**
 * The daemon reaches the chain through a proxy that goes down for a few seconds while it has work in
 * flight and requests keep arriving; the soak repeats each outage with black-holed connections.
 */
export async function rpcOutage(devnet: Devnet, size: ScenarioSize): Promise<RpcOutageCheck> {
  const started = Date.now();
  const proxy = await RpcProxy.start(devnet.chain.url);
  const config = await devnet.writeConfig(
    {
      chain: { rpcUrl: proxy.url, coordinator: devnet.sibyl.coordinator.address, pollIntervalMs: 100 },
      database: { path: "rpc-outage.db" },
      batching: { maxSize: 16, maxWaitMs: 100 },
    },
    "rpc-outage.json",
  );
  const node = devnet.startNode(config);
  const log = path.join(devnet.dir, "rpc-outage.log");
  const outages = size.soak
    ? [...OUTAGES, ...OUTAGES.map((outage) => ({ ...outage, mode: "hang" as const }))]
    : OUTAGES;
  const outageMs = 4_000;
  try {
    await node.waitFor("sibyl node started", 120_000);
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const perWave = Math.ceil(size.requests / (2 * outages.length));
    const ids: bigint[] = [];
    let survived = true;
    let errorsDuringOutage = 0;
    for (const [wave, { at, mode }] of outages.entries()) {
      const sentBefore = countLogged(node, "batch delivered") + countLogged(node, "batch fulfilled");
      const wentDown = at === "at a broadcast" ? proxy.downOn("eth_sendRawTransaction", mode) : undefined;
      ids.push(...(await sendRequests(devnet, perWave, MODEL_ID, (i) => sentence("en", wave * perWave + i))));
      if (wentDown) {
        await within(wentDown, 60_000, "no fulfil broadcast");
      } else {
        await until(
          () =>
            countLogged(node, "batch delivered") + countLogged(node, "batch fulfilled") > sentBefore
              ? true
              : undefined,
          60_000,
        );
        await proxy.down(mode);
      }
      const errorsBefore = errorLines(node);
      const during = sendRequests(devnet, perWave, MODEL_ID, (i) => sentence("fr", wave * perWave + i));
      await sleep(outageMs);
      ids.push(...(await during));
      errorsDuringOutage += errorLines(node) - errorsBefore;
      survived &&= node.running;
      await proxy.up();
    }
    const result = await settle(devnet, ids, fromBlock, 90_000);
    const injected = outages.map(({ at, mode }) => `${mode} ${at}`).join(", ");
    return {
      report: report(
        "rpc outage",
        `${outages.length} × ${outageMs / 1000} s RPC outage (${injected})`,
        ids.length,
        result,
        Date.now() - started,
      ),
      survived: survived && node.running,
      log,
      errorsDuringOutage,
    };
  } catch (error) {
    throw withLog(error, node, log);
  } finally {
    await node.stop("SIGTERM");
    writeFileSync(log, node.text);
    await proxy.stop();
  }
}

/**
 * With `confirmations: 2`, requests are answered on a fork that a longer one then replaces, with other
 * requests under the same ids. The node must rewind, answer each request of the final chain once with
 * the answer to its own input, and never land an answer computed for a request that vanished.
 */
export async function deepReorg(devnet: Devnet, size: ScenarioSize): Promise<ReorgCheck> {
  const started = Date.now();
  const config = await devnet.writeConfig(
    {
      chain: {
        rpcUrl: devnet.chain.url,
        coordinator: devnet.sibyl.coordinator.address,
        pollIntervalMs: 100,
        confirmations: 2,
      },
      database: { path: "reorg.db" },
      batching: { maxSize: 16, maxWaitMs: 100 },
      submission: { stuckAfterMs: 2_000 },
    },
    "reorg.json",
  );
  const node = devnet.startNode(config, {
    SIBYL_OPERATOR_KEY: await registerOperator(devnet, OPERATOR_OF.reorg),
  });
  const log = path.join(devnet.dir, "reorg.log");
  const { publicClient } = devnet.sibyl;
  const rounds = size.soak ? 3 : 1;
  try {
    await node.waitFor("sibyl node started", 120_000);
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const finalIds: bigint[] = [];
    let depth = 0;
    let answeredOnLosingFork = 0;
    for (let round = 0; round < rounds; round++) {
      const ancestor = await publicClient.getBlockNumber();
      const snapshot = await rpc(devnet, "evm_snapshot");
      const losing = await whileMining(devnet, async () => {
        const vanishing = await sendRequests(devnet, size.requests, MODEL_ID, (i) => sentence("en", i));
        return settle(devnet, vanishing, ancestor + 1n, 60_000);
      });
      answeredOnLosingFork += losing.answeredOk + losing.answeredError;
      const losingHead = await publicClient.getBlockNumber();
      depth = Math.max(depth, Number(losingHead - ancestor));

      const reorgsBefore = countLogged(node, "chain reorganised");
      await rpc(devnet, "evm_revert", [snapshot]);
      const replacing = await sendRequests(devnet, size.requests, MODEL_ID, (i) =>
        sentence(i % 2 === 0 ? "fr" : "de", i),
      );
      const behind = losingHead - (await publicClient.getBlockNumber());
      await rpc(devnet, "hardhat_mine", [toHex(behind + 3n)]);
      await whileMining(devnet, async () => {
        await until(() => (countLogged(node, "chain reorganised") > reorgsBefore ? true : undefined), 60_000);
        await settle(devnet, replacing, ancestor + 1n, 60_000);
      });
      finalIds.push(...replacing);
    }
    const result = await tally(devnet, finalIds, fromBlock);
    return {
      report: report(
        "deep reorg",
        `${rounds} × reorg of ${depth} blocks (confirmations 2), ${size.requests} answered requests replaced`,
        finalIds.length,
        result,
        Date.now() - started,
      ),
      depth,
      answeredOnLosingFork,
      reorgLogged: node.text.includes("chain reorganised"),
      wrongAnswers: await wrongAnswers(devnet, fromBlock),
      survived: node.running,
      log,
    };
  } catch (error) {
    throw withLog(error, node, log);
  } finally {
    await node.stop("SIGTERM");
    writeFileSync(log, node.text);
  }
}

/**
 * With automine off, the daemon's fulfil waits in the mempool past `stuckAfterMs`; the node must send
 * a replacement with the same nonce and higher fees, and exactly one of them must land.
 */
export async function stuckTransaction(devnet: Devnet, size: ScenarioSize): Promise<StuckTransactionCheck> {
  const started = Date.now();
  const database = "stuck.db";
  const config = await devnet.writeConfig(
    {
      database: { path: database },
      batching: { maxSize: 16, maxWaitMs: 100 },
      submission: { stuckAfterMs: 1_500 },
    },
    "stuck.json",
  );
  const node = devnet.startNode(config, {
    SIBYL_OPERATOR_KEY: await registerOperator(devnet, OPERATOR_OF.stuck),
  });
  const log = path.join(devnet.dir, "stuck.log");
  const { publicClient } = devnet.sibyl;
  try {
    await node.waitFor("sibyl node started", 120_000);
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    await rpc(devnet, "evm_setAutomine", [false]);
    let ids: bigint[];
    try {
      ids = await requestWithoutAutomine(devnet, size.requests);
      await node.waitFor("transaction stuck: replaced with higher fees", 60_000);
      await rpc(devnet, "evm_mine");
    } finally {
      await rpc(devnet, "evm_setAutomine", [true]);
    }
    const result = await settle(devnet, ids, fromBlock, 60_000);
    const stuck = await stuckNonce(devnet, node, path.join(devnet.dir, database));
    return {
      report: report(
        "stuck transaction",
        `fulfil unmined past stuckAfterMs 1.5 s (automine off); ${stuck.replacements} replacement(s)`,
        ids.length,
        result,
        Date.now() - started,
      ),
      ...stuck,
      survived: node.running,
      log,
    };
  } catch (error) {
    throw withLog(error, node, log);
  } finally {
    await node.stop("SIGTERM");
    writeFileSync(log, node.text);
  }
}

/** Requests a mined block holds at most here, well inside the block gas limit. */
const REQUESTS_PER_BLOCK = 50;

/** Sends `count` requests while automine is off and mines them a few dozen a block; returns their ids. */
async function requestWithoutAutomine(devnet: Devnet, count: number): Promise<bigint[]> {
  const { coordinator, publicClient, users } = devnet.sibyl;
  const senders = users.slice(2, 12);
  const fee = await quoteEscrow(devnet.sibyl, MODEL_ID);
  const ids: bigint[] = [];
  for (let first = 0; first < count; first += REQUESTS_PER_BLOCK) {
    const inBlock = Math.min(REQUESTS_PER_BLOCK, count - first);
    for (let i = first; i < first + inBlock; i++) {
      const sender = senders[i % senders.length] as (typeof senders)[number];
      await coordinator.write.request([MODEL_ID, sentence("es", i), 0, sender.account.address], {
        account: sender.account,
        value: fee,
      });
    }
    await rpc(devnet, "evm_mine");
    const block = await publicClient.getBlock();
    const events = await coordinator.getEvents.InferenceRequested({}, { blockHash: block.hash });
    if (events.length !== inBlock)
      throw new Error(`${events.length} of ${inBlock} requests in the mined block`);
    ids.push(...events.map((event) => event.args.requestId as bigint));
  }
  return ids;
}

/** What became of the first nonce the daemon had to replace, from its log, its database and the chain. */
async function stuckNonce(devnet: Devnet, node: ChildRun, databaseFile: string) {
  const { publicClient } = devnet.sibyl;
  const replaced = logEntries(node).filter(
    (entry) => entry.msg === "transaction stuck: replaced with higher fees",
  );
  const nonce = Number(replaced[0]?.nonce);
  const db = new Database(databaseFile, { readonly: true, fileMustExist: true });
  let sent: Array<{ hash: Hex; nonce: number; max_fee: string }>;
  try {
    sent = db
      .prepare("SELECT hash, nonce, max_fee FROM transactions WHERE nonce = ? ORDER BY sent_at")
      .all(nonce) as typeof sent;
  } finally {
    db.close();
  }
  const receipts = await Promise.all(
    sent.map((tx) => publicClient.getTransactionReceipt({ hash: tx.hash }).catch(() => undefined)),
  );
  const mined = receipts.filter((receipt) => receipt !== undefined);
  const minedTx = mined[0] && (await publicClient.getTransaction({ hash: mined[0].transactionHash }));
  return {
    replacements: replaced.filter((entry) => Number(entry.nonce) === nonce).length,
    minedForNonce: mined.length,
    minedIsReplacement: minedTx !== undefined && minedTx.hash !== sent[0]?.hash,
    firstMaxFeePerGas: BigInt(sent[0]?.max_fee ?? 0),
    minedMaxFeePerGas: minedTx?.maxFeePerGas,
    sameNonce: minedTx?.nonce === nonce,
  };
}

/** Deliveries since `fromBlock` whose output names another language than the input of their request. */
async function wrongAnswers(devnet: Devnet, fromBlock: bigint): Promise<string[]> {
  const { coordinator } = devnet.sibyl;
  const inputs = new Map<bigint, Hex>();
  for (const event of await coordinator.getEvents.InferenceRequested({}, { fromBlock }))
    inputs.set(event.args.requestId as bigint, event.args.input as Hex);
  const wrong: string[] = [];
  for (const event of await coordinator.getEvents.ResultDelivered({}, { fromBlock })) {
    const id = event.args.requestId as bigint;
    const input = inputs.get(id);
    const output = hexToString(event.args.output as Hex);
    const expected = input && languageOf(input);
    if (expected === undefined || !output.startsWith(`${expected} `))
      wrong.push(`request ${id}: input ${input && hexToString(input)}, answered ${output}`);
  }
  return wrong;
}

/**
 * Stakes Hardhat account `index` as an operator serving `modelIds` (by default every model of the
 * devnet; its node declares what it runs at start, declared here too so requests can be drawn to it
 * before then); returns its key.
 */
export async function registerOperator(
  devnet: Devnet,
  index: number,
  modelIds: readonly Hex[] = devnet.modelIds,
): Promise<Hex> {
  const wallet = (await devnet.connection.viem.getWalletClients())[index];
  if (wallet === undefined) throw new Error(`no Hardhat account ${index}`);
  await stakeOperator(devnet.sibyl, wallet.account, modelIds);
  return hardhatKey(index);
}

export function rpc(devnet: Devnet, method: string, params: unknown[] = []): Promise<unknown> {
  return devnet.connection.provider.request({ method, params });
}

/** Runs `work` while a block is mined every 250 ms, so confirmations keep coming. */
async function whileMining<T>(devnet: Devnet, work: () => Promise<T>): Promise<T> {
  let mining = true;
  const miner = (async () => {
    while (mining) {
      await rpc(devnet, "evm_mine");
      await sleep(250);
    }
  })();
  try {
    return await work();
  } finally {
    mining = false;
    await miner;
  }
}

/** `error` with the end of the daemon's log, which usually says why, and where the rest is. */
export function withLog(error: unknown, node: ChildRun, file: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${message}\n--- daemon log (all of it in ${file}) ---\n${node.tail(40)}`, {
    cause: error,
  });
}

/** The daemon's JSON log lines so far. */
export function logEntries(node: ChildRun): Array<Record<string, unknown>> {
  return node.text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Log lines whose message starts with `message`. */
/** Log lines whose message starts with `message`. */
export function countLogged(node: ChildRun, message: string): number {
  return logEntries(node).filter((entry) => String(entry.msg).startsWith(message)).length;
}

/** Lines at pino's error level or above. */
function errorLines(node: ChildRun): number {
  return logEntries(node).filter((entry) => Number(entry.level) >= 50).length;
}

async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
