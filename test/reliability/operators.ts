/**
 * Operators side by side: three daemons with their own keys and databases race for the same requests,
 * then one loses its database and must rebuild the result log from the chain and carry on. Every
 * request must be answered exactly once however the races fall, each daemon's tree must end equal to
 * the contract's, and no operator may be left with a transaction stuck behind its nonce.
 */
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, hardhatKey, nodeRootWhenSynced, sendRequests, startDevnet } from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";
import { LANGUAGE_ID, logEntries, registerOperator, sentence, withLog } from "./chainFaults.js";
import {
  report,
  revertedTransactions,
  type ScenarioReport,
  type ScenarioSize,
  settle,
  tally,
} from "./harness.js";

const MODEL_ID = modelIdFromName(LANGUAGE_ID.name);

/** The competing daemons: the deployment's operator and two more Hardhat accounts. */
const OPERATORS = [
  { name: "op-a", account: 1 },
  { name: "op-b", account: 16 },
  { name: "op-c", account: 17 },
] as const;

export interface OperatorsCheck {
  report: ScenarioReport;
  /** Batches each operator landed (from BatchAppended events), by daemon name. */
  batchesBy: Record<string, number>;
  /** Daemons whose process was no longer running at the end. */
  exited: string[];
  /** Daemons whose newest checkpoint's tree root is not the contract's, with both roots. */
  rootMismatches: string[];
  /** Requests a daemon's store has not seen confirmed (or not seen at all), as "<daemon> <id>: <state>". */
  unconfirmed: string[];
  /** Batches a daemon still has in flight (proving, submitted) once every request is answered. */
  unfinishedBatches: string[];
  /** Operators whose latest nonce is behind their pending one: a transaction stuck in the mempool. */
  stuckNonces: string[];
  /** Fulfils that lost a race and reverted onchain, by daemon name (the price of competing). */
  revertedBy: Record<string, number>;
  /** Error lines each daemon logged (level error or fatal), by daemon name. */
  errorsBy: Record<string, number>;
  /** Where each daemon's whole log is written when it stops. */
  logs: string[];
}

interface Operator {
  name: string;
  address: Address;
  key: Hex;
  config: string;
  database: string;
  log: string;
  run: ChildRun;
}

/** Both operator scenarios on one devnet, for `npm run soak`. */
export async function runOperators(size: ScenarioSize): Promise<ScenarioReport[]> {
  const devnet = await startDevnet([LANGUAGE_ID]);
  try {
    return (await competeThenLoseDatabase(devnet, size)).map((check) => check.report);
  } finally {
    await devnet.stop();
  }
}

/**
 * Three daemons answer `size.requests` requests side by side ("competing operators"); then the third
 * is stopped, its database deleted, and it is started again on the same config while more requests
 * arrive ("lost database").
 */
export async function competeThenLoseDatabase(
  devnet: Devnet,
  size: ScenarioSize,
): Promise<[OperatorsCheck, OperatorsCheck]> {
  const operators = await Promise.all(OPERATORS.map((spec) => prepare(devnet, spec)));
  try {
    await Promise.all(operators.map(({ run }) => run.waitFor("sibyl node started", 180_000)));
    const competing = await round(devnet, operators, {
      scenario: "competing operators",
      injected: "3 daemons (own keys and databases), each assigned a share of the requests",
      count: size.requests,
      shareAmong: 2,
    });

    const lost = operators[2] as Operator;
    const stopped = await lost.run.stop("SIGTERM");
    if (stopped.code !== 0)
      throw withLog(new Error(`${lost.name} exited ${stopped.code}`), lost.run, lost.log);
    await writeFile(lost.log, lost.run.text);
    for (const suffix of ["", "-wal", "-shm"]) await rm(`${lost.database}${suffix}`, { force: true });
    lost.run = devnet.startNode(lost.config, { SIBYL_OPERATOR_KEY: lost.key });
    lost.log = path.join(path.dirname(lost.log), `${lost.name}-restarted.log`);
    await lost.run.waitFor("result log in sync", 180_000);
    const rebuilt = await round(devnet, operators, {
      scenario: "lost database",
      injected: `${lost.name} restarted on a deleted database`,
      count: size.requests,
      shareAmong: 1,
    });
    return [competing, rebuilt];
  } finally {
    await Promise.all(
      operators.map(async ({ run, log }) => {
        await run.stop("SIGTERM");
        await writeFile(log, run.text);
      }),
    );
  }
}

async function prepare(devnet: Devnet, spec: (typeof OPERATORS)[number]): Promise<Operator> {
  // Account 1 is the deployment's operator already.
  const key = spec.account === 1 ? hardhatKey(1) : await registerOperator(devnet, spec.account);
  const database = `${spec.name}.db`;
  const config = await devnet.writeConfig(
    { database: { path: database }, batching: { maxSize: 16, maxWaitMs: 100 } },
    `${spec.name}.json`,
  );
  return {
    name: spec.name,
    address: privateKeyToAccount(key).address,
    key,
    config,
    database: path.join(devnet.dir, database),
    log: path.join(devnet.dir, `${spec.name}.log`),
    run: devnet.startNode(config, { SIBYL_OPERATOR_KEY: key }),
  };
}

/** Requests go out in waves, each settled before the next: every wave is a fresh race. */
const WAVES = 4;
/** Waves sent at most while waiting for a second operator to land a batch. */
const MAX_WAVES = 12;

interface RoundOptions {
  scenario: string;
  injected: string;
  count: number;
  /** Keep sending waves (up to MAX_WAVES) until this many operators have landed batches. */
  shareAmong: number;
}

/** Sends requests to the running daemons, lets them settle, and checks what they left behind. */
async function round(devnet: Devnet, operators: Operator[], options: RoundOptions): Promise<OperatorsCheck> {
  const { scenario, injected, count, shareAmong } = options;
  const started = Date.now();
  const { publicClient } = devnet.sibyl;
  const fromBlock = (await publicClient.getBlockNumber()) + 1n;
  const ids: bigint[] = [];
  const perWave = Math.ceil(count / WAVES);
  let batchesBy = await landedBatches(devnet, operators, fromBlock);
  for (let wave = 0; wave < MAX_WAVES; wave++) {
    const landed = Object.values(batchesBy).filter((batches) => batches > 0).length;
    if (ids.length >= count && landed >= shareAmong) break;
    const sent = await sendRequests(devnet, perWave, MODEL_ID, (i) =>
      sentence(i % 2 === 0 ? "en" : "fr", ids.length + i),
    );
    await settle(devnet, sent, fromBlock, 120_000);
    ids.push(...sent);
    batchesBy = await landedBatches(devnet, operators, fromBlock);
  }
  const result = await tally(devnet, ids, fromBlock);
  const contractRoot = await devnet.sibyl.log.read.root();
  const rootMismatches: string[] = [];
  for (const { name, database } of operators) {
    const nodeRoot = await nodeRootWhenSynced(database, contractRoot);
    if (nodeRoot !== contractRoot) rootMismatches.push(`${name}: node ${nodeRoot}, contract ${contractRoot}`);
  }
  return {
    report: report(scenario, injected, ids.length, result, Date.now() - started),
    batchesBy,
    exited: operators.filter(({ run }) => !run.running).map(({ name }) => name),
    rootMismatches,
    unconfirmed: await unconfirmedJobs(operators, ids),
    unfinishedBatches: await unfinishedBatches(operators),
    stuckNonces: await stuckNonces(devnet, operators),
    revertedBy: await revertedByName(devnet, operators, fromBlock),
    errorsBy: Object.fromEntries(
      operators.map(({ name, run }) => [
        name,
        logEntries(run).filter((entry) => Number(entry.level) >= 50).length,
      ]),
    ),
    logs: operators.map(({ log }) => log),
  };
}

/**
 * Deliveries each operator landed since `fromBlock` (transactions with its ResultDelivered events,
 * proven at once or later), by daemon name.
 */
async function landedBatches(
  devnet: Devnet,
  operators: Operator[],
  fromBlock: bigint,
): Promise<Record<string, number>> {
  const byAddress = new Map(operators.map((operator) => [operator.address.toLowerCase(), operator.name]));
  const transactionsBy = new Map<string, Set<string>>();
  for (const event of await devnet.sibyl.coordinator.getEvents.ResultDelivered({}, { fromBlock })) {
    const name = byAddress.get(String(event.args.operator).toLowerCase()) ?? String(event.args.operator);
    const transactions = transactionsBy.get(name) ?? new Set();
    transactions.add(event.transactionHash);
    transactionsBy.set(name, transactions);
  }
  return Object.fromEntries(operators.map(({ name }) => [name, transactionsBy.get(name)?.size ?? 0]));
}

/** Batches a daemon still has proving or submitted 10 s after every request was answered. */
async function unfinishedBatches(operators: Operator[]): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const unfinished: string[] = [];
    for (const { name, database } of operators) {
      const db = new Database(database, { readonly: true, fileMustExist: true });
      try {
        const rows = db
          .prepare("SELECT id, state FROM batches WHERE state IN ('proving', 'submitted')")
          .all() as Array<{ id: number; state: string }>;
        for (const { id, state } of rows) unfinished.push(`${name} batch ${id}: ${state}`);
      } finally {
        db.close();
      }
    }
    if (unfinished.length === 0 || Date.now() - started > 10_000) return unfinished;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Requests each daemon's store still does not have as confirmed after 20 s. */
async function unconfirmedJobs(operators: Operator[], ids: readonly bigint[]): Promise<string[]> {
  const started = Date.now();
  for (;;) {
    const unconfirmed: string[] = [];
    for (const { name, database } of operators) {
      const states = jobStates(database);
      for (const id of ids) {
        const state = states.get(id) ?? "missing";
        if (state !== "confirmed") unconfirmed.push(`${name} ${id}: ${state}`);
      }
    }
    if (unconfirmed.length === 0 || Date.now() - started > 20_000) return unconfirmed;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function jobStates(file: string): Map<bigint, string> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT request_id, state FROM jobs").all() as Array<{
      request_id: string;
      state: string;
    }>;
    return new Map(rows.map((row) => [BigInt(row.request_id), row.state]));
  } finally {
    db.close();
  }
}

/** Operators whose pending nonce stays ahead of their latest one for 10 s: something sits unmined. */
async function stuckNonces(devnet: Devnet, operators: Operator[]): Promise<string[]> {
  const { publicClient } = devnet.sibyl;
  const started = Date.now();
  for (;;) {
    const stuck: string[] = [];
    for (const { name, address } of operators) {
      const latest = await publicClient.getTransactionCount({ address, blockTag: "latest" });
      const pending = await publicClient.getTransactionCount({ address, blockTag: "pending" });
      if (latest !== pending) stuck.push(`${name}: latest nonce ${latest}, pending ${pending}`);
    }
    if (stuck.length === 0 || Date.now() - started > 10_000) return stuck;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Each operator's reverted transactions since `fromBlock`, by operator name. */
async function revertedByName(devnet: Devnet, operators: Operator[], fromBlock: bigint) {
  const counts = await revertedTransactions(
    devnet,
    operators.map(({ address }) => address),
    fromBlock,
  );
  return Object.fromEntries(
    operators.map(({ name, address }) => [name, counts.get(address.toLowerCase()) ?? 0]),
  );
}
