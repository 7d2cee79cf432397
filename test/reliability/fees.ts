/**
 * Fees on a chain with a real base fee: requests made through the SDK with its default quote, answered
 * by a running daemon, with the base fee of every block pinned by a miner of our own (automine off, the
 * next block's base fee set before each `evm_mine`). Phases: 50 gwei; 500 gwei; 50 gwei at request
 * time and 90 at delivery (a spike between quote and fulfil), batched and alone; a lone request at
 * 0.1 gwei (below the tip); and one request escrowed for 1 gwei while the chain goes to 500, which
 * must wait unanswered and then be cancelled with a full refund.
 * Everything is measured from the chain: escrows, fees charged, refunds credited, and each fulfil's
 * gas cost against what its operator was credited.
 */

import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  type Address,
  createWalletClient,
  formatGwei,
  type Hex,
  http,
  type LocalAccount,
  parseEventLogs,
  type Transport,
  toHex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { cancelRequest } from "../../src/sdk/cancelRequest.js";
import { estimateFee } from "../../src/sdk/estimateFee.js";
import { requestInference } from "../../src/sdk/requestInference.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { BaseFeeMiner } from "../helpers/baseFeeMiner.js";
import { type Devnet, OPERATOR_KEY, startDevnet } from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";
import { until } from "../helpers/wait.js";
import { LANGUAGE_ID, logEntries, rpc, sentence, withLog } from "./chainFaults.js";
import { report, type ScenarioReport, type ScenarioSize, settle, type Tally } from "./harness.js";

const GWEI = 10n ** 9n;
const MODEL_ID = modelIdFromName(LANGUAGE_ID.name);
const OPERATOR = privateKeyToAccount(OPERATOR_KEY).address;

/**
 * One phase: the base fee requests are made at, the one the chain moves to once they are mined, and
 * whether a request goes alone (the whole batch overhead on one escrow) or with `size.requests` others.
 */
interface Phase {
  name: string;
  requestedAt: bigint;
  deliveredAt: bigint;
  alone?: boolean;
}

export const PHASES: readonly Phase[] = [
  { name: "fees at 50 gwei", requestedAt: 50n * GWEI, deliveredAt: 50n * GWEI },
  { name: "fees at 500 gwei", requestedAt: 500n * GWEI, deliveredAt: 500n * GWEI },
  { name: "fees, spike 50→90 gwei", requestedAt: 50n * GWEI, deliveredAt: 90n * GWEI },
  {
    name: "fees, lone request, spike 50→90 gwei",
    requestedAt: 50n * GWEI,
    deliveredAt: 90n * GWEI,
    alone: true,
  },
  // Below the 1 gwei tip, as on a quiet devnet or an L2: the quote's headroom is on the base fee only.
  { name: "fees, lone request at 0.1 gwei", requestedAt: GWEI / 10n, deliveredAt: GWEI / 10n, alone: true },
];

/** What one fulfil cost its operator and what it was credited for it. */
export interface FulfilMargin {
  phase: string;
  tx: Hex;
  results: number;
  baseFee: bigint;
  gasUsed: bigint;
  effectiveGasPrice: bigint;
  /** gasUsed × effectiveGasPrice. */
  cost: bigint;
  /** What the coordinator credited the operator in this transaction (fees incl. model fees). */
  earned: bigint;
  /** The model fees inside `earned`. */
  modelFees: bigint;
}

/** A request whose charge does not match its escrow and refund. */
export interface FeeMismatch {
  requestId: bigint;
  escrow: bigint;
  fee: bigint | undefined;
  refunded: bigint;
}

export interface PhaseCheck {
  report: ScenarioReport;
  /** SDK requests that threw (the old quote reverted with InsufficientPayment). */
  failedRequests: string[];
  margins: FulfilMargin[];
  mismatches: FeeMismatch[];
  /** Base fee of the blocks the requests were mined in, and of the fulfils' blocks. */
  requestBaseFees: bigint[];
}

export interface UnaffordableCheck {
  report: ScenarioReport;
  escrow: bigint;
  /** The daemon logged the request as waiting for a price its escrow pays. */
  waitLogged: boolean;
  /** sibyl_unaffordable_jobs while it waited. */
  unaffordableGauge: number;
  /** Deliveries of the request (must be none). */
  deliveries: number;
  /** RequestCancelled's refund, and the refundTo's coordinator balance afterwards. */
  refund: bigint | undefined;
  balanceAfter: bigint;
}

export interface FeesCheck {
  phases: PhaseCheck[];
  unaffordable: UnaffordableCheck;
  survived: boolean;
  log: string;
}

/** Every phase on one devnet and one daemon; `size.requests` requests per batched phase. */
export async function runFees(size: ScenarioSize): Promise<FeesCheck> {
  const devnet = await startDevnet([LANGUAGE_ID]);
  const miner = new BaseFeeMiner(devnet);
  const config = await devnet.writeConfig({
    batching: { maxSize: 16, maxWaitMs: 500 },
    // An operator on a chain at 500 gwei raises its bid cap above the default 500 gwei.
    submission: { stuckAfterMs: 5_000, maxFeePerGas: 2_000n * GWEI },
  });
  const node = devnet.startNode(config);
  const log = path.join(devnet.dir, "fees.log");
  try {
    await node.waitFor("sibyl node started", 120_000);
    await miner.start(PHASES[0]?.requestedAt ?? GWEI);
    const phases: PhaseCheck[] = [];
    let offset = 0;
    for (const phase of PHASES) {
      const count = phase.alone ? 1 : size.requests;
      phases.push(await runPhase(devnet, miner, phase, count, offset));
      offset += count;
    }
    const unaffordable = await unaffordableRequest(devnet, miner, node);
    return { phases, unaffordable, survived: node.running, log };
  } catch (error) {
    throw withLog(error, node, log);
  } finally {
    await miner.stop();
    await node.stop("SIGTERM");
    writeFileSync(log, node.text);
    await devnet.stop();
  }
}

/** The rows `npm run soak` prints. */
export function feeReports(check: FeesCheck): ScenarioReport[] {
  return [...check.phases.map((phase) => phase.report), check.unaffordable.report];
}

async function runPhase(
  devnet: Devnet,
  miner: BaseFeeMiner,
  phase: Phase,
  count: number,
  offset: number,
): Promise<PhaseCheck> {
  const started = Date.now();
  await miner.settleAt(phase.requestedAt);
  const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
  // A fresh funded account per request, refunded to itself: all of them fit one block, and nothing
  // else moves their coordinator balances.
  const requesters = await freshAccounts(devnet, count);
  // The requests go into one block at the quoted base fee; only then does the chain move, so the
  // daemon (which sees them no earlier) delivers at `deliveredAt`.
  const sent = await miner.inOneBlock(phase.requestedAt, phase.deliveredAt, count, () =>
    Promise.allSettled(
      requesters.map((requester, i) =>
        requestInference(requester, {
          coordinator: devnet.sibyl.coordinator.address,
          model: MODEL_ID,
          input: sentence("en", offset + i),
        }),
      ),
    ),
  );
  const failedRequests = sent.flatMap((outcome) =>
    outcome.status === "rejected" ? [String(outcome.reason?.shortMessage ?? outcome.reason)] : [],
  );
  const ids: bigint[] = [];
  const refundOf = new Map<bigint, Address>();
  for (const [i, outcome] of sent.entries()) {
    if (outcome.status !== "fulfilled") continue;
    ids.push(outcome.value.requestId);
    refundOf.set(outcome.value.requestId, (requesters[i] as WalletClient).account.address);
  }
  // A lone answer is proved and sent within seconds; one left waiting shows as lost.
  const result = await settle(devnet, ids, fromBlock, phase.alone ? 60_000 : 120_000);
  const requests = await devnet.sibyl.coordinator.getEvents.InferenceRequested({}, { fromBlock });
  const requestBlocks = [...new Set(requests.map((event) => event.blockNumber))];
  return {
    report: report(
      phase.name,
      `SDK quote at ${formatGwei(phase.requestedAt)} gwei, delivered at ${formatGwei(phase.deliveredAt)} gwei`,
      count,
      result,
      Date.now() - started,
    ),
    failedRequests,
    margins: await fulfilMargins(devnet, phase.name, fromBlock),
    mismatches: await feeMismatches(devnet, ids, refundOf, fromBlock, result),
    requestBaseFees: await Promise.all(requestBlocks.map((block) => baseFeeOf(devnet, block))),
  };
}

/**
 * A request escrowed for a 1 gwei gas price, mined at 1 gwei, then the chain at 500 gwei: the daemon
 * must not deliver it at a loss. It waits; after its deadline anyone cancels it and its refundTo is
 * credited the whole escrow.
 */
async function unaffordableRequest(devnet: Devnet, miner: BaseFeeMiner, node: ChildRun) {
  const started = Date.now();
  const { coordinator, publicClient, users } = devnet.sibyl;
  const [requester] = (await freshAccounts(devnet, 1)) as [WalletClient];
  const refundTo = requester.account.address;
  await miner.settleAt(GWEI);
  const fromBlock = (await publicClient.getBlockNumber()) + 1n;
  const escrow = await estimateFee(requester, {
    coordinator: coordinator.address,
    model: MODEL_ID,
    gasPrice: GWEI,
  });
  const [requested] = await miner.inOneBlock(GWEI, 500n * GWEI, 1, () =>
    Promise.all([
      requestInference(requester, {
        coordinator: coordinator.address,
        model: MODEL_ID,
        input: sentence("de", 0),
        value: escrow,
      }),
    ]),
  );
  const { requestId, commitment } = requested as NonNullable<typeof requested>;
  const waiting = await until(
    () =>
      logEntries(node).find(
        (entry) =>
          entry.msg === "waiting: escrow below the going gas price" &&
          Array.isArray(entry.requestIds) &&
          entry.requestIds.includes(String(requestId)),
      ),
    60_000,
  );
  const unaffordableGauge = await gauge(node, "sibyl_unaffordable_jobs");
  // Several batch rounds at 500 gwei, then the deadline passes.
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const latest = await publicClient.getBlock();
  await rpc(devnet, "evm_increaseTime", [Number(commitment.deadline - latest.timestamp) + 60]);
  await until(async () =>
    (await publicClient.getBlock()).timestamp > commitment.deadline ? true : undefined,
  );
  const receipt = await cancelRequest(users[3] as (typeof users)[number], {
    coordinator: coordinator.address,
    commitment,
  });
  const [cancelled] = parseEventLogs({
    abi: coordinator.abi,
    logs: receipt.logs,
    eventName: "RequestCancelled",
  });
  const delivered = await coordinator.getEvents.ResultDelivered({ requestId }, { fromBlock });
  const refund = cancelled?.args.refund;
  return {
    report: {
      scenario: "fees, escrow below the price",
      injected: `escrow at 1 gwei, chain at 500 gwei: waits, cancelled after its deadline`,
      sent: 1,
      answeredOk: 0,
      answeredError: delivered.length,
      // Neither answered nor refunded in full would be lost.
      lost: refund === escrow ? 0 : 1,
      doubleAnswered: 0,
      durationMs: Date.now() - started,
    },
    escrow,
    waitLogged: waiting !== undefined,
    unaffordableGauge,
    deliveries: delivered.length,
    refund,
    balanceAfter: await coordinator.read.balanceOf([refundTo]),
  } satisfies UnaffordableCheck;
}

/**
 * Each delivering transaction (fulfil or deliver) since `fromBlock`: its gas cost against the
 * operator's credit in the same transaction.
 */
async function fulfilMargins(devnet: Devnet, phase: string, fromBlock: bigint): Promise<FulfilMargin[]> {
  const { coordinator, publicClient } = devnet.sibyl;
  const delivered = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
  const transactions = [...new Set(delivered.map((event) => event.transactionHash))];
  return Promise.all(
    transactions.map(async (hash) => {
      const receipt = await publicClient.getTransactionReceipt({ hash });
      const logs = parseEventLogs({ abi: coordinator.abi, logs: receipt.logs });
      let earned = 0n;
      let modelFees = 0n;
      let results = 0;
      for (const entry of logs) {
        if (entry.eventName === "ResultDelivered") {
          // What the operator was credited: each result's fee.
          if (entry.args.operator.toLowerCase() === OPERATOR.toLowerCase()) earned += entry.args.fee;
          results++;
          modelFees += (await coordinator.read.modelOf([entry.args.modelId])).fee;
        }
      }
      return {
        phase,
        tx: receipt.transactionHash,
        results,
        baseFee: await baseFeeOf(devnet, receipt.blockNumber),
        gasUsed: receipt.gasUsed,
        effectiveGasPrice: receipt.effectiveGasPrice,
        cost: receipt.gasUsed * receipt.effectiveGasPrice,
        earned,
        modelFees,
      };
    }),
  );
}

/**
 * Requests whose fee exceeds their escrow, or whose refundTo (a fresh address per request, so nothing
 * else moves its balance) was not credited exactly escrow − fee.
 */
async function feeMismatches(
  devnet: Devnet,
  ids: readonly bigint[],
  refundOf: ReadonlyMap<bigint, Address>,
  fromBlock: bigint,
  result: Tally,
): Promise<FeeMismatch[]> {
  const { coordinator } = devnet.sibyl;
  const escrowOf = new Map<bigint, bigint>();
  for (const event of await coordinator.getEvents.InferenceRequested({}, { fromBlock }))
    escrowOf.set(event.args.requestId as bigint, BigInt(event.args.commitment?.escrow ?? 0n));
  const feeOf = new Map<bigint, bigint>();
  for (const event of await coordinator.getEvents.ResultDelivered({}, { fromBlock }))
    feeOf.set(event.args.requestId as bigint, event.args.fee as bigint);
  const mismatches: FeeMismatch[] = [];
  for (const id of ids) {
    const escrow = escrowOf.get(id) ?? 0n;
    const fee = result.deliveries.has(id) ? feeOf.get(id) : undefined;
    const refunded = await coordinator.read.balanceOf([refundOf.get(id) as Address]);
    if (fee === undefined || fee > escrow || refunded !== escrow - fee)
      mismatches.push({ requestId: id, escrow, fee, refunded });
  }
  return mismatches;
}

type WalletClient = ReturnType<typeof createWalletClient<Transport, typeof hardhat, LocalAccount>>;

/** `count` new accounts with 100 ETH each, as wallet clients on the devnet's chain. */
async function freshAccounts(devnet: Devnet, count: number): Promise<WalletClient[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const account = privateKeyToAccount(generatePrivateKey());
      await rpc(devnet, "hardhat_setBalance", [account.address, toHex(100n * 10n ** 18n)]);
      return createWalletClient({ account, chain: hardhat, transport: http(devnet.chain.url) });
    }),
  );
}

async function baseFeeOf(devnet: Devnet, blockNumber: bigint): Promise<bigint> {
  const block = await devnet.sibyl.publicClient.getBlock({ blockNumber });
  return block.baseFeePerGas ?? 0n;
}

/** A gauge's value from the daemon's /metrics (the URL is in its "sibyl node started" line). */
async function gauge(node: ChildRun, name: string): Promise<number> {
  const api = logEntries(node).find((entry) => entry.msg === "sibyl node started")?.api;
  if (typeof api !== "string") throw new Error("the daemon did not log its API url");
  const text = await (await fetch(`${api}/metrics`)).text();
  const line = text.split("\n").find((row) => row.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}
