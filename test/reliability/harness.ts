/**
 * What every reliability scenario reports, and the one way answers are counted: from the chain's
 * ResultDelivered events, so a scenario cannot pass on the node's word. The mocha tests run each
 * scenario small; `npm run soak` runs them large and prints the table.
 */
import { type Address, getAddress, type Hex } from "viem";
import { sibylAbi } from "../../src/shared/abi/generated.js";
import { eventSources, resolveSibylContracts } from "../../src/shared/contracts.js";
import { ResultStatus } from "../../src/shared/encoding.js";
import type { Devnet } from "../helpers/devnet.js";

export interface ScenarioReport {
  scenario: string;
  injected: string;
  sent: number;
  answeredOk: number;
  answeredError: number;
  lost: number;
  doubleAnswered: number;
  durationMs: number;
}

/** Sizes a scenario runs at: small in `npm test`, large in `npm run soak`. */
export interface ScenarioSize {
  requests: number;
  /** Soak only: random kill times and the like. */
  soak: boolean;
}

export interface Tally {
  answeredOk: number;
  answeredError: number;
  lost: number;
  doubleAnswered: number;
  /** Every delivery per request id, for assertions that need the events. */
  deliveries: Map<bigint, Array<{ status: number; output: Hex; coordinator: Address; sequence: bigint }>>;
}

/** Counts how `requestIds` were answered onchain since `fromBlock`, by every coordinator version. */
export async function tally(
  devnet: Devnet,
  requestIds: readonly bigint[],
  fromBlock: bigint,
): Promise<Tally> {
  const { publicClient, log } = devnet.sibyl;
  const contracts = await resolveSibylContracts(publicClient, log.address);
  const events = await publicClient.getContractEvents({
    address: eventSources(contracts),
    abi: sibylAbi,
    eventName: "ResultDelivered",
    fromBlock,
    strict: true,
  });
  const deliveries: Tally["deliveries"] = new Map();
  for (const event of events) {
    const id = event.args.requestId;
    const list = deliveries.get(id) ?? [];
    list.push({
      status: event.args.status,
      output: event.args.output,
      coordinator: getAddress(event.address),
      sequence: event.args.sequence,
    });
    deliveries.set(id, list);
  }
  let answeredOk = 0;
  let answeredError = 0;
  let lost = 0;
  let doubleAnswered = 0;
  for (const id of requestIds) {
    const list = deliveries.get(id) ?? [];
    if (list.length === 0) lost++;
    if (list.length > 1) doubleAnswered++;
    if (list[0]?.status === ResultStatus.Ok) answeredOk++;
    else if (list[0] !== undefined) answeredError++;
  }
  return { answeredOk, answeredError, lost, doubleAnswered, deliveries };
}

/** Polls until every request has an answer onchain or `timeoutMs` passes; returns the final tally. */
export async function settle(
  devnet: Devnet,
  requestIds: readonly bigint[],
  fromBlock: bigint,
  timeoutMs = 180_000,
) {
  const started = Date.now();
  for (;;) {
    const current = await tally(devnet, requestIds, fromBlock);
    if (current.lost === 0 || Date.now() - started > timeoutMs) return current;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Waits until every delivered result is proven (the coordinator's queue is empty) or `timeoutMs`
 * passes; returns how many are still unproven.
 */
export async function waitForProofs(devnet: Devnet, timeoutMs = 120_000): Promise<bigint> {
  const started = Date.now();
  for (;;) {
    const [proven, delivered] = await devnet.sibyl.log.read.pendingLog();
    if (proven === delivered || Date.now() - started > timeoutMs) return delivered - proven;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** How many transactions from each of `senders` (lower-case addresses) reverted since `fromBlock`. */
export async function revertedTransactions(
  devnet: Devnet,
  senders: readonly string[],
  fromBlock: bigint,
): Promise<Map<string, number>> {
  const { publicClient } = devnet.sibyl;
  const reverted = new Map(senders.map((sender) => [sender.toLowerCase(), 0]));
  const latest = await publicClient.getBlockNumber();
  for (let block = fromBlock; block <= latest; block++) {
    const { transactions } = await publicClient.getBlock({ blockNumber: block, includeTransactions: true });
    for (const tx of transactions) {
      const count = reverted.get(tx.from.toLowerCase());
      if (count === undefined) continue;
      const receipt = await publicClient.getTransactionReceipt({ hash: tx.hash });
      if (receipt.status !== "success") reverted.set(tx.from.toLowerCase(), count + 1);
    }
  }
  return reverted;
}

export function report(
  scenario: string,
  injected: string,
  sent: number,
  result: Tally,
  durationMs: number,
): ScenarioReport {
  const { answeredOk, answeredError, lost, doubleAnswered } = result;
  return { scenario, injected, sent, answeredOk, answeredError, lost, doubleAnswered, durationMs };
}
