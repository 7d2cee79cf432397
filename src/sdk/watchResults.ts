import type { Address, Chain, Client, Transport } from "viem";
import { getBlockNumber, getContractEvents } from "viem/actions";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { type SibylResult, toSibylResult } from "./types.js";
import { type ModelReference, resolveModelId } from "./utils.js";

export type WatchResultsParameters = {
  coordinator: Address;
  /** Called once per result, in chain order. */
  onResult: (result: SibylResult) => void;
  /** Called when a poll or `onResult` throws; the watch goes on. */
  onError?: (error: Error) => void;
  /** Only results for these requests. */
  requestIds?: readonly bigint[];
  /** Only results of this model (name or bytes32 id). */
  model?: ModelReference;
  /** Blocks a result's block must have, itself included, before it is reported; default 1. */
  confirmations?: number;
  /** First block to report from; defaults to the newest block when the watch starts. */
  fromBlock?: bigint;
  /** Time between polls; defaults to the client's polling interval. */
  pollingInterval?: number;
};

/** Stops the watch; no callback runs after it returns. */
export type WatchResultsReturnType = () => void;

/**
 * Calls `onResult` for each result the coordinator delivers, optionally only for some requests or one
 * model, each once it has `confirmations` blocks. Each block range is read once, so pick enough
 * confirmations for the chain's reorg depth: a result reported and then reorged away is not retracted.
 *
 * @example
 * import { watchResults } from "sibyl";
 *
 * const unwatch = watchResults(client, {
 *   coordinator: "0x5FbD…",
 *   model: "language-id",
 *   onResult: (result) => console.log(result.requestId, result.outputText),
 * });
 * // later
 * unwatch();
 */
export function watchResults<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: WatchResultsParameters,
): WatchResultsReturnType {
  const { coordinator, onResult, onError, requestIds, model, confirmations = 1 } = parameters;
  const pollingInterval = parameters.pollingInterval ?? client.pollingInterval;
  const lag = BigInt(Math.max(confirmations, 1) - 1);
  const wanted = requestIds && new Set(requestIds);
  let next = parameters.fromBlock;
  let active = true;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const report = (error: unknown) => onError?.(error instanceof Error ? error : new Error(String(error)));
  const poll = async () => {
    try {
      const head = await getBlockNumber(client, { cacheTime: 0 });
      next ??= head;
      const to = head - lag;
      if (to < next) return;
      const events = await getContractEvents(client, {
        address: coordinator,
        abi: sibylCoordinatorAbi,
        eventName: "ResultDelivered",
        args: {
          // An empty list would be no topic filter at all; `wanted` below still filters it to nothing.
          ...(requestIds && requestIds.length > 0 ? { requestId: [...requestIds] } : {}),
          ...(model === undefined ? {} : { modelId: resolveModelId(model) }),
        },
        fromBlock: next,
        toBlock: to,
        strict: true,
      });
      // The range counts as read before any callback runs, so a throwing callback never repeats a result.
      next = to + 1n;
      for (const event of events) {
        if (!active) return;
        if (wanted && !wanted.has(event.args.requestId)) continue;
        try {
          onResult(toSibylResult(event.args, event));
        } catch (error) {
          report(error);
        }
      }
    } catch (error) {
      if (active) report(error);
    } finally {
      if (active) timer = setTimeout(poll, pollingInterval);
    }
  };
  void poll();

  return () => {
    active = false;
    clearTimeout(timer);
  };
}
