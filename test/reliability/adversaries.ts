/**
 * Parties the protocol serves, turned against it, through real daemons on a `hardhat node` process:
 * - poison callbacks: consumers whose callback loops forever with the largest callback gas limit,
 *   among honest load (before, the batcher packed them into a fulfil no transaction could hold, and it
 *   was rejected and re-proved forever while honest requests starved);
 * - a flag flipped under a fulfil: a consumer whose callback is cheap when the node prices the fulfil
 *   and burns its whole gas limit by the time it is mined (before, a fulfil sent with an estimate
 *   reverted onchain);
 * - a front-running operator: a second registered operator copies each honest fulfil from the mempool
 *   with a higher tip (before, the copy was credited every fee and the honest fulfil reverted).
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { decodeFunctionData, type Hex, keccak256, parseTransaction, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, OPERATOR_KEY, sendRequests, startDevnet } from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";
import { RpcProxy } from "../helpers/rpcProxy.js";
import { TEST_FEE_PARAMETERS } from "../helpers/sibyl.js";
import {
  callbackOutcomes,
  countLines,
  escrowFor,
  headroomSenders,
  minedBefore,
  nodeConfig,
  requestIdIn,
} from "./adversaryKit.js";
import { LANGUAGE_ID, registerOperator, rpc, sentence } from "./chainFaults.js";
import { FrontRunner, revertReason } from "./frontRunner.js";
import {
  report,
  revertedTransactions,
  type ScenarioReport,
  type ScenarioSize,
  settle,
  tally,
} from "./harness.js";

const MODEL_ID = modelIdFromName(LANGUAGE_ID.name);
const MAX_CALLBACK_GAS = TEST_FEE_PARAMETERS.maxCallbackGasLimit;
/** HostileConsumer modes. */
const BURN_GAS = 1;
const ACCEPT = 6;
/** CallbackOutcome.Failed. */
const CALLBACK_FAILED = 2;
const HONEST = privateKeyToAccount(OPERATOR_KEY).address;

export interface PoisonCheck {
  report: ScenarioReport;
  poison: number;
  /** Poison requests whose callback was not recorded as Failed. */
  poisonNotFailed: number;
  /** Honest requests answered after the earliest poison request's deadline (chain time). */
  honestAfterPoisonDeadline: number;
  /** Seconds of chain time from the first request to the last honest answer. */
  lastHonestAnswerSeconds: number;
  batches: number;
  largestBatchGas: bigint;
  rejectedBatches: number;
  revertedFulfils: number;
}

export interface FlagFlipCheck {
  report: ScenarioReport;
  /** Flips the watcher sent in front of a fulfil holding the consumer's request. */
  flipped: number;
  /** Flipped requests whose callback was not recorded as Failed. */
  notFailed: number;
  /** Flips not mined before the fulfil they were aimed at. */
  flipsAfterFulfil: number;
  revertedFulfils: number;
}

export interface FrontRunningCheck {
  report: ScenarioReport;
  honestFulfils: number;
  copies: number;
  /** Why each copy reverted, by custom error; "succeeded" counts copies that did not. */
  copyOutcomes: Record<string, number>;
  /** Copies sent that were not mined before the honest fulfil they copied. */
  copiesNotFirst: number;
  copyFailures: string[];
  /** Batches each daemon had rejected (a proof gone stale under the other's batch is one). */
  rejectedBatches: { honest: number; attacker: number };
  honestReverted: number;
  /** Requests of the copied fulfils that someone other than the honest operator delivered. */
  stolen: number;
  /**
   * Requests assigned to the honest operator that the attacker's daemon delivered after their window
   * (allowed: liveness), e.g. while the honest one re-proved batches gone stale under the other's.
   */
  takenAfterWindow: number;
  /** The honest operator's balance change and the fees of the results it delivered. */
  honestCredited: bigint;
  honestFees: bigint;
  /** The attacker's balance change and the fees of the results it delivered (its own requests). */
  attackerCredited: bigint;
  attackerFees: bigint;
}

export interface AdversariesCheck {
  poison: PoisonCheck;
  flagFlip: FlagFlipCheck;
  frontRunning: FrontRunningCheck;
}

/** Each attack on one devnet: poison and flag flip against one operator, then front-running between two. */
export async function runAdversaries(size: ScenarioSize): Promise<AdversariesCheck> {
  const devnet = await startDevnet([LANGUAGE_ID]);
  process.stdout.write(`    adversaries: daemon logs in ${devnet.dir}\n`);
  try {
    let watch: (raw: Hex) => Promise<void> = async () => {};
    const proxy = await RpcProxy.start(devnet.chain.url, {
      beforeForward: async (calls) => {
        for (const call of calls)
          if (call.method === "eth_sendRawTransaction") await watch(call.params?.[0] as Hex);
      },
    });
    const node = devnet.startNode(await devnet.writeConfig(nodeConfig(devnet, proxy.url, "honest.db")));
    let poison: PoisonCheck;
    let flagFlip: FlagFlipCheck;
    try {
      await node.waitFor("sibyl node started", 120_000);
      poison = await poisonCallbacks(devnet, node, size);
      flagFlip = await flagFlipped(devnet, size, (watcher) => {
        watch = watcher;
      });
    } finally {
      await node.stop("SIGTERM");
      await writeFile(path.join(devnet.dir, "honest.log"), node.text);
      await proxy.stop();
    }
    const frontRunning = await frontRunningOperator(devnet, size);
    return { poison, flagFlip, frontRunning };
  } finally {
    await devnet.stop();
  }
}

async function poisonCallbacks(devnet: Devnet, node: ChildRun, size: ScenarioSize): Promise<PoisonCheck> {
  const started = Date.now();
  const { coordinator, publicClient } = devnet.sibyl;
  const poisonCount = size.soak ? 40 : 16;
  const consumers = [];
  for (let i = 0; i < poisonCount; i++)
    consumers.push(
      await devnet.connection.viem.deployContract("HostileConsumer", [coordinator.address, BURN_GAS]),
    );
  const rejectedBefore = countLines(node, "batch rejected");
  const fromBlock = (await publicClient.getBlockNumber()) + 1n;
  const firstRequestAt = (await publicClient.getBlock()).timestamp;
  // Poison and honest requests go out at the same time from different accounts, so batches mix them.
  const [poisonIds, honestIds] = await Promise.all([
    (async () => {
      const ids: bigint[] = [];
      for (const consumer of consumers) {
        const hash = await consumer.write.ask([MODEL_ID, MAX_CALLBACK_GAS], {
          value: await escrowFor(devnet, MODEL_ID, MAX_CALLBACK_GAS),
        });
        ids.push(await requestIdIn(devnet, hash));
      }
      return ids;
    })(),
    sendRequests(
      devnet,
      size.requests,
      MODEL_ID,
      (i) => sentence(i % 2 === 0 ? "en" : "fr", i),
      ...headroomSenders(devnet),
    ),
  ]);
  const ids = [...poisonIds, ...honestIds];
  const result = await settle(devnet, ids, fromBlock);
  const callbacks = await callbackOutcomes(devnet, fromBlock);
  const requested = await coordinator.getEvents.InferenceRequested({}, { fromBlock });
  const deadlines = requested
    .filter((event) => poisonIds.includes(event.args.requestId as bigint))
    .map((event) => event.args.commitment?.deadline as bigint);
  const poisonDeadline = deadlines.reduce((a, b) => (b < a ? b : a));
  const delivered = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
  const honestAnsweredAt: bigint[] = [];
  for (const event of delivered) {
    if (!honestIds.includes(event.args.requestId as bigint)) continue;
    honestAnsweredAt.push((await publicClient.getBlock({ blockNumber: event.blockNumber })).timestamp);
  }
  const lastHonest = honestAnsweredAt.reduce((a, b) => (b > a ? b : a), firstRequestAt);
  // Every transaction that delivered results, with its proof or without.
  const batches = [...new Set(delivered.map((event) => event.transactionHash))];
  let largestBatchGas = 0n;
  for (const hash of batches) {
    const receipt = await publicClient.getTransactionReceipt({ hash });
    if (receipt.gasUsed > largestBatchGas) largestBatchGas = receipt.gasUsed;
  }
  const reverted = await revertedTransactions(devnet, [HONEST], fromBlock);
  return {
    report: report(
      "poison callbacks",
      `${poisonCount} consumers looping forever with ${MAX_CALLBACK_GAS} callback gas`,
      ids.length,
      result,
      Date.now() - started,
    ),
    poison: poisonCount,
    poisonNotFailed: poisonIds.filter((id) => callbacks.get(id) !== CALLBACK_FAILED).length,
    honestAfterPoisonDeadline: honestAnsweredAt.filter((at) => at > poisonDeadline).length,
    lastHonestAnswerSeconds: Number(lastHonest - firstRequestAt),
    batches: batches.length,
    largestBatchGas,
    rejectedBatches: countLines(node, "batch rejected") - rejectedBefore,
    revertedFulfils: reverted.get(HONEST.toLowerCase()) ?? 0,
  };
}

/**
 * Consumers that accept results cheaply until a watcher in front of the node sees a fulfil holding
 * their request, and switches them to burning their whole gas limit in a transaction mined first.
 */
async function flagFlipped(
  devnet: Devnet,
  size: ScenarioSize,
  setWatcher: (watcher: (raw: Hex) => Promise<void>) => void,
): Promise<FlagFlipCheck> {
  const started = Date.now();
  const { coordinator, publicClient } = devnet.sibyl;
  const count = size.soak ? 10 : 2;
  const consumers = new Map<bigint, Awaited<ReturnType<typeof deployAccepting>>>();
  const fromBlock = (await publicClient.getBlockNumber()) + 1n;
  const flips: Array<{ requestId: bigint; flip: Hex; fulfil: Hex }> = [];
  setWatcher(async (raw) => {
    const tx = parseTransaction(raw as `0x02${string}`);
    if (tx.to?.toLowerCase() !== coordinator.address.toLowerCase() || tx.data === undefined) return;
    const call = decodeFunctionData({ abi: coordinator.abi, data: tx.data });
    // Results go with their proof (fulfil) or without (deliver): flip under either.
    if (call.functionName !== "fulfill" && call.functionName !== "deliver") return;
    for (const { commitment } of call.args[0]) {
      const consumer = consumers.get(commitment.requestId);
      if (consumer === undefined || flips.some((flip) => flip.requestId === commitment.requestId)) continue;
      const flip = await consumer.write.setMode([BURN_GAS]);
      await publicClient.waitForTransactionReceipt({ hash: flip });
      flips.push({ requestId: commitment.requestId, flip, fulfil: keccak256(raw) });
    }
  });
  const ids: bigint[] = [];
  for (let i = 0; i < count; i++) {
    const consumer = await deployAccepting(devnet);
    const hash = await consumer.write.ask([MODEL_ID, MAX_CALLBACK_GAS], {
      value: await escrowFor(devnet, MODEL_ID, MAX_CALLBACK_GAS),
    });
    const requestId = await requestIdIn(devnet, hash);
    consumers.set(requestId, consumer);
    ids.push(requestId);
  }
  ids.push(
    ...(await sendRequests(
      devnet,
      4,
      MODEL_ID,
      (i) => stringToHex(`Bonjour, ami numéro ${i}`),
      ...headroomSenders(devnet),
    )),
  );
  const result = await settle(devnet, ids, fromBlock);
  const callbacks = await callbackOutcomes(devnet, fromBlock);
  let flipsAfterFulfil = 0;
  for (const { flip, fulfil } of flips) {
    const [flipped, fulfilled] = await Promise.all([
      publicClient.getTransactionReceipt({ hash: flip }),
      publicClient.getTransactionReceipt({ hash: fulfil }),
    ]);
    if (!minedBefore(flipped, fulfilled)) flipsAfterFulfil++;
  }
  const reverted = await revertedTransactions(devnet, [HONEST], fromBlock);
  return {
    report: report(
      "flag flipped under a fulfil",
      `${count} callbacks switched to burn ${MAX_CALLBACK_GAS} gas just before the fulfil`,
      ids.length,
      result,
      Date.now() - started,
    ),
    flipped: flips.length,
    notFailed: [...consumers.keys()].filter((id) => callbacks.get(id) !== CALLBACK_FAILED).length,
    flipsAfterFulfil,
    revertedFulfils: reverted.get(HONEST.toLowerCase()) ?? 0,
  };
}

/** The attacker: the second operator's account, with a daemon of its own serving its own requests. */
const ATTACKER_ACCOUNT = 16;

/**
 * The honest daemon (the deployment's operator) and the attacker's daemon each answer the requests
 * assigned to them, with blocks mined every 500 ms so transactions wait in the mempool; the front-runner
 * copies every honest fulfil from the attacker's account with a higher tip.
 */
async function frontRunningOperator(devnet: Devnet, size: ScenarioSize): Promise<FrontRunningCheck> {
  const started = Date.now();
  const { coordinator, publicClient } = devnet.sibyl;
  const attackerKey = await registerOperator(devnet, ATTACKER_ACCOUNT);
  const attacker = privateKeyToAccount(attackerKey).address;
  const runner = await FrontRunner.start(devnet, HONEST, attacker);
  const honestNode = devnet.startNode(
    await devnet.writeConfig(nodeConfig(devnet, runner.proxy.url, "honest.db"), "honest.json"),
  );
  const attackerNode = devnet.startNode(
    await devnet.writeConfig(nodeConfig(devnet, devnet.chain.url, "attacker.db"), "attacker.json"),
    { SIBYL_OPERATOR_KEY: attackerKey },
  );
  await rpc(devnet, "evm_setAutomine", [false]);
  await rpc(devnet, "evm_setIntervalMining", [500]);
  try {
    await Promise.all([honestNode, attackerNode].map((run) => run.waitFor("sibyl node started", 120_000)));
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const balances = () =>
      Promise.all([coordinator.read.balanceOf([HONEST]), coordinator.read.balanceOf([attacker])]);
    const [honestBefore, attackerBefore] = await balances();
    // In waves, so the honest operator sends several fulfils to copy.
    const ids: bigint[] = [];
    const perWave = Math.ceil(size.requests / 3);
    while (ids.length < size.requests) {
      const wave = await sendRequests(
        devnet,
        perWave,
        MODEL_ID,
        (i) => sentence(i % 2 === 0 ? "en" : "de", ids.length + i),
        ...headroomSenders(devnet),
      );
      await settle(devnet, wave, fromBlock, 120_000);
      ids.push(...wave);
    }
    const result = await tally(devnet, ids, fromBlock);
    const [honestAfter, attackerAfter] = await balances();
    const assigned = new Map<bigint, string>();
    for (const event of await coordinator.getEvents.InferenceRequested({}, { fromBlock }))
      assigned.set(event.args.requestId as bigint, String(event.args.commitment?.operator).toLowerCase());
    const feesBy = new Map<string, bigint>();
    const copied = new Set(runner.copies.flatMap(({ requestIds }) => requestIds));
    let stolen = 0;
    let takenAfterWindow = 0;
    for (const event of await coordinator.getEvents.ResultDelivered({}, { fromBlock })) {
      const operator = String(event.args.operator).toLowerCase();
      feesBy.set(operator, (feesBy.get(operator) ?? 0n) + (event.args.fee as bigint));
      const id = event.args.requestId as bigint;
      if (operator === HONEST.toLowerCase()) continue;
      if (copied.has(id)) stolen++;
      else if (assigned.get(id) === HONEST.toLowerCase()) takenAfterWindow++;
    }
    const copyOutcomes: Record<string, number> = {};
    let copiesNotFirst = 0;
    for (const { honest, copy } of runner.copies) {
      const [copied, original] = await Promise.all([
        publicClient.waitForTransactionReceipt({ hash: copy }),
        publicClient.waitForTransactionReceipt({ hash: honest }),
      ]);
      const outcome = copied.status === "success" ? "succeeded" : await revertReason(devnet, copy);
      copyOutcomes[outcome] = (copyOutcomes[outcome] ?? 0) + 1;
      if (!minedBefore(copied, original)) copiesNotFirst++;
    }
    const honestFulfils = new Set(
      (await coordinator.getEvents.ResultDelivered({ operator: HONEST }, { fromBlock })).map(
        (event) => event.transactionHash,
      ),
    );
    const reverted = await revertedTransactions(devnet, [HONEST], fromBlock);
    return {
      report: report(
        "front-running operator",
        "a second operator copies every honest fulfil with a higher tip",
        ids.length,
        result,
        Date.now() - started,
      ),
      honestFulfils: honestFulfils.size,
      copies: runner.copies.length,
      copyOutcomes,
      copiesNotFirst,
      copyFailures: runner.failures,
      rejectedBatches: {
        honest: countLines(honestNode, "batch rejected"),
        attacker: countLines(attackerNode, "batch rejected"),
      },
      honestReverted: reverted.get(HONEST.toLowerCase()) ?? 0,
      stolen,
      takenAfterWindow,
      honestCredited: honestAfter - honestBefore,
      honestFees: feesBy.get(HONEST.toLowerCase()) ?? 0n,
      attackerCredited: attackerAfter - attackerBefore,
      attackerFees: feesBy.get(attacker.toLowerCase()) ?? 0n,
    };
  } finally {
    await Promise.all([honestNode, attackerNode].map((run) => run.stop("SIGTERM")));
    await writeFile(path.join(devnet.dir, "front-run-honest.log"), honestNode.text);
    await writeFile(path.join(devnet.dir, "front-run-attacker.log"), attackerNode.text);
    await runner.proxy.stop();
    await rpc(devnet, "evm_setIntervalMining", [0]);
    await rpc(devnet, "evm_setAutomine", [true]);
  }
}

function deployAccepting(devnet: Devnet) {
  return devnet.connection.viem.deployContract("HostileConsumer", [devnet.sibyl.coordinator.address, ACCEPT]);
}
