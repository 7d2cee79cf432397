/**
 * The result log rebuilt from the coordinator's events alone, and the check of one leaf against the
 * onchain root: leaves enter the tree in the order results were delivered (their sequence), each
 * BatchAppended placing the results of firstSequence onwards from its startIndex. Pure and
 * browser-safe: the viem actions and the ethers adapter both decode their logs into these entries and
 * share this one implementation of the Merkle check.
 *
 * Rebuilding reads every batch since the coordinator was deployed, so callers outside a local chain
 * should start their log range at the coordinator's deployment block rather than block 0.
 */
import type { Address } from "viem";
import { EMPTY_LEAF, type ResultStatus, resultLeaf, TREE_DEPTH } from "../shared/encoding.js";
import { buildInclusionProof, verifyInclusionProof, zeroRoot } from "../shared/merkle.js";
import { IncompleteLogError } from "./errors.js";
import type { BatchAppendedArgs, ResultDeliveredArgs } from "./types.js";
import { type BytesInput, toBytesHex } from "./utils.js";

/** The two events the log is made of, decoded by whichever client read them. */
export type ResultLogEntry =
  | { eventName: "BatchAppended"; args: BatchAppendedArgs }
  | { eventName: "ResultDelivered"; args: ResultDeliveredArgs };

/** The BatchAppended entries, in log order. */
export function batchesOf(entries: readonly ResultLogEntry[]): BatchAppendedArgs[] {
  return entries
    .flatMap((entry) => (entry.eventName === "BatchAppended" ? [entry.args] : []))
    .sort((a, b) => (a.startIndex < b.startIndex ? -1 : a.startIndex > b.startIndex ? 1 : 0));
}

/**
 * Every slot of the log, in order: each batch's results (sequence firstSequence onwards) from its
 * startIndex, empty leaves for a batch's unused slots and for slots skipped to align a batch. Results
 * no batch holds yet (proof pending) are not in it. Throws IncompleteLogError when the entries cannot
 * be the whole log, so a short log read is never mistaken for an invalid result.
 */
export function rebuildLeaves(entries: readonly ResultLogEntry[]): bigint[] {
  const batches = batchesOf(entries);
  const results = new Map<bigint, ResultDeliveredArgs>();
  for (const entry of entries) {
    if (entry.eventName !== "ResultDelivered") continue;
    if (results.has(entry.args.sequence)) {
      throw new IncompleteLogError(`two results read for sequence ${entry.args.sequence}`);
    }
    results.set(entry.args.sequence, entry.args);
  }

  const first = batches[0];
  if (first === undefined) return [];
  if (first.oldRoot !== zeroRoot(TREE_DEPTH)) {
    throw new IncompleteLogError(
      `the first batch read, at leaf ${first.startIndex}, does not start the log`,
      {
        details: "read logs from the coordinator's deployment block",
      },
    );
  }
  batches.forEach((batch, i) => {
    const previous = batches[i - 1];
    if (previous !== undefined && batch.oldRoot !== previous.newRoot) {
      throw new IncompleteLogError(
        `a batch between leaf ${previous.startIndex} and leaf ${batch.startIndex} is missing from the log read`,
      );
    }
  });

  const last = batches[batches.length - 1] as BatchAppendedArgs;
  const slots: bigint[] = new Array(Number(last.startIndex + last.batchSize)).fill(EMPTY_LEAF);
  for (const batch of batches) {
    for (let offset = 0n; offset < batch.count; offset++) {
      const sequence = batch.firstSequence + offset;
      const result = results.get(sequence);
      if (result === undefined) {
        throw new IncompleteLogError(
          `no ResultDelivered event was read for sequence ${sequence} (leaf ${batch.startIndex + offset})`,
        );
      }
      slots[Number(batch.startIndex + offset)] = deliveredLeaf(result);
    }
  }
  return slots;
}

/** The leaf of a result exactly as its event says it was delivered. */
export function deliveredLeaf(result: ResultDeliveredArgs): bigint {
  return claimedLeaf(result, {});
}

/** A result someone claims for a request; each field left out is taken from the chain's event. */
export interface ResultClaim {
  /** Hex, bytes, or text sent as UTF-8 (the same rule as a request's input). */
  output?: BytesInput;
  status?: ResultStatus;
  metadata?: BytesInput;
  /** The operator said to have delivered it. */
  operator?: Address;
}

/** The leaf of `result` with each field of `claim` in place of the event's. */
export function claimedLeaf(result: ResultDeliveredArgs, claim: ResultClaim): bigint {
  return resultLeaf(
    result,
    {
      status: claim.status ?? (result.status as ResultStatus),
      output: claim.output === undefined ? result.output : toBytesHex(claim.output),
      metadata: claim.metadata === undefined ? result.metadata : toBytesHex(claim.metadata),
    },
    claim.operator ?? result.operator,
  );
}

export interface CheckInclusionParameters {
  leaf: bigint;
  leafIndex: bigint;
  /** A path someone handed over, lowest sibling first; without it the path is built from `leaves`. */
  siblings?: readonly bigint[] | undefined;
  /** The rebuilt log; only needed when `siblings` is not given. */
  leaves?: readonly bigint[] | undefined;
  /** The coordinator's root, read at `blockNumber`. */
  root: bigint;
  blockNumber: bigint;
}

export interface CheckInclusionReturnType {
  /** Why the leaf is not in the log at its slot; undefined when it is. */
  reason: string | undefined;
  /** The path checked, lowest first: hand it to anyone who wants to check the result without the logs. */
  siblings: bigint[];
}

/** Whether `leaf`, at slot `leafIndex`, leads to the onchain root. */
export function checkInclusion(parameters: CheckInclusionParameters): CheckInclusionReturnType {
  const { leaf, leafIndex, root, blockNumber } = parameters;
  if (parameters.siblings !== undefined) {
    const siblings = [...parameters.siblings];
    if (siblings.length !== TREE_DEPTH) {
      return { siblings, reason: `a path has ${TREE_DEPTH} siblings, this one has ${siblings.length}` };
    }
    if (!verifyInclusionProof({ leaf, index: leafIndex, siblings, root }, root)) {
      return {
        siblings,
        reason: `the given path from leaf ${leafIndex} does not lead to the onchain root ${root}`,
      };
    }
    return { siblings, reason: undefined };
  }

  const leaves = parameters.leaves ?? [];
  if (leafIndex < 0n || leafIndex >= BigInt(leaves.length)) {
    return { siblings: [], reason: `leaf ${leafIndex} is outside the log's ${leaves.length} slots` };
  }
  const proof = buildInclusionProof(leaves, Number(leafIndex), TREE_DEPTH);
  // A log that does not rebuild the onchain root says nothing about any result in it: the events read
  // were incomplete or forged, and that must not pass for a verdict on this result.
  if (proof.root !== root) {
    return {
      siblings: proof.siblings,
      reason: `the events read rebuild root ${proof.root}, the coordinator holds ${root} at block ${blockNumber}`,
    };
  }
  if (!verifyInclusionProof({ leaf, index: leafIndex, siblings: proof.siblings, root }, root)) {
    return {
      siblings: proof.siblings,
      reason: `the log holds leaf ${proof.leaf} at slot ${leafIndex}, the result's leaf is ${leaf}`,
    };
  }
  return { siblings: proof.siblings, reason: undefined };
}

/** The ResultDelivered entry of `requestId`, if the entries hold one. */
export function findResultEntry(
  entries: readonly ResultLogEntry[],
  requestId: bigint,
): ResultDeliveredArgs | undefined {
  for (const entry of entries) {
    if (entry.eventName === "ResultDelivered" && entry.args.requestId === requestId) return entry.args;
  }
  return undefined;
}
