/**
 * What the adversary scenarios share: daemon configs, escrow with headroom, reading request ids,
 * callback outcomes and daemon log lines, and transaction order.
 */
import type { Hex } from "viem";
import { quoteGasPrice } from "../../src/sdk/quoteGasPrice.js";
import type { Devnet } from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";

/** A daemon's config that reaches the chain through `rpcUrl` and keeps its state in `database`. */
export function nodeConfig(devnet: Devnet, rpcUrl: string, database: string) {
  return {
    chain: { rpcUrl, coordinator: devnet.sibyl.coordinator.address, pollIntervalMs: 100 },
    database: { path: database },
    batching: { maxSize: 16, maxWaitMs: 200 },
  };
}

export function minedBefore(
  first: { blockNumber: bigint; transactionIndex: number },
  second: { blockNumber: bigint; transactionIndex: number },
): boolean {
  return (
    first.blockNumber < second.blockNumber ||
    (first.blockNumber === second.blockNumber && first.transactionIndex < second.transactionIndex)
  );
}

/**
 * Escrow for twice the gas price the SDK quotes: a requester's "most I accept" (unused escrow comes
 * back). At the SDK's bare quote, with the base fee near zero as on an idle devnet, a request left alone
 * in the queue is never worth its operator's while (the node's gas bound for a batch of one exceeds the
 * coordinator's deliveryGas the escrow was sized with), which is not what these scenarios are about.
 */
export async function escrowFor(devnet: Devnet, modelId: Hex, callbackGasLimit = 0): Promise<bigint> {
  const gasPrice = 2n * (await quoteGasPrice(devnet.sibyl.publicClient));
  return devnet.sibyl.coordinator.read.estimateFee([modelId, callbackGasLimit, gasPrice]);
}

/** sendRequests' default senders, escrowing with escrowFor. */
export function headroomSenders(devnet: Devnet) {
  return [devnet.sibyl.users.slice(2, 12), (modelId: Hex) => escrowFor(devnet, modelId)] as const;
}

export async function requestIdIn(devnet: Devnet, hash: Hex): Promise<bigint> {
  const { coordinator, publicClient } = devnet.sibyl;
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  const [event] = await coordinator.getEvents.InferenceRequested({}, { blockHash: receipt.blockHash });
  return event?.args.requestId as bigint;
}

export function countLines(node: ChildRun, message: string): number {
  return node.text.split("\n").filter((line) => line.includes(`"msg":"${message}"`)).length;
}

/** The callback outcome of each request's first delivery since `fromBlock`. */
export async function callbackOutcomes(devnet: Devnet, fromBlock: bigint): Promise<Map<bigint, number>> {
  const outcomes = new Map<bigint, number>();
  for (const event of await devnet.sibyl.coordinator.getEvents.ResultDelivered({}, { fromBlock })) {
    const id = event.args.requestId as bigint;
    if (!outcomes.has(id)) outcomes.set(id, event.args.callback as number);
  }
  return outcomes;
}
