/**
 * The result log rebuilt from the coordinator's events alone, and the check of one leaf against the
 * onchain root. Pure and browser-safe: the viem actions and the ethers adapter both decode their logs
 * into these entries and share this one implementation of the Merkle check.
 *
 * Rebuilding reads every batch since the coordinator was deployed, so callers outside a local chain
 * should start their log range at the coordinator's deployment block rather than block 0.
 */
import type { Address } from "viem";
import { EMPTY_LEAF, type ResultStatus, resultLeaf, TREE_DEPTH } from "../shared/encoding.js";
import { buildInclusionProof, verifyInclusionProof, zeroRoot } from "../shared/merkle.js";
import { IncompleteLogError } from "./errors.js";
import type { ResultDeliveredArgs } from "./types.js";
import { type BytesInput, toBytesHex } from "./utils.js";

export interface BatchAppendedArgs {
  oldRoot: bigint;
  newRoot: bigint;
  startIndex: bigint;
  batchSize: bigint;
  count: bigint;
}

/** The two events the log is made of, decoded by whichever client read them. */
export type ResultLogEntry =
  | { eventName: "BatchAppended"; args: BatchAppendedArgs }
  | { eventName: "ResultDelivered"; args: ResultDeliveredArgs };

/**
 * Every slot of the log, in order: each batch's results at their `leafIndex`, empty leaves for a
 * batch's unused slots and for slots skipped to align a batch. Throws IncompleteLogError when the
 * entries cannot be the whole log, so a short log read is never mistaken for an invalid result.
 */
export function rebuildLeaves(entries: readonly ResultLogEntry[]): bigint[] {
  const batches: BatchAppendedArgs[] = [];
  const results: ResultDeliveredArgs[] = [];
  for (const entry of entries) {
    if (entry.eventName === "BatchAppended") batches.push(entry.args);
    else results.push(entry.args);
  }
  batches.sort((a, b) => (a.startIndex < b.startIndex ? -1 : a.startIndex > b.startIndex ? 1 : 0));

  const first = batches[0];
  if (first === undefined) {
    if (results.length > 0)
      throw new IncompleteLogError("results were read without the batches that hold them");
    return [];
  }
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
  // undefined marks a slot that a batch says holds a result whose event has not been seen yet.
  const slots: Array<bigint | undefined> = new Array(Number(last.startIndex + last.batchSize)).fill(
    EMPTY_LEAF,
  );
  for (const batch of batches) {
    for (let offset = 0n; offset < batch.count; offset++)
      slots[Number(batch.startIndex + offset)] = undefined;
  }
  for (const result of results) {
    const index = Number(result.leafIndex);
    if (slots[index] !== undefined) {
      throw new IncompleteLogError(`the result at leaf ${index} has no open slot in any batch read`);
    }
    slots[index] = resultLeaf(
      result,
      { status: result.status as ResultStatus, output: result.output, metadata: result.metadata },
      result.operator,
    );
  }
  const missing = slots.indexOf(undefined);
  if (missing !== -1) throw new IncompleteLogError(`no ResultDelivered event was read for leaf ${missing}`);
  return slots as bigint[];
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

export interface CheckResultParameters {
  /** The request's ResultDelivered event: the request fields of the leaf and, by default, its result. */
  result: ResultDeliveredArgs;
  claim?: ResultClaim;
  /** Checks the leaf at this slot instead of the event's. */
  leafIndex?: bigint;
  /** A path someone handed over, lowest sibling first; without it the path is built from `leaves`. */
  siblings?: readonly bigint[];
  /** The rebuilt log; only needed when `siblings` is not given. */
  leaves?: readonly bigint[];
  /** The coordinator's root, read at `blockNumber`. */
  root: bigint;
  blockNumber: bigint;
}

export interface CheckResultReturnType {
  valid: boolean;
  /** Why the result is not valid; absent when it is. */
  reason?: string;
  leaf: bigint;
  leafIndex: bigint;
  /** The path checked, lowest first: hand it to anyone who wants to check the result without the logs. */
  siblings: bigint[];
  root: bigint;
  blockNumber: bigint;
}

/** Whether the leaf of the (claimed) result, at its slot, leads to the onchain root. */
export function checkResult(parameters: CheckResultParameters): CheckResultReturnType {
  const { result, claim = {}, root, blockNumber } = parameters;
  const leafIndex = parameters.leafIndex ?? result.leafIndex;
  const leaf = resultLeaf(
    result,
    {
      status: claim.status ?? (result.status as ResultStatus),
      output: claim.output === undefined ? result.output : toBytesHex(claim.output),
      metadata: claim.metadata === undefined ? result.metadata : toBytesHex(claim.metadata),
    },
    claim.operator ?? result.operator,
  );
  const verdict = (siblings: bigint[], reason?: string): CheckResultReturnType => ({
    valid: reason === undefined,
    ...(reason === undefined ? {} : { reason }),
    leaf,
    leafIndex,
    siblings,
    root,
    blockNumber,
  });

  if (parameters.siblings !== undefined) {
    const siblings = [...parameters.siblings];
    if (siblings.length !== TREE_DEPTH) {
      return verdict(siblings, `a path has ${TREE_DEPTH} siblings, this one has ${siblings.length}`);
    }
    if (!verifyInclusionProof({ leaf, index: leafIndex, siblings, root }, root)) {
      return verdict(
        siblings,
        `the given path from leaf ${leafIndex} does not lead to the onchain root ${root}`,
      );
    }
    return verdict(siblings);
  }

  const leaves = parameters.leaves ?? [];
  if (leafIndex < 0n || leafIndex >= BigInt(leaves.length)) {
    return verdict([], `leaf ${leafIndex} is outside the log's ${leaves.length} slots`);
  }
  const proof = buildInclusionProof(leaves, Number(leafIndex), TREE_DEPTH);
  // A log that does not rebuild the onchain root says nothing about any result in it: the events read
  // were incomplete or forged, and that must not pass for a verdict on this result.
  if (proof.root !== root) {
    return verdict(
      proof.siblings,
      `the events read rebuild root ${proof.root}, the coordinator holds ${root} at block ${blockNumber}`,
    );
  }
  if (!verifyInclusionProof({ leaf, index: leafIndex, siblings: proof.siblings, root }, root)) {
    return verdict(
      proof.siblings,
      `the log holds leaf ${proof.leaf} at slot ${leafIndex}, the result's leaf is ${leaf}`,
    );
  }
  return verdict(proof.siblings);
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
