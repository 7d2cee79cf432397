/**
 * Turns one block range of a deployment's logs (its coordinators' and its result log's) into a store
 * update and the result log after it. Each transaction's ResultDelivered events queue their leaves
 * (recomputed from the events' fields) by sequence; each BatchAppended moves the queue's first leaves
 * into the tree. So the node needs nothing but the chain to know the result log, proven or pending.
 */
import type { Hex, Log } from "viem";
import { sibylAbi } from "../../shared/abi/generated.js";
import { type ResultStatus, resultLeaf } from "../../shared/encoding.js";
import type { NewJob, RangeUpdate } from "../store/store.js";
import type { LogMirror } from "./logMirror.js";

export const WATCHED_EVENTS = sibylAbi.filter(
  (item) =>
    item.type === "event" &&
    [
      "InferenceRequested",
      "ResultDelivered",
      "BatchAppended",
      "RequestCancelled",
      "RequestReassigned",
      "CoordinatorAuthorized",
    ].includes(item.name),
);

type WatchedLog = Log<bigint, number, false, undefined, true, typeof WATCHED_EVENTS>;

export interface DecodedRange extends Omit<RangeUpdate, "checkpoint" | "keep"> {
  batches: number;
}

/**
 * Applies `logs` (in chain order) to `log` and collects what the store must learn. Requests for
 * models this node does not serve are left for other operators.
 */
export function applyLogs(logs: readonly WatchedLog[], log: LogMirror, served: ReadonlySet<Hex>) {
  const update: DecodedRange = { requested: [], delivered: [], cancelled: [], reassigned: [], batches: 0 };
  const byTransaction = new Map<Hex, WatchedLog[]>();
  for (const entry of logs) {
    const group = byTransaction.get(entry.transactionHash) ?? [];
    group.push(entry);
    byTransaction.set(entry.transactionHash, group);
  }
  for (const group of byTransaction.values()) {
    const results: Array<{ sequence: bigint; leaf: bigint }> = [];
    for (const entry of group) {
      if (entry.eventName === "InferenceRequested") {
        const { commitment, input } = entry.args;
        if (served.has(commitment.modelId))
          update.requested.push(newJob(commitment, input, entry.blockNumber));
      } else if (entry.eventName === "ResultDelivered") {
        const { requestId, modelId, operator, inputHash, sequence, status, output, metadata } = entry.args;
        const leaf = resultLeaf(
          { requestId, modelId, inputHash },
          { status: status as ResultStatus, output, metadata },
          operator,
        );
        results.push({ sequence, leaf });
        update.delivered.push({ requestId, block: entry.blockNumber });
      } else if (entry.eventName === "RequestCancelled") {
        update.cancelled.push(entry.args.requestId);
      } else if (entry.eventName === "RequestReassigned") {
        update.reassigned.push({ ...entry.args.commitment });
      }
    }
    // A fulfil's BatchAppended precedes its own ResultDelivered events: queue the leaves first. In
    // sequence order, which is the log's even when a callback nested another version's delivery
    // inside this one (its events come first, its sequences after).
    log.deliver(results.sort((a, b) => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0)));
    for (const entry of group) {
      if (entry.eventName !== "BatchAppended") continue;
      log.append(entry.args);
      update.batches++;
    }
  }
  return update;
}

function newJob(commitment: NewJob["commitment"], input: Hex, block: bigint): NewJob {
  return { commitment: { ...commitment }, input, requestBlock: block };
}
