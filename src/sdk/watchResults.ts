import type { Address, Chain, Client, Transport } from "viem";
import { getBlockNumber, getContractEvents } from "viem/actions";
import { sibylAbi } from "../shared/abi/generated.js";
import { eventSources, resolveSibylContracts } from "../shared/contracts.js";
import { getBatches } from "./getBatches.js";
import { type SibylResult, toSibylResult } from "./types.js";
import { type ModelReference, resolveModelId } from "./utils.js";
import { RESULT_POLLING_INTERVAL_MS } from "./waiting.js";

export type WatchResultsParameters = {
  coordinator: Address;
  /**
   * Called once per result, in chain order, when it is delivered: with its `leafIndex` when the proof
   * came in the same transaction, without it while the proof is pending.
   */
  onResult: (result: SibylResult) => void;
  /** Called once for each result reported pending, when a later proof puts it in the log. */
  onProven?: (result: SibylResult) => void;
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
  /** Time between polls in ms; defaults to the client's polling interval, at most 1 s. */
  pollingInterval?: number;
};

/** Stops the watch; no callback runs after it returns. */
export type WatchResultsReturnType = () => void;

/**
 * Calls `onResult` for each result the coordinator delivers, optionally only for some requests or one
 * model, each once it has `confirmations` blocks, and `onProven` when a result delivered without a
 * proof is proven later. Each block range is read once, so pick enough
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
  const { coordinator, onResult, onProven, onError, requestIds, model, confirmations = 1 } = parameters;
  const pollingInterval =
    parameters.pollingInterval ?? Math.min(client.pollingInterval, RESULT_POLLING_INTERVAL_MS);
  const lag = BigInt(Math.max(confirmations, 1) - 1);
  const wanted = requestIds && new Set(requestIds);
  let next = parameters.fromBlock;
  // Results reported without a proof, by sequence, while onProven waits for their batch.
  const unproven = new Map<bigint, SibylResult>();
  let active = true;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const report = (error: unknown) => onError?.(error instanceof Error ? error : new Error(String(error)));
  const poll = async () => {
    try {
      const head = await getBlockNumber(client, { cacheTime: 0 });
      next ??= head;
      const to = head - lag;
      if (to < next) return;
      const from = next;
      const [events, batches] = await Promise.all([
        getContractEvents(client, {
          // Asked each poll: a coordinator the log authorizes meanwhile is followed.
          address: eventSources(await resolveSibylContracts(client, coordinator, to)),
          abi: sibylAbi,
          eventName: "ResultDelivered",
          args: {
            // An empty list would be no topic filter at all; `wanted` below still filters it to nothing.
            ...(requestIds && requestIds.length > 0 ? { requestId: [...requestIds] } : {}),
            ...(model === undefined ? {} : { modelId: resolveModelId(model) }),
          },
          fromBlock: from,
          toBlock: to,
          strict: true,
        }),
        getBatches(client, { coordinator, fromBlock: from, toBlock: to }),
      ]);
      // The range counts as read before any callback runs, so a throwing callback never repeats a result.
      next = to + 1n;
      const deliver = (callback: (result: SibylResult) => void, result: SibylResult) => {
        try {
          callback(result);
        } catch (error) {
          report(error);
        }
      };
      for (const [sequence, result] of unproven) {
        if (!active) return;
        const proven = toSibylResult(result, result, batches);
        if (proven.batch === undefined || onProven === undefined) continue;
        unproven.delete(sequence);
        deliver(onProven, proven);
      }
      for (const event of events) {
        if (!active) return;
        if (wanted && !wanted.has(event.args.requestId)) continue;
        const result = toSibylResult(event.args, event, batches);
        if (result.batch === undefined && onProven) unproven.set(result.sequence, result);
        deliver(onResult, result);
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
