/**
 * Hostile consumers through the real node: callbacks that revert, burn all their gas, return a
 * megabyte, or re-enter fulfil/cancel/request. Their results and everyone else's must still land.
 */
import { stringToHex } from "viem";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { sendRequests, startDevnet } from "../helpers/devnet.js";
import { quoteEscrow } from "../helpers/sibyl.js";
import { report, type ScenarioReport, type ScenarioSize, settle } from "./harness.js";

const MODEL = { provider: "builtin", name: "language-id", builtin: "language-id" } as const;
export const HOSTILE_MODES = [
  "Revert",
  "BurnGas",
  "ReturnBomb",
  "ReenterFulfill",
  "ReenterCancel",
  "ReenterRequest",
];

export interface HostileCheck {
  report: ScenarioReport;
  /** CallbackOutcome per hostile mode (0 skipped, 1 succeeded, 2 failed). */
  outcomes: Record<string, number | undefined>;
  /** Modes whose re-entry got through (must be none). */
  reentered: string[];
}

export async function runHostileConsumers(size: ScenarioSize): Promise<HostileCheck> {
  const started = Date.now();
  const devnet = await startDevnet([MODEL]);
  const node = devnet.startNode(await devnet.writeConfig({ batching: { maxSize: 16, maxWaitMs: 200 } }));
  try {
    await node.waitFor("sibyl node started", 120_000);
    const { coordinator, publicClient } = devnet.sibyl;
    const modelId = modelIdFromName(MODEL.name);
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const consumers = await Promise.all(
      HOSTILE_MODES.map((_, mode) =>
        devnet.connection.viem.deployContract("HostileConsumer", [coordinator.address, mode]),
      ),
    );
    const hostileIds: bigint[] = [];
    for (const consumer of consumers) {
      const fee = await quoteEscrow(devnet.sibyl, modelId, 200_000);
      const hash = await consumer.write.ask([modelId, 200_000], { value: fee });
      const receipt = await publicClient.waitForTransactionReceipt({ hash });
      const [event] = await coordinator.getEvents.InferenceRequested({}, { blockHash: receipt.blockHash });
      hostileIds.push(event?.args.requestId as bigint);
    }
    const honestIds = await sendRequests(devnet, size.requests, modelId, (i) =>
      stringToHex(`Hello there, friend number ${i}`),
    );
    const ids = [...hostileIds, ...honestIds];
    const result = await settle(devnet, ids, fromBlock);
    const delivered = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
    const outcomes: Record<string, number | undefined> = {};
    HOSTILE_MODES.forEach((mode, i) => {
      outcomes[mode] = delivered.find((event) => event.args.requestId === hostileIds[i])?.args.callback;
    });
    const reentered: string[] = [];
    for (const [i, consumer] of consumers.entries()) {
      if (await consumer.read.reentrySucceeded()) reentered.push(HOSTILE_MODES[i] as string);
    }
    return {
      report: report(
        "hostile consumers",
        "revert, gas burn, 1 MB return, re-entry",
        ids.length,
        result,
        Date.now() - started,
      ),
      outcomes,
      reentered,
    };
  } finally {
    await node.stop("SIGTERM");
    await devnet.stop();
  }
}
