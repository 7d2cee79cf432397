/**
 * A staked operator publishes a hostile co-signing endpoint to daemons that run a quorum-2 model, as
 * processes: a gzip bomb every honest node asks for each answer (they call private peers, so the bomb
 * is reached: the worst case), and an internal service's address (an SSRF) to a node that calls only
 * public peers. Each is counted from the chain, with the honest daemons' peak RSS, how long requests
 * took, what the target got, and the attacker's net gain: its account, stake and earnings at the end
 * less at the start (≤ 0: it gains nothing by it).
 */
import { readFileSync } from "node:fs";
import { type Hex, hexToString } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, hardhatKey, sendRequests, startDevnet } from "../helpers/devnet.js";
import { gzipBomb, type HostilePeer, startHostilePeer } from "../helpers/hostilePeers.js";
import { LANGUAGE_ID, registerOperator, sentence } from "./chainFaults.js";
import { report, type ScenarioReport, type ScenarioSize, settle } from "./harness.js";
import { watchEvents } from "./load.js";
import { type Daemon, setWindow, startDaemons, stopDaemons, windowFor } from "./quorum.js";

const LANGUAGE_ID_MODEL = modelIdFromName(LANGUAGE_ID.name);
const ATTACKER_ACCOUNT = 18;
/** The measure: 400 KB on the wire that inflates to 400 MiB. */
const BOMB_BYTES = 400 * 1024 * 1024;
/** A daemon's peak RSS that counts as bounded: the prover's and model's working set, well under a bomb's. */
export const RSS_BOUND_MIB = 1_024;

export interface HostilePeerCheck {
  report: ScenarioReport;
  /** Wei the attacker's account, stake and earnings gained over the scenario (≤ 0 expected). */
  attackerGainWei: bigint;
  /** Peak RSS (VmHWM) of each honest daemon, MiB. */
  peakRssMiB: Record<string, number>;
  /** Wall time from request to first delivery of the requests first assigned to honest operators, ms. */
  latencyMs: { p50: number; max: number };
  /** Liveness penalties by operator name. */
  penaltiesBy: Record<string, number>;
  /** Penalties of honest operators on requests first assigned to them: each would mean one was held up. */
  honestLateOnOwn: number;
  /** Connections and requests that reached what the attacker pointed the nodes at, and its bytes sent. */
  targetConnections: number;
  targetRequests: number;
  targetBytesSent: number;
  /** Answers that are neither the model's right answer nor an allowed NoConsensus. */
  wrong: string[];
  /** Daemons' log lines saying a peer's endpoint is not called (each says it once per endpoint). */
  refusals: number;
}

/** Two honest daemons that call private peers; a third operator's endpoint serves a gzip bomb. */
export async function bombPeer(size: ScenarioSize): Promise<HostilePeerCheck> {
  const body = await gzipBomb(BOMB_BYTES);
  const bomb = await startHostilePeer({ kind: "gzip-bomb", body });
  return attack(size, bomb, {
    scenario: "bomb peer",
    injected: `an operator's endpoint answers every ask with ${(body.length / 1024).toFixed(0)} KB of gzip that inflates to 400 MiB`,
    daemons: [
      { name: "op-a", account: 1, env: {} },
      { name: "op-b", account: 16, env: {} },
    ],
    noConsensusAllowed: false,
    // As the quorum network's: long deadlines, and a window that outlasts the burst's devnet seconds.
    timeout: 3600,
    window: windowFor(size.requests),
  });
}

/**
 * One honest daemon that calls only public peers; the other operator's endpoint is a loopback
 * service. With no peer it may call, its requests end NoConsensus; the service gets nothing.
 */
export async function ssrfEndpoint(size: ScenarioSize): Promise<HostilePeerCheck> {
  const internal = await startHostilePeer({ kind: "listener" });
  return attack(size, internal, {
    scenario: "SSRF endpoint",
    injected: "an operator publishes a loopback service as its endpoint",
    daemons: [{ name: "op-a", account: 1, allowPrivatePeers: false, env: {} }],
    noConsensusAllowed: true,
    // As the crash scenario's: a request that cannot be co-signed ends NoConsensus at 120 s less the
    // node's margins (30 + 60 s), before the 60 s window would let anyone take it over.
    timeout: 120,
    window: 60n,
  });
}

interface AttackOptions {
  scenario: string;
  injected: string;
  daemons: Parameters<typeof startDaemons>[2];
  noConsensusAllowed: boolean;
  /** The model's timeout and the operators' exclusive window, seconds. */
  timeout: number;
  window: bigint;
}

async function attack(size: ScenarioSize, target: HostilePeer, options: AttackOptions) {
  const devnet = await startDevnet([LANGUAGE_ID], { quorum: 2, timeout: options.timeout });
  let daemons: Daemon[] = [];
  try {
    await setWindow(devnet, options.window);
    const attacker = privateKeyToAccount(hardhatKey(ATTACKER_ACCOUNT));
    const wealthBefore = await wealthOf(devnet, attacker.address);
    await registerOperator(devnet, ATTACKER_ACCOUNT);
    const { ledger, publicClient } = devnet.sibyl;
    await publicClient.waitForTransactionReceipt({
      hash: await ledger.write.setOperatorEndpoint([target.url], { account: attacker }),
    });
    daemons = await startDaemons(devnet, 19_485, options.daemons);
    const started = Date.now();
    const fromBlock = await publicClient.getBlockNumber();
    const events = watchEvents(devnet, fromBlock + 1n);
    const languageOf = (i: number) => (i % 2 === 0 ? "en" : "fr");
    const ids = await sendRequests(devnet, size.requests, LANGUAGE_ID_MODEL, (i) =>
      sentence(languageOf(i), i),
    );
    const result = await settle(devnet, ids, fromBlock, 300_000);
    const durationMs = Date.now() - started;
    // The watcher polls every 200 ms: give it the last block.
    await new Promise((resolve) => setTimeout(resolve, 500));
    events.stop();
    const names = new Map<string, string>([
      ...daemons.map((daemon) => [daemon.address.toLowerCase(), daemon.name] as [string, string]),
      [attacker.address.toLowerCase(), "attacker"],
    ]);
    const ofScenario = (event: { args: { requestId?: bigint } }) =>
      ids.includes(event.args.requestId as bigint);
    const penalties = (await ledger.getEvents.OperatorPenalized({}, { fromBlock: fromBlock + 1n })).filter(
      ofScenario,
    );
    const penaltiesBy: Record<string, number> = {};
    for (const event of penalties) {
      const name = names.get(String(event.args.operator).toLowerCase()) ?? String(event.args.operator);
      penaltiesBy[name] = (penaltiesBy[name] ?? 0) + 1;
    }
    const requested = await devnet.sibyl.coordinator.getEvents.InferenceRequested(
      {},
      { fromBlock: fromBlock + 1n },
    );
    const honest = requested
      .filter(
        (event) =>
          ofScenario(event) &&
          event.args.commitment?.operator.toLowerCase() !== attacker.address.toLowerCase(),
      )
      .map((event) => event.args.requestId as bigint);
    const honestLateOnOwn = penalties.filter(
      (event) =>
        honest.includes(event.args.requestId as bigint) &&
        String(event.args.operator).toLowerCase() !== attacker.address.toLowerCase(),
    ).length;
    const wrong: string[] = [];
    for (const [i, id] of ids.entries()) {
      const delivery = result.deliveries.get(id)?.[0];
      if (delivery === undefined) continue;
      const right =
        delivery.status === ResultStatus.NoConsensus
          ? options.noConsensusAllowed && delivery.output === "0x"
          : delivery.status === ResultStatus.Ok &&
            hexToString(delivery.output).startsWith(`${languageOf(i)} `);
      if (!right) wrong.push(`${id}: status ${delivery.status}, ${delivery.output}`);
    }
    const peakRssMiB = Object.fromEntries(daemons.map((daemon) => [daemon.name, peakRssOf(daemon)]));
    const refusals = daemons.reduce(
      (sum, daemon) =>
        sum + daemon.run.text.split("not calling a peer's published co-signing endpoint").length - 1,
      0,
    );
    await stopDaemons(daemons);
    daemons = [];
    return {
      report: report(options.scenario, options.injected, ids.length, result, durationMs),
      attackerGainWei: (await wealthOf(devnet, attacker.address)) - wealthBefore,
      peakRssMiB,
      latencyMs: latencyOf(honest, events),
      penaltiesBy,
      honestLateOnOwn,
      targetConnections: target.connections,
      targetRequests: target.requests,
      targetBytesSent: target.bytesSent,
      wrong,
      refusals,
    };
  } finally {
    await stopDaemons(daemons);
    await devnet.stop();
    await target.close();
  }
}

/** What an account is worth to its owner: its ether, its stake and its earnings not yet withdrawn. */
async function wealthOf(devnet: Devnet, account: Hex): Promise<bigint> {
  const { coordinator, ledger, publicClient } = devnet.sibyl;
  const [ether, operator, earned] = await Promise.all([
    publicClient.getBalance({ address: account }),
    ledger.read.operatorOf([account]),
    coordinator.read.balanceOf([account]),
  ]);
  return ether + operator.stake + earned;
}

/** Each request's wall time from first seen requested to first seen delivered, ms: median and worst. */
function latencyOf(ids: bigint[], events: ReturnType<typeof watchEvents>) {
  const latencies = ids
    .flatMap((id) => {
      const [asked, answered] = [events.requested.get(id), events.delivered.get(id)];
      return asked === undefined || answered === undefined ? [] : [answered - asked];
    })
    .sort((a, b) => a - b);
  return {
    p50: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
    max: latencies[latencies.length - 1] ?? Number.NaN,
  };
}

/** A daemon's peak resident memory (VmHWM), MiB. */
function peakRssOf(daemon: Daemon): number {
  const pid = daemon.run.child.pid;
  try {
    const kib = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN);
    return Math.round(kib / 1024);
  } catch {
    return Number.NaN;
  }
}
