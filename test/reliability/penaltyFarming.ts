/**
 * Penalty farming (issue 20), against a real daemon on a `hardhat node` process whose base fee a miner
 * holds where the scenario puts it (a block a second, so the chain's clock keeps to the wall's).
 * Staked attackers with no daemon, each on its own account with its own hand-written transactions,
 * make requests the honest operator (the victim) is drawn for (the draw steered through prevrandao, as
 * a block proposer could) and try to take them over once the victim's window has passed:
 * (a) an escrow exactly at request()'s floor (estimateFee at the block's base fee, no tip), which the
 *     victim serves inside its window (a node serves its own requests down to half today's base fee),
 *     so the takeovers tried (reassign, a late fulfil with the attacker's own proof, a reassign mined in
 *     a block whose base fee is the coordinator's tip cap lower) find nothing pending;
 * (b) a quorum-2 model whose only other operator is the attacker, withholding its co-signature: its
 *     endpoint answers 403 to every ask, or it publishes none (alone, and while a refused ask holds the
 *     victim's co-signing up);
 * (c) a model the victim does not serve (only the attacker declared it);
 * and, for contrast, requests paid at today's price, which the victim simply answers.
 * Measured for each route, from the chain: the attacker's net gain (its ether, stake and coordinator
 * balance after, less before) and the victim's stake change (its penalties for the route's requests).
 */
import { appendFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import {
  type Address,
  decodeErrorResult,
  encodeAbiParameters,
  type Hex,
  hexToBigInt,
  keccak256,
  parseEventLogs,
  toHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { configHashOf } from "../../src/node/models/configHash.js";
import { createProvider, type ModelSpecInput, modelSpecSchema } from "../../src/node/models/registry.js";
import { toProofWords } from "../../src/node/prover/calldata.js";
import { BatchProver } from "../../src/node/prover/prover.js";
import { batchesOf, type ResultLogEntry, rebuildLeaves } from "../../src/sdk/logReader.js";
import { sibylAbi } from "../../src/shared/abi/generated.js";
import { eventSources, resolveSibylContracts } from "../../src/shared/contracts.js";
import {
  batchSizeFor,
  EMPTY_LEAF,
  modelIdFromName,
  type RequestCommitment,
  ResultStatus,
  resultLeaf,
} from "../../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../../src/shared/merkle.js";
import { BaseFeeMiner } from "../helpers/baseFeeMiner.js";
import { type Devnet, OPERATOR_KEY, startDevnet } from "../helpers/devnet.js";
import { type HostilePeer, startHostilePeer } from "../helpers/hostilePeers.js";
import type { ChildRun } from "../helpers/processes.js";
import { until } from "../helpers/wait.js";
import { revertOf, wealthOf } from "./adversaryKit.js";
import { LANGUAGE_ID, logEntries, registerOperator, sentence } from "./chainFaults.js";
import { report, type ScenarioReport, type ScenarioSize, settle, waitForProofs } from "./harness.js";
import { setWindow } from "./quorum.js";

const GWEI = 10n ** 9n;
/** The base fees every route is measured at. */
export const FARMING_BASE_FEES_GWEI = [1, 10, 50] as const;

/** Quorum-2 copies of the built-in model: the victim and one attacker (or two) serve each. */
const Q2_REFUSED = { provider: "builtin", name: "language-id-q2-refused", builtin: "language-id" } as const;
const Q2_SILENT = { provider: "builtin", name: "language-id-q2-silent", builtin: "language-id" } as const;
/** A model only the attacker of route c declares. */
const ELSEWHERE = { provider: "builtin", name: "language-id-elsewhere", builtin: "language-id" } as const;
const MODEL = {
  language: modelIdFromName(LANGUAGE_ID.name),
  refused: modelIdFromName(Q2_REFUSED.name),
  silent: modelIdFromName(Q2_SILENT.name),
  elsewhere: modelIdFromName(ELSEWHERE.name),
} as const;

const VICTIM = privateKeyToAccount(OPERATOR_KEY).address;
const DELIVERED_OUTPUT = toHex("en 1.00");

type Takeover = "reassign" | "late fulfil" | "reassign as the base fee falls";

interface RouteSpec {
  name: string;
  /** The attacker's Hardhat account: it makes the route's requests and tries to take them over. */
  account: number;
  model: Hex;
  /** request()'s floor (the block's base fee, no tip), or today's price (base fee + the tip cap). */
  escrow: "floor" | "today";
  /** Drawn for the victim (steered), or for whoever the draw picks (route c: only the attacker). */
  steered: boolean;
  takeover: Takeover;
  /** Sent in the first wave, or once the first wave's quorum requests have ended. */
  wave: 1 | 2;
  /** What the route expects of the victim: answer it in its window, or leave it waiting. */
  victim: "answers in its window" | "leaves it waiting" | "is never drawn";
}

/**
 * Every route, each with its own attacker account so gains do not mix. The language model's
 * servers: the victim and the attackers of a and of the contrast; the quorum-2 models': the victim
 * and the attackers of b, who serve nothing else; the other model's: only the attacker of c.
 */
export const ROUTES = {
  floorReassign: {
    name: "a: floor escrow, reassign",
    account: 12,
    model: MODEL.language,
    escrow: "floor",
    steered: true,
    takeover: "reassign",
    wave: 1,
    victim: "answers in its window",
  },
  floorFulfil: {
    name: "a: floor escrow, late fulfil",
    account: 13,
    model: MODEL.language,
    escrow: "floor",
    steered: true,
    takeover: "late fulfil",
    wave: 1,
    victim: "answers in its window",
  },
  floorFalling: {
    name: "a: floor escrow, reassign as the base fee falls by the tip cap",
    account: 14,
    model: MODEL.language,
    escrow: "floor",
    steered: true,
    takeover: "reassign as the base fee falls",
    wave: 1,
    victim: "answers in its window",
  },
  refused: {
    name: "b: co-signature refused (403)",
    account: 15,
    model: MODEL.refused,
    escrow: "today",
    steered: true,
    takeover: "reassign",
    wave: 2,
    victim: "answers in its window",
  },
  silent: {
    name: "b: no endpoint published",
    account: 16,
    model: MODEL.silent,
    escrow: "today",
    steered: true,
    takeover: "reassign",
    wave: 1,
    victim: "answers in its window",
  },
  silentBehindRefused: {
    name: "b: no endpoint published, while a 403 ask is under way",
    account: 17,
    model: MODEL.silent,
    escrow: "today",
    steered: true,
    takeover: "reassign",
    wave: 2,
    victim: "answers in its window",
  },
  unserved: {
    name: "c: a model the victim does not serve",
    account: 18,
    model: MODEL.elsewhere,
    escrow: "today",
    steered: false,
    takeover: "reassign",
    wave: 1,
    victim: "is never drawn",
  },
  contrast: {
    name: "contrast: paid at today's price",
    account: 19,
    model: MODEL.language,
    escrow: "today",
    steered: true,
    takeover: "reassign",
    wave: 1,
    victim: "answers in its window",
  },
} as const satisfies Record<string, RouteSpec>;

export type RouteKey = keyof typeof ROUTES;

/** One route at one base fee, as the chain has it. */
export interface FarmingRoute {
  key: RouteKey;
  route: string;
  baseFeeGwei: number;
  requests: number;
  escrowWei: bigint;
  /** The attacker's ether, stake and coordinator balance after the route, less before. */
  attackerGainWei: bigint;
  /** Minus the victim's penalties for the route's requests. */
  victimStakeChangeWei: bigint;
  penalties: number;
  /** What each takeover attempt came to: "sent", or the error its simulation reverted with. */
  attempts: Record<string, number>;
  /** Requests of the route the draw gave the victim. */
  drawnToVictim: number;
  /** Requests the victim's daemon logged as waiting for a price its escrow pays. */
  waitedUnaffordable: number;
  /** Requests whose first answer was the victim's, mined inside its window. */
  victimInWindow: number;
  /** First answers by who gave them ("victim", "attacker"), and by status. */
  deliveredBy: Record<string, number>;
  statuses: Record<number, number>;
}

export interface FarmingCell {
  baseFeeGwei: number;
  report: ScenarioReport;
  routes: FarmingRoute[];
  /** The victim's stake at the end less at the start of the cell (every route together). */
  victimStakeChangeWei: bigint;
}

export interface FarmingNetwork {
  devnet: Devnet;
  /** Every route at `baseFeeGwei`, `size.requests` requests each (2 for the floor reassign). */
  at(baseFeeGwei: number, size: ScenarioSize): Promise<FarmingCell>;
  stop(): Promise<void>;
}

type Wallet = Awaited<ReturnType<Devnet["connection"]["viem"]["getWalletClients"]>>[number];

/** A request of a route, as requested and as it stands. */
interface Held {
  original: RequestCommitment;
  current: RequestCommitment;
}

/**
 * The devnet, the victim's daemon (defaults but for the devnet's private peers), and the attackers
 * staked on the models their routes need. `window`: the exclusive window, seconds.
 */
export async function startFarming(window = 20n): Promise<FarmingNetwork> {
  const devnet = await startDevnet([LANGUAGE_ID]);
  let refuser: HostilePeer | undefined;
  let victim: ChildRun | undefined;
  let miner: BaseFeeMiner | undefined;
  let prover: BatchProver | undefined;
  const stop = async () => {
    await miner?.stop();
    await prover?.close();
    if (victim) {
      await victim.stop("SIGTERM");
      await writeFile(path.join(devnet.dir, "victim.log"), victim.text);
    }
    await refuser?.close();
    await devnet.stop();
  };
  try {
    await setWindow(devnet, window);
    await registerModel(devnet, Q2_REFUSED, 2);
    await registerModel(devnet, Q2_SILENT, 2);
    await registerModel(devnet, ELSEWHERE, 1);
    for (const route of Object.values(ROUTES)) await registerOperator(devnet, route.account, [route.model]);
    refuser = await startHostilePeer({ kind: "refuse", status: 403 });
    const wallets = await devnet.connection.viem.getWalletClients();
    const refusing = wallets[ROUTES.refused.account] as Wallet;
    await devnet.sibyl.publicClient.waitForTransactionReceipt({
      hash: await devnet.sibyl.ledger.write.setOperatorEndpoint([refuser.url], {
        account: refusing.account,
      }),
    });
    const database = path.join(devnet.dir, "victim.db");
    const config = await devnet.writeConfig(
      {
        models: [LANGUAGE_ID, Q2_REFUSED, Q2_SILENT],
        database: { path: database },
        batching: { maxSize: 16, maxWaitMs: 200 },
        // The devnet's peers are on 127.0.0.1; every other co-signing setting is the default.
        cosigning: { allowPrivatePeers: true },
      },
      "victim.json",
    );
    victim = devnet.startNode(config);
    await victim.waitFor("sibyl node started", 180_000);
    miner = new BaseFeeMiner(devnet, 1_000);
    await miner.start(GWEI);
    prover = new BatchProver();
    await prover.warmUp([1]);
    const context: Context = {
      devnet,
      miner,
      prover,
      victim,
      window,
      wallets,
      tipCap: (await devnet.sibyl.coordinator.read.feeParameters()).maxPriorityFeePerGas,
      fees: { maxFeePerGas: 0n, maxPriorityFeePerGas: 0n },
      trace: (line) =>
        appendFileSync(path.join(devnet.dir, "farming.trace"), `${new Date().toISOString()} ${line}\n`),
    };
    return {
      devnet,
      at: (baseFeeGwei, size) => farmAt(context, baseFeeGwei, size),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Every route at each of the base fees, on one devnet: `npm run soak`'s rows. */
export async function runPenaltyFarming(size: ScenarioSize): Promise<FarmingCell[]> {
  const network = await startFarming(size.soak ? 60n : 20n);
  try {
    const cells: FarmingCell[] = [];
    for (const baseFee of FARMING_BASE_FEES_GWEI) cells.push(await network.at(baseFee, size));
    return cells;
  } finally {
    await network.stop();
  }
}

interface Context {
  devnet: Devnet;
  miner: BaseFeeMiner;
  prover: BatchProver;
  victim: ChildRun;
  window: bigint;
  wallets: Wallet[];
  tipCap: bigint;
  /**
   * What the attackers bid in the current cell: a 1 gwei tip, and a fee cap far above the base fee
   * (only base fee + tip is paid), so no transaction is priced out by the miner's moves.
   */
  fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  /** Appends a line to the scenario's trace (farming.trace, beside the daemon's log). */
  trace(line: string): void;
}

async function farmAt(context: Context, baseFeeGwei: number, size: ScenarioSize): Promise<FarmingCell> {
  const started = Date.now();
  const { devnet, miner } = context;
  const { coordinator, ledger, publicClient } = devnet.sibyl;
  const baseFee = BigInt(baseFeeGwei) * GWEI;
  context.fees = { maxFeePerGas: 3n * baseFee + 2n * GWEI, maxPriorityFeePerGas: GWEI };
  await miner.settleAt(baseFee);
  const fromBlock = (await publicClient.getBlockNumber()) + 1n;
  const victimStakeBefore = (await ledger.read.operatorOf([VICTIM])).stake;
  const keys = Object.keys(ROUTES) as RouteKey[];
  const wealthBefore = new Map<RouteKey, bigint>();
  for (const key of keys) wealthBefore.set(key, await wealthOf(devnet, attackerOf(context, key)));
  const held = new Map<RouteKey, Held[]>();
  const escrows = new Map<RouteKey, bigint>();
  const attempts = new Map<RouteKey, Record<string, number>>(keys.map((key) => [key, {}]));
  const count = (key: RouteKey) => (key === "floorReassign" ? 2 * size.requests : size.requests);

  const sendWave = async (wave: 1 | 2) => {
    for (const key of keys) {
      const route: RouteSpec = ROUTES[key];
      if (route.wave !== wave) continue;
      const escrow = await coordinator.read.estimateFee([
        route.model,
        0,
        route.escrow === "floor" ? baseFee : baseFee + context.tipCap,
      ]);
      escrows.set(key, escrow);
      const inputs = Array.from({ length: count(key) }, (_, i) =>
        sentence(i % 2 === 0 ? "en" : "fr", baseFeeGwei * 1_000 + route.account * 10 + i),
      );
      const commitments = await requestSteered(context, key, baseFee, escrow, inputs);
      context.trace(
        `${baseFeeGwei} gwei, ${key}: requests ${commitments.map((c) => `${c.requestId} (until ${c.exclusiveUntil})`).join(", ")}`,
      );
      held.set(
        key,
        commitments.map((commitment) => ({ original: commitment, current: commitment })),
      );
    }
  };
  // Each route's attacker acts as soon as its requests' windows have passed, then answers what it
  // holds: a quorum-1 result at once, a quorum-2 one as NoConsensus from halfway through its own
  // window (it has no co-signer). The falling-base-fee takeover waits for the others of its wave,
  // so no other takeover lands in its cheaper block.
  const flow = async (key: RouteKey) => {
    const requests = held.get(key) ?? [];
    const windowEnd = requests.reduce(
      (latest, { original }) => (original.exclusiveUntil > latest ? original.exclusiveUntil : latest),
      0n,
    );
    await untilChainTime(devnet, windowEnd + 1n);
    await takeOver(context, key, requests, attempts.get(key) as Record<string, number>, baseFee);
    context.trace(`${baseFeeGwei} gwei, ${key}: takeover ${JSON.stringify(attempts.get(key))}`);
    await answerHeld(context, key, requests);
    context.trace(`${baseFeeGwei} gwei, ${key}: done`);
  };
  const inWave = (wave: 1 | 2) => keys.filter((key) => ROUTES[key].wave === wave);
  await sendWave(1);
  const firstWave = inWave(1)
    .filter((key) => key !== "floorFalling")
    .map(flow);
  const falling = Promise.allSettled(firstWave).then(() => flow("floorFalling"));
  // The second wave goes once the first wave's quorum requests have ended (NoConsensus, in time or
  // not), so that a 403 ask under way cannot hold them up; it then holds up its own wave's.
  await untilEnded(
    devnet,
    idsOf(
      held,
      inWave(1).filter((key) => ROUTES[key].model === MODEL.silent),
    ),
    fromBlock,
  );
  await sendWave(2);
  const secondWave = inWave(2).map(flow);
  for (const outcome of await Promise.allSettled([...firstWave, falling, ...secondWave]))
    if (outcome.status === "rejected") throw outcome.reason;
  const ids = [...held.values()].flat().map(({ original }) => original.requestId);
  const result = await settle(devnet, ids, fromBlock, 240_000);
  await waitForProofs(devnet, 60_000);
  // Let the attackers' last transactions (none should be pending) and the victim's last log lines land.
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  const penalties = await ledger.getEvents.OperatorPenalized({ operator: VICTIM }, { fromBlock });
  const delivered = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
  const waited = waitedUnaffordable(context.victim);
  const routes: FarmingRoute[] = [];
  for (const key of keys) {
    const requests = held.get(key) ?? [];
    const routeIds = new Set(requests.map(({ original }) => original.requestId));
    const ofRoute = penalties.filter((event) => routeIds.has(event.args.requestId as bigint));
    const deliveredBy: Record<string, number> = {};
    const statuses: Record<number, number> = {};
    let victimInWindow = 0;
    for (const { original } of requests) {
      const first = delivered.find((event) => event.args.requestId === original.requestId);
      if (first === undefined) continue;
      const by = String(first.args.operator).toLowerCase() === VICTIM.toLowerCase() ? "victim" : "attacker";
      deliveredBy[by] = (deliveredBy[by] ?? 0) + 1;
      const status = first.args.status as number;
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (by === "victim") {
        const block = await publicClient.getBlock({ blockNumber: first.blockNumber as bigint });
        if (block.timestamp <= original.exclusiveUntil) victimInWindow++;
      }
    }
    routes.push({
      key,
      route: ROUTES[key].name,
      baseFeeGwei,
      requests: requests.length,
      escrowWei: escrows.get(key) ?? 0n,
      attackerGainWei: (await wealthOf(devnet, attackerOf(context, key))) - (wealthBefore.get(key) as bigint),
      victimStakeChangeWei: -ofRoute.reduce((sum, event) => sum + (event.args.amount as bigint), 0n),
      penalties: ofRoute.length,
      attempts: attempts.get(key) ?? {},
      drawnToVictim: requests.filter(
        ({ original }) => original.operator.toLowerCase() === VICTIM.toLowerCase(),
      ).length,
      waitedUnaffordable: requests.filter(({ original }) => waited.has(original.requestId)).length,
      victimInWindow,
      deliveredBy,
      statuses,
    });
  }
  return {
    baseFeeGwei,
    report: report(
      `penalty farming at ${baseFeeGwei} gwei`,
      "staked attackers take the victim's late requests over by every route",
      ids.length,
      result,
      Date.now() - started,
    ),
    routes,
    victimStakeChangeWei: (await ledger.read.operatorOf([VICTIM])).stake - victimStakeBefore,
  };
}

/** Most requests steered in one block: the prevrandao search grows as servers^count. */
const STEERED_PER_BLOCK = 4;

/**
 * Sends a route's requests from its attacker, a few per block, each block's prevrandao chosen so the
 * draw gives every one of them to the victim (for a steered route); returns their commitments.
 */
async function requestSteered(
  context: Context,
  key: RouteKey,
  baseFee: bigint,
  escrow: bigint,
  inputs: Hex[],
): Promise<RequestCommitment[]> {
  const commitments: RequestCommitment[] = [];
  for (let i = 0; i < inputs.length; i += STEERED_PER_BLOCK)
    commitments.push(
      ...(await requestInOneBlock(context, key, baseFee, escrow, inputs.slice(i, i + STEERED_PER_BLOCK))),
    );
  return commitments;
}

async function requestInOneBlock(
  context: Context,
  key: RouteKey,
  baseFee: bigint,
  escrow: bigint,
  inputs: Hex[],
): Promise<RequestCommitment[]> {
  const { devnet, miner } = context;
  const { coordinator, ledger, publicClient } = devnet.sibyl;
  const route: RouteSpec = ROUTES[key];
  const attacker = context.wallets[route.account] as Wallet;
  const servers = await ledger.read.operatorsFor([route.model]);
  const victimAt = servers.findIndex((address) => address.toLowerCase() === VICTIM.toLowerCase());
  if (route.steered && victimAt < 0) throw new Error(`the victim does not serve ${route.name}`);
  const hashes = await miner.inNextBlock(
    baseFee,
    async () => {
      const sent: Hex[] = [];
      for (const input of inputs)
        sent.push(
          await coordinator.write.request([route.model, input, 0, attacker.account.address], {
            account: attacker.account,
            value: escrow,
            ...context.fees,
          }),
        );
      return sent;
    },
    async () => {
      // The requests wait in the mempool: the next id is still the first of theirs.
      const first = await coordinator.read.nextRequestId();
      if (route.steered)
        await devnet.connection.networkHelpers.setPrevRandao(
          steeringRandao(first, inputs.length, victimAt, servers.length),
        );
    },
  );
  const commitments: RequestCommitment[] = [];
  for (const hash of hashes) {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${route.name}: a request reverted (${hash})`);
    const [event] = parseEventLogs({
      abi: coordinator.abi,
      logs: receipt.logs,
      eventName: "InferenceRequested",
    });
    if (event === undefined) throw new Error(`${route.name}: no InferenceRequested in ${hash}`);
    commitments.push(event.args.commitment);
  }
  const blocks = new Set(
    await Promise.all(
      hashes.map(async (hash) => (await publicClient.getTransactionReceipt({ hash })).blockNumber),
    ),
  );
  const wanted = route.steered ? VICTIM : attacker.account.address;
  const astray = commitments.filter((c) => c.operator.toLowerCase() !== wanted.toLowerCase());
  if (astray.length > 0 || blocks.size !== 1)
    throw new Error(
      `${route.name}: ${astray.length} of ${commitments.length} requests not drawn to ${wanted} (${blocks.size} blocks)`,
    );
  return commitments;
}

/**
 * A prevrandao for which the draw of requests `first` … `first + count - 1` (each
 * operatorsFor[keccak256(abi.encode(prevrandao, requestId)) % servers]) picks index `at` every time.
 */
function steeringRandao(first: bigint, count: number, at: number, servers: number): bigint {
  const n = BigInt(servers);
  for (let prevRandao = 1n; prevRandao < 10_000_000n; prevRandao++) {
    let all = true;
    for (let i = 0n; i < BigInt(count) && all; i++) {
      const seed = keccak256(
        encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [prevRandao, first + i]),
      );
      all = hexToBigInt(seed) % n === BigInt(at);
    }
    if (all) return prevRandao;
  }
  throw new Error(`no prevrandao draws ${count} requests to one of ${servers} operators`);
}

/** The route's takeover, tried the way a rational attacker would: simulated first, sent if it passes. */
async function takeOver(
  context: Context,
  key: RouteKey,
  requests: Held[],
  attempts: Record<string, number>,
  baseFee: bigint,
): Promise<void> {
  if (requests.length === 0) return;
  const route: RouteSpec = ROUTES[key];
  const attacker = context.wallets[route.account] as Wallet;
  const { coordinator, publicClient } = context.devnet.sibyl;
  const note = (outcome: string) => {
    attempts[outcome] = (attempts[outcome] ?? 0) + 1;
  };
  if (route.takeover === "late fulfil") {
    note(`fulfill: ${await lateFulfil(context, attacker, requests)}`);
    return;
  }
  const commitments = requests.map(({ current }) => current);
  const refused = await revertOf(() =>
    coordinator.simulate.reassign([commitments], { account: attacker.account.address }),
  );
  if (refused !== undefined) {
    note(`reassign: ${refused}`);
    return;
  }
  const send = () =>
    coordinator.write.reassign([commitments], { account: attacker.account, ...context.fees });
  // Falling: sent into the first block whose base fee is the tip cap below the floor's price (on a
  // real chain, the next block's base fee is known from its parent: the attacker waits for it).
  const hash =
    route.takeover === "reassign as the base fee falls"
      ? await context.miner.inNextBlock(baseFee > context.tipCap ? baseFee - context.tipCap : 0n, send)
      : await send();
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  note(`reassign: ${receipt.status === "success" ? "sent" : "reverted onchain"}`);
  for (const event of parseEventLogs({
    abi: coordinator.abi,
    logs: receipt.logs,
    eventName: "RequestReassigned",
  })) {
    const request = requests.find(({ original }) => original.requestId === event.args.requestId);
    if (request) request.current = event.args.commitment;
  }
}

/**
 * The late fulfil's gas limit, well above what it uses: at 1 gwei, where its fee is capped at the
 * escrow and the attacker is both requester and deliverer, an estimated limit ran out of gas.
 */
const FULFIL_GAS = 1_500_000n;

/**
 * A late fulfil of the victim's requests with the attacker's own proof, on top of the log's root as
 * anyone rebuilds it from the events. Returns "sent" or what stopped it.
 */
async function lateFulfil(context: Context, attacker: Wallet, requests: Held[]): Promise<string> {
  const { devnet, prover } = context;
  const { coordinator, publicClient } = devnet.sibyl;
  const fulfillments = requests.map(({ current }) => ({
    commitment: current,
    status: ResultStatus.Ok,
    output: DELIVERED_OUTPUT,
    metadata: "0x" as Hex,
    signatures: "0x" as Hex,
  }));
  let outcome = "not tried";
  // A fulfil with a proof needs the queue of results delivered without one empty, and the root it
  // was proven on: if the chain moves meanwhile, prove again.
  for (let attempt = 0; attempt < 5; attempt++) {
    await waitForProofs(devnet, 60_000);
    const tree = await logTree(devnet);
    const leaves = fulfillments.map((fulfillment) =>
      resultLeaf(fulfillment.commitment, fulfillment, attacker.account.address),
    );
    while (leaves.length < batchSizeFor(fulfillments.length)) leaves.push(EMPTY_LEAF);
    const witness = tree.appendSubtree(leaves);
    const { proof } = await prover.prove(witness);
    const args = [fulfillments, witness.newRoot, toProofWords(proof)] as const;
    let hash: Hex | undefined;
    // Simulated, then sent (its gas estimate simulates it again): another delivery landing between
    // the proof and the send moves the queue, and the attacker proves again.
    const refused = await revertOf(async () => {
      await coordinator.simulate.fulfill(args, { account: attacker.account.address });
      hash = await coordinator.write.fulfill(args, {
        account: attacker.account,
        gas: FULFIL_GAS,
        ...context.fees,
      });
    });
    if (hash !== undefined) {
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      if (receipt.status === "success") return "sent";
      outcome = `reverted onchain (${await onchainRevert(devnet, hash)}, gas ${receipt.gasUsed})`;
      context.trace(`late fulfil ${hash}: ${outcome}`);
      continue;
    }
    outcome = refused ?? "not sent";
    if (refused !== "UnprovenLeavesPending" && refused !== "InvalidProof") return outcome;
  }
  return outcome;
}

/** What a mined transaction reverted with, from its trace. */
async function onchainRevert(devnet: Devnet, hash: Hex): Promise<string> {
  const trace = (await devnet.connection.provider.request({
    method: "debug_traceTransaction",
    params: [hash, { disableStorage: true, disableMemory: true, disableStack: true }],
  })) as { returnValue?: string; structLogs?: unknown[] };
  const data = `0x${(trace.returnValue ?? "").replace(/^0x/, "")}` as Hex;
  try {
    return decodeErrorResult({ abi: sibylAbi, data }).errorName;
  } catch {
    return `return data ${data.slice(0, 74)}`;
  }
}

/** The log's Merkle tree as the chain has it now, rebuilt from every coordinator's events. */
async function logTree(devnet: Devnet): Promise<IncrementalMerkleTree> {
  const { publicClient, log } = devnet.sibyl;
  const contracts = await resolveSibylContracts(publicClient, log.address);
  const events = await publicClient.getContractEvents({
    address: eventSources(contracts),
    abi: sibylAbi,
    fromBlock: 0n,
    strict: true,
  });
  const entries = events.flatMap((event): ResultLogEntry[] =>
    event.eventName === "BatchAppended" || event.eventName === "ResultDelivered"
      ? [{ eventName: event.eventName, args: event.args } as ResultLogEntry]
      : [],
  );
  const slots = rebuildLeaves(entries);
  const tree = new IncrementalMerkleTree();
  for (const batch of batchesOf(entries)) {
    const start = Number(batch.startIndex);
    tree.appendSubtree(slots.slice(start, start + Number(batch.batchSize)));
    if (tree.root !== batch.newRoot) throw new Error(`rebuilt root differs at leaf ${start}`);
  }
  return tree;
}

/** Answers the requests an attacker holds now (taken over, or drawn to it). */
async function answerHeld(context: Context, key: RouteKey, requests: Held[]): Promise<void> {
  const route: RouteSpec = ROUTES[key];
  const attacker = context.wallets[route.account] as Wallet;
  const { coordinator, publicClient } = context.devnet.sibyl;
  const mine = requests.filter(
    ({ current }) => current.operator.toLowerCase() === attacker.account.address.toLowerCase(),
  );
  const pending = [];
  for (const request of mine)
    if ((await coordinator.read.commitmentOf([request.current.requestId])) !== ZERO_HASH)
      pending.push(request);
  if (pending.length === 0) return;
  const quorum = (await coordinator.read.modelOf([route.model])).quorum;
  if (quorum > 1) {
    const provableFrom = pending.reduce((max, { current }) => {
      const from = current.exclusiveUntil - context.window / 2n;
      return from > max ? from : max;
    }, 0n);
    await untilChainTime(context.devnet, provableFrom);
  }
  const fulfillments = pending.map(({ current }) => ({
    commitment: current,
    status: quorum > 1 ? ResultStatus.NoConsensus : ResultStatus.Ok,
    output: quorum > 1 ? ("0x" as Hex) : DELIVERED_OUTPUT,
    metadata: "0x" as Hex,
    signatures: "0x" as Hex,
  }));
  const hash = await coordinator.write.deliver([fulfillments], {
    account: attacker.account,
    ...context.fees,
  });
  context.trace(`${key}: delivering ${pending.length} it holds (${hash})`);
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${route.name}: the attacker's own delivery reverted`);
}

const ZERO_HASH = `0x${"0".repeat(64)}` as Hex;

function attackerOf(context: Context, key: RouteKey): Address {
  return (context.wallets[ROUTES[key].account] as Wallet).account.address;
}

/** The request ids the victim's daemon logged as waiting for a price their escrow pays. */
function waitedUnaffordable(node: ChildRun): Set<bigint> {
  const ids = new Set<bigint>();
  for (const entry of logEntries(node))
    if (entry.msg === "waiting: escrow below the going gas price" && Array.isArray(entry.requestIds))
      for (const id of entry.requestIds) ids.add(BigInt(String(id)));
  return ids;
}

function idsOf(held: Map<RouteKey, Held[]>, keys: RouteKey[]): bigint[] {
  return keys.flatMap((key) => (held.get(key) ?? []).map(({ original }) => original.requestId));
}

/** Until each of `ids` has an answer onchain. */
async function untilEnded(devnet: Devnet, ids: bigint[], fromBlock: bigint): Promise<void> {
  const result = await settle(devnet, ids, fromBlock, 120_000);
  if (result.lost > 0) throw new Error(`${result.lost} of ${ids.length} requests never ended`);
}

/** Until the newest block's timestamp is at least `time`. */
async function untilChainTime(devnet: Devnet, time: bigint): Promise<void> {
  await until(
    async () => ((await devnet.sibyl.publicClient.getBlock()).timestamp >= time ? true : undefined),
    300_000,
  );
}

/** Registers `spec` with the coordinator as startDevnet does, with `quorum`; nobody declares it. */
async function registerModel(devnet: Devnet, spec: ModelSpecInput, quorum: number): Promise<void> {
  const parsed = modelSpecSchema.parse(spec);
  await devnet.sibyl.publicClient.waitForTransactionReceipt({
    hash: await devnet.sibyl.coordinator.write.registerModel([
      modelIdFromName(parsed.name),
      {
        fee: 10n ** 14n,
        maxInputBytes: 4096,
        maxOutputBytes: 1024,
        timeout: 3600,
        enabled: true,
        quorum,
        configHash: configHashOf(createProvider(parsed, {})),
      },
    ]),
  });
}

/**
 * What a cell should show, as the targets it missed: no attacker gains, no victim loses stake, and each
 * route went the way the protocol means it to (so a route that was never really tried cannot pass).
 */
export function farmingMisses(cell: FarmingCell): string[] {
  const misses: string[] = [];
  const miss = (route: FarmingRoute, what: string) =>
    misses.push(`${route.route} at ${cell.baseFeeGwei} gwei: ${what}`);
  const { report: tallied } = cell;
  if (tallied.lost !== 0 || tallied.doubleAnswered !== 0)
    misses.push(
      `at ${cell.baseFeeGwei} gwei: ${tallied.lost} lost, ${tallied.doubleAnswered} answered twice`,
    );
  for (const route of cell.routes) {
    const spec: RouteSpec = ROUTES[route.key];
    if (route.attackerGainWei > 0n) miss(route, `the attacker gained ${route.attackerGainWei} wei`);
    if (route.victimStakeChangeWei !== 0n)
      miss(
        route,
        `the victim's stake changed by ${route.victimStakeChangeWei} wei (${route.penalties} penalties)`,
      );
    const tried = (outcome: string) => route.attempts[outcome] ?? 0;
    if (spec.victim === "is never drawn") {
      if (route.drawnToVictim !== 0) miss(route, `the victim was drawn for ${route.drawnToVictim}`);
      if (tried("reassign: AlreadyAssigned") !== 1) miss(route, `takeover ${JSON.stringify(route.attempts)}`);
      continue;
    }
    if (route.drawnToVictim !== route.requests) miss(route, "not every request was drawn to the victim");
    if (spec.victim === "leaves it waiting") {
      if (route.waitedUnaffordable !== route.requests)
        miss(
          route,
          `the victim left ${route.waitedUnaffordable} of ${route.requests} waiting as unaffordable`,
        );
      const taken = tried("reassign: sent") + tried("fulfill: sent");
      if (taken !== 1) miss(route, `the attacker did not take them over: ${JSON.stringify(route.attempts)}`);
      continue;
    }
    if (route.victimInWindow !== route.requests)
      miss(route, `the victim answered ${route.victimInWindow} of ${route.requests} inside its window`);
    if (tried("reassign: RequestNotPending") + tried("fulfill: RequestNotPending") !== 1)
      miss(route, `takeover ${JSON.stringify(route.attempts)}, not RequestNotPending`);
  }
  if (cell.victimStakeChangeWei !== 0n)
    misses.push(
      `at ${cell.baseFeeGwei} gwei: the victim's stake changed by ${cell.victimStakeChangeWei} wei`,
    );
  return misses;
}

/** The cell as table rows: route, attacker's net gain and the victim's stake change, in wei. */
export function farmingRows(cell: FarmingCell) {
  return cell.routes.map((route) => ({
    route: route.route,
    gwei: route.baseFeeGwei,
    requests: route.requests,
    escrowWei: String(route.escrowWei),
    attackerGainWei: String(route.attackerGainWei),
    victimStakeChangeWei: String(route.victimStakeChangeWei),
    attempts: JSON.stringify(route.attempts),
    answeredBy: JSON.stringify(route.deliveredBy),
    inWindow: route.victimInWindow,
    waited: route.waitedUnaffordable,
  }));
}
