/**
 * Turns one block range of coordinator logs into a store update and the tree after it. The tree is
 * rebuilt from BatchAppended (where and how big) and the ResultDelivered events of the same
 * transaction (each leaf's fields), so the node needs nothing but the chain to know the result log.
 */
import type { Hex, Log } from "viem";
import { sibylCoordinatorAbi } from "../../shared/abi/generated.js";
import { EMPTY_LEAF, type ResultStatus, resultLeaf } from "../../shared/encoding.js";
import { SibylError } from "../../shared/errors.js";
import type { IncrementalMerkleTree } from "../../shared/merkle.js";
import type { NewJob, RangeUpdate } from "../store/store.js";

export const WATCHED_EVENTS = sibylCoordinatorAbi.filter(
  (item) =>
    item.type === "event" &&
    ["InferenceRequested", "ResultDelivered", "BatchAppended", "RequestCancelled"].includes(item.name),
);

type WatchedLog = Log<bigint, number, false, undefined, true, typeof WATCHED_EVENTS>;

export class TreeMismatchError extends SibylError {
  override name = "TreeMismatchError";
}

export interface DecodedRange extends Omit<RangeUpdate, "checkpoint" | "keep"> {
  batches: number;
}

/**
 * Applies `logs` (in chain order) to `tree` and collects what the store must learn. Requests for
 * models this node does not serve are left for other operators.
 */
export function applyLogs(
  logs: readonly WatchedLog[],
  tree: IncrementalMerkleTree,
  served: ReadonlySet<Hex>,
) {
  const update: DecodedRange = { requested: [], delivered: [], cancelled: [], batches: 0 };
  const byTransaction = new Map<Hex, WatchedLog[]>();
  for (const log of logs) {
    const group = byTransaction.get(log.transactionHash) ?? [];
    group.push(log);
    byTransaction.set(log.transactionHash, group);
  }
  for (const group of byTransaction.values()) {
    const leaves = new Map<bigint, bigint>();
    for (const log of group) {
      if (log.eventName === "InferenceRequested") {
        const { commitment, input } = log.args;
        if (served.has(commitment.modelId)) update.requested.push(newJob(commitment, input, log.blockNumber));
      } else if (log.eventName === "ResultDelivered") {
        const { requestId, modelId, operator, inputHash, leafIndex, status, output, metadata } = log.args;
        leaves.set(
          leafIndex,
          resultLeaf(
            { requestId, modelId, inputHash },
            { status: status as ResultStatus, output, metadata },
            operator,
          ),
        );
        update.delivered.push({ requestId, block: log.blockNumber });
      } else if (log.eventName === "RequestCancelled") {
        update.cancelled.push(log.args.requestId);
      }
    }
    // BatchAppended precedes its ResultDelivered events, so subtrees are appended once the
    // transaction's leaves are all known.
    for (const log of group) {
      if (log.eventName !== "BatchAppended") continue;
      const { startIndex, batchSize, count, oldRoot, newRoot } = log.args;
      if (tree.root !== oldRoot) {
        throw new TreeMismatchError(
          `batch at ${startIndex} starts from root ${oldRoot}, the node has ${tree.root}`,
        );
      }
      const subtree = Array.from({ length: Number(batchSize) }, (_, offset) => {
        const index = startIndex + BigInt(offset);
        return offset < Number(count) ? (leaves.get(index) ?? missingLeaf(index)) : EMPTY_LEAF;
      });
      const witness = tree.appendSubtree(subtree);
      if (witness.newRoot !== newRoot || witness.startIndex !== startIndex) {
        throw new TreeMismatchError(
          `batch at ${startIndex}: the chain's root ${newRoot}, the node's ${witness.newRoot}`,
        );
      }
      update.batches++;
    }
  }
  return update;
}

function newJob(commitment: NewJob["commitment"], input: Hex, block: bigint): NewJob {
  return { commitment: { ...commitment }, input, requestBlock: block };
}

function missingLeaf(index: bigint): never {
  throw new TreeMismatchError(`no ResultDelivered event for leaf ${index} in its batch transaction`);
}
