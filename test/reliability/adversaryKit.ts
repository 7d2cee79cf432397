/**
 * What the adversary scenarios share: daemon configs, escrow with headroom, reading request ids,
 * callback outcomes and daemon log lines, transaction order, an attacker's wealth, and what a call
 * it would make reverts with.
 */
import { type Address, BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from "viem";
import { quoteGasPrice } from "../../src/sdk/quoteGasPrice.js";
import { sibylAbi } from "../../src/shared/abi/generated.js";
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

/** What an account is worth to its owner: its ether, its stake and its coordinator balance. */
export async function wealthOf(devnet: Devnet, account: Address): Promise<bigint> {
  const { coordinator, ledger, publicClient } = devnet.sibyl;
  const [ether, operator, balance] = await Promise.all([
    publicClient.getBalance({ address: account }),
    ledger.read.operatorOf([account]),
    coordinator.read.balanceOf([account]),
  ]);
  return ether + operator.stake + balance;
}

/**
 * The custom error a simulated call reverts with (another Sibyl contract's too, e.g. the log's under
 * a fulfil), or undefined if it would pass: how a rational attacker tries a move before paying for it.
 */
export async function revertOf(simulate: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await simulate();
    return undefined;
  } catch (error) {
    if (!(error instanceof BaseError)) return String(error);
    const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
    if (!(reverted instanceof ContractFunctionRevertedError)) return error.shortMessage;
    if (reverted.data?.errorName) return reverted.data.errorName;
    if (reverted.raw === undefined) return reverted.shortMessage;
    try {
      return decodeErrorResult({ abi: sibylAbi, data: reverted.raw }).errorName;
    } catch {
      return `unknown error ${reverted.raw.slice(0, 10)}`;
    }
  }
}
