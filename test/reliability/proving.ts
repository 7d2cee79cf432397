/**
 * Results delivered at once and proven later, under the faults that sit between the two: another
 * operator proves what one delivered; a reorg removes proofs (deliveries stay) or deliveries (requests
 * stay); a burst fills the queue of unproven results (back-pressure). Every request must end answered
 * exactly once on the final chain, every delivered result proven, and each daemon's tree equal to the
 * contract's.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelIdFromName } from "../../src/shared/encoding.js";
import {
  type Devnet,
  nodeCheckpoint,
  nodeRootWhenSynced,
  sendRequests,
  startDevnet,
} from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";
import { until } from "../helpers/wait.js";
import { countLogged, LANGUAGE_ID, registerOperator, rpc, sentence } from "./chainFaults.js";
import {
  report,
  type ScenarioReport,
  type ScenarioSize,
  settle,
  type tally,
  waitForProofs,
} from "./harness.js";

const MODEL_ID = modelIdFromName(LANGUAGE_ID.name);
/** Far beyond any test: the daemon never proves on its own. */
const NEVER_MS = 3_600_000;

/** A running daemon of a scenario, by name, with its database file (relative to the devnet's dir). */
interface Daemon {
  name: string;
  run: ChildRun;
  database: string;
}

export interface ProvingCheck {
  report: ScenarioReport;
  /** Delivered results still unproven at the end. */
  unproven: bigint;
  /** Daemons whose tree is not the contract's at the end. */
  rootMismatches: string[];
}

/**
 * Operator A delivers but never proves (its proving wait is an hour); operator B, serving the same
 * model, proves the queue, A's results included.
 */
export async function proofByAnotherOperator(devnet: Devnet, size: ScenarioSize) {
  const started = Date.now();
  const lazyKey = await registerOperator(devnet, 17);
  const lazy = devnet.startNode(
    await devnet.writeConfig(
      { database: { path: "lazy.db" }, proving: { maxWaitMs: NEVER_MS } },
      "lazy.json",
    ),
    { SIBYL_OPERATOR_KEY: lazyKey },
  );
  const prover = devnet.startNode(
    await devnet.writeConfig({ database: { path: "prover.db" }, proving: { maxWaitMs: 500 } }, "prover.json"),
  );
  const nodes: Daemon[] = [
    { name: "lazy", run: lazy, database: "lazy.db" },
    { name: "prover", run: prover, database: "prover.db" },
  ];
  try {
    await Promise.all([lazy, prover].map((run) => run.waitFor("sibyl node started", 120_000)));
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const lazyAddress = privateKeyToAccount(lazyKey as Hex).address.toLowerCase();
    const ids = await sendRequests(devnet, size.requests, MODEL_ID, (i) => sentence("en", i));
    const result = await settle(devnet, ids, fromBlock);
    const unproven = await waitForProofs(devnet);
    const { coordinator, log } = devnet.sibyl;
    const delivered = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
    const lazySequences = delivered
      .filter((event) => String(event.args.operator).toLowerCase() === lazyAddress)
      .map((event) => event.args.sequence as bigint);
    const batches = await log.getEvents.BatchAppended({}, { fromBlock });
    const provenForLazyBy = new Set(
      batches
        .filter((batch) => {
          const first = batch.args.firstSequence as bigint;
          const end = first + (batch.args.count as bigint);
          return lazySequences.some((sequence) => sequence >= first && sequence < end);
        })
        .map((batch) => String(batch.args.prover).toLowerCase()),
    );
    return {
      ...(await ending(
        devnet,
        "proof by another operator",
        "A delivers, never proves; B proves",
        ids,
        result,
        started,
        unproven,
        nodes,
      )),
      lazyAddress,
      lazyDelivered: lazySequences.length,
      provenForLazyBy: [...provenForLazyBy],
      lazyProofs: countLogged(lazy, "pending results proved"),
    };
  } finally {
    await stopAll(devnet, nodes);
    await exitOperator(devnet, 17);
  }
}

/**
 * An operator that is down (registered, no daemon): once each of its requests' windows passes, the
 * running daemon takes it over (reassign) and delivers it without a proof.
 */
export async function takeoverOfADownOperator(devnet: Devnet, size: ScenarioSize) {
  const started = Date.now();
  const downKey = await registerOperator(devnet, 16);
  const downAddress = privateKeyToAccount(downKey as Hex).address.toLowerCase();
  const node = devnet.startNode(
    await devnet.writeConfig({ database: { path: "takeover.db" } }, "takeover.json"),
  );
  const nodes: Daemon[] = [{ name: "node", run: node, database: "takeover.db" }];
  const { coordinator, publicClient } = devnet.sibyl;
  try {
    await node.waitFor("sibyl node started", 120_000);
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const ids = await sendRequests(devnet, size.requests, MODEL_ID, (i) => sentence("de", i));
    const result = await settle(devnet, ids, fromBlock);
    const unproven = await waitForProofs(devnet);
    const requested = await coordinator.getEvents.InferenceRequested({}, { fromBlock });
    const assignedToDown = requested.filter(
      (event) => String(event.args.commitment?.operator).toLowerCase() === downAddress,
    ).length;
    const reassigned = await coordinator.getEvents.RequestReassigned({}, { fromBlock });
    const deliveredByDown = (
      await coordinator.getEvents.ResultDelivered({ operator: downAddress as Hex }, { fromBlock })
    ).length;
    return {
      ...(await ending(
        devnet,
        "takeover of a down operator",
        "an operator registered, its daemon never started",
        ids,
        result,
        started,
        unproven,
        nodes,
      )),
      assignedToDown,
      reassigned: reassigned.length,
      deliveredByDown,
    };
  } finally {
    await stopAll(devnet, nodes);
    await exitOperator(devnet, 16);
  }
}

/**
 * A reorg that removes proofs but keeps the deliveries they proved (the chain is reverted to a
 * snapshot taken between the two), then one that removes deliveries but keeps their requests.
 */
export async function reorgBetweenDeliveryAndProof(devnet: Devnet, size: ScenarioSize) {
  const started = Date.now();
  // Deliveries wait a second for company and proofs three, so snapshots fall between the steps.
  const node = devnet.startNode(
    await devnet.writeConfig(
      {
        database: { path: "reorg-proofs.db" },
        batching: { maxSize: 64, maxWaitMs: 1_000 },
        proving: { maxWaitMs: 3_000 },
      },
      "reorg-proofs.json",
    ),
  );
  const nodes: Daemon[] = [{ name: "node", run: node, database: "reorg-proofs.db" }];
  const { log, publicClient } = devnet.sibyl;
  try {
    await node.waitFor("sibyl node started", 120_000);
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;

    // 1. Deliveries land, a snapshot, the proof lands; revert: the proof is gone, the deliveries stay.
    const first = await sendRequests(devnet, size.requests, MODEL_ID, (i) => sentence("fr", i));
    await settle(devnet, first, fromBlock);
    const [provenAtSnapshot] = await log.read.pendingLog();
    const beforeProof = await rpc(devnet, "evm_snapshot");
    await until(async () => {
      const [proven, delivered] = await log.read.pendingLog();
      return proven === delivered && proven > provenAtSnapshot ? true : undefined;
    });
    await caughtUp(devnet, "reorg-proofs.db");
    const rewindsBefore = countLogged(node, "chain reorganised");
    await rpc(devnet, "evm_revert", [beforeProof]);
    const proofRemoved = (await log.read.pendingLog())[0] === provenAtSnapshot;
    await rpc(devnet, "hardhat_mine", ["0x3"]);
    await until(() => (countLogged(node, "chain reorganised") > rewindsBefore ? true : undefined), 60_000);

    // 2. Requests land, a snapshot, their deliveries land; revert: the requests stay, answered again.
    const second = await sendRequests(devnet, size.requests, MODEL_ID, (i) => sentence("de", i));
    const beforeDelivery = await rpc(devnet, "evm_snapshot");
    const deliveredBlock = await publicClient.getBlockNumber();
    await settle(devnet, second, deliveredBlock + 1n);
    await caughtUp(devnet, "reorg-proofs.db");
    const rewindsAgain = countLogged(node, "chain reorganised");
    await rpc(devnet, "evm_revert", [beforeDelivery]);
    await rpc(devnet, "hardhat_mine", ["0x3"]);
    await until(() => (countLogged(node, "chain reorganised") > rewindsAgain ? true : undefined), 60_000);

    const ids = [...first, ...second];
    const result = await settle(devnet, ids, fromBlock);
    const unproven = await waitForProofs(devnet);
    return {
      ...(await ending(
        devnet,
        "reorg between delivery and proof",
        "a proof, then deliveries, reverted",
        ids,
        result,
        started,
        unproven,
        nodes,
      )),
      proofRemoved,
    };
  } finally {
    await stopAll(devnet, nodes);
  }
}

/**
 * A burst larger than the daemon lets wait for proofs (proving.maxPending): it stops delivering while
 * the queue is full and goes on as proofs land; nothing is lost and the queue never passes the limit.
 */
export async function queueFullUnderBurst(devnet: Devnet, size: ScenarioSize, maxPending: number) {
  const started = Date.now();
  const node = devnet.startNode(
    await devnet.writeConfig(
      {
        database: { path: "queue-full.db" },
        batching: { maxSize: 16, maxWaitMs: 50 },
        proving: { maxPending, batchSize: maxPending, maxWaitMs: 2_000 },
      },
      "queue-full.json",
    ),
  );
  const nodes: Daemon[] = [{ name: "node", run: node, database: "queue-full.db" }];
  try {
    await node.waitFor("sibyl node started", 120_000);
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const ids = await sendRequests(devnet, size.requests, MODEL_ID, (i) => sentence("es", i));
    const result = await settle(devnet, ids, fromBlock);
    const unproven = await waitForProofs(devnet);
    return {
      ...(await ending(
        devnet,
        "queue full under a burst",
        `${size.requests} at once, at most ${maxPending} unproven`,
        ids,
        result,
        started,
        unproven,
        nodes,
      )),
      mostPending: await mostPending(devnet, fromBlock),
      queueFullLogged: countLogged(node, "proof queue full") > 0,
    };
  } finally {
    await stopAll(devnet, nodes);
  }
}

/** The largest number of unproven results after any transaction since `fromBlock`, from the events. */
async function mostPending(devnet: Devnet, fromBlock: bigint): Promise<number> {
  const { coordinator, log } = devnet.sibyl;
  const [delivered, batches] = await Promise.all([
    coordinator.getEvents.ResultDelivered({}, { fromBlock }),
    log.getEvents.BatchAppended({}, { fromBlock }),
  ]);
  const steps = [
    ...delivered.map((event) => ({ at: order(event), change: 1 })),
    ...batches.map((event) => ({ at: order(event), change: -Number(event.args.count) })),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const [provenAtStart, deliveredAtStart] = await log.read.pendingLog({
    blockNumber: fromBlock - 1n,
  });
  let pending = Number(deliveredAtStart - provenAtStart);
  let most = pending;
  for (const step of steps) {
    pending += step.change;
    most = Math.max(most, pending);
  }
  return most;
}

function order(event: { blockNumber: bigint | null; logIndex: number | null }): bigint {
  return (event.blockNumber ?? 0n) * 100_000n + BigInt(event.logIndex ?? 0);
}

async function ending(
  devnet: Devnet,
  scenario: string,
  injected: string,
  ids: bigint[],
  result: Awaited<ReturnType<typeof tally>>,
  started: number,
  unproven: bigint,
  nodes: Daemon[],
): Promise<ProvingCheck> {
  const contractRoot = await devnet.sibyl.log.read.root();
  const rootMismatches: string[] = [];
  for (const { name, database } of nodes) {
    const root = await nodeRootWhenSynced(path.join(devnet.dir, database), contractRoot);
    if (root !== contractRoot) rootMismatches.push(`${name}: node ${root}, contract ${contractRoot}`);
  }
  return {
    report: report(scenario, injected, ids.length, result, Date.now() - started),
    unproven,
    rootMismatches,
  };
}

async function stopAll(devnet: Devnet, nodes: Daemon[]): Promise<void> {
  for (const { name, run } of nodes) {
    await run.stop("SIGTERM");
    writeFileSync(path.join(devnet.dir, `${name}.log`), run.text);
  }
}

/** Takes a test operator out of the active set again, so later scenarios are not assigned to it. */
async function exitOperator(devnet: Devnet, index: number): Promise<void> {
  const wallet = (await devnet.connection.viem.getWalletClients())[index];
  if (wallet === undefined) return;
  const hash = await devnet.sibyl.ledger.write.requestOperatorExit({ account: wallet.account });
  await devnet.sibyl.publicClient.waitForTransactionReceipt({ hash });
}

/** Waits until the daemon has read the chain up to its current head. */
async function caughtUp(devnet: Devnet, database: string): Promise<void> {
  const head = await devnet.sibyl.publicClient.getBlockNumber();
  await until(() =>
    (nodeCheckpoint(path.join(devnet.dir, database))?.block ?? 0) >= Number(head) ? true : undefined,
  );
}

/** Every scenario on one devnet, for the soak (larger sizes) and the fast suite. */
export async function runProving(size: ScenarioSize) {
  const devnet = await startDevnet([LANGUAGE_ID]);
  try {
    const another = await proofByAnotherOperator(devnet, size);
    const takeover = await takeoverOfADownOperator(devnet, size);
    const reorg = await reorgBetweenDeliveryAndProof(devnet, size);
    const queueFull = await queueFullUnderBurst(devnet, { ...size, requests: size.requests * 4 }, 8);
    return { another, takeover, reorg, queueFull };
  } finally {
    await devnet.stop();
  }
}
