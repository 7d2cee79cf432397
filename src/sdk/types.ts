/** The shapes the SDK returns, built from decoded events whichever client library decoded them. */
import type { Address, Hex } from "viem";
import type { ResultStatus } from "../shared/encoding.js";
import { decodeUtf8 } from "./utils.js";

/** What happened when the coordinator called the requester back (mirror of the Solidity enum). */
export const CallbackOutcome = {
  Skipped: 0,
  Succeeded: 1,
  Failed: 2,
} as const;
export type CallbackOutcome = (typeof CallbackOutcome)[keyof typeof CallbackOutcome];

/** Where an event sits on the chain. */
export interface EventLocation {
  blockNumber: bigint;
  blockHash: Hex;
  transactionHash: Hex;
}

/** The fields of a ResultDelivered event. */
export interface ResultDeliveredArgs {
  requestId: bigint;
  modelId: Hex;
  operator: Address;
  sequence: bigint;
  status: number;
  callback: number;
  fee: bigint;
  inputHash: Hex;
  output: Hex;
  metadata: Hex;
}

/** The fields of a BatchAppended event. */
export interface BatchAppendedArgs {
  /** Who sent the proof: the delivering operator (fulfill) or anyone (prove). */
  prover: Address;
  oldRoot: bigint;
  newRoot: bigint;
  startIndex: bigint;
  batchSize: bigint;
  /** Results in the batch: those of sequence firstSequence .. firstSequence + count - 1, in order. */
  count: bigint;
  firstSequence: bigint;
}

/** A batch appended to the log, and where its event is. */
export type AppendedBatch = BatchAppendedArgs & EventLocation;

/**
 * A delivered result: the ResultDelivered event, its output as text when it is text, where it is, and
 * the batch that put it in the Merkle log once one has.
 */
export interface SibylResult extends EventLocation {
  requestId: bigint;
  modelId: Hex;
  /** The operator that delivered it, bound into its leaf. */
  operator: Address;
  /** Its place among all delivered results: leaves enter the log in this order. */
  sequence: bigint;
  /** Its slot in the Merkle log; undefined while its proof is pending (delivered without one). */
  leafIndex: bigint | undefined;
  /** The BatchAppended that proved it: in the delivering transaction, or a later one; undefined until then. */
  batch: AppendedBatch | undefined;
  status: ResultStatus;
  callback: CallbackOutcome;
  /** Wei charged from the request's escrow; the rest was credited to its refundTo. */
  fee: bigint;
  inputHash: Hex;
  output: Hex;
  /** `output` decoded as UTF-8, or undefined when it is not valid UTF-8. */
  outputText: string | undefined;
  /** What the operator recorded about the run (provider, model version, parameters), as bytes. */
  metadata: Hex;
}

/** Whether `batch` holds the result of `sequence`. */
export function batchCovers(batch: BatchAppendedArgs, sequence: bigint): boolean {
  return sequence >= batch.firstSequence && sequence < batch.firstSequence + batch.count;
}

/** The slot of the result of `sequence` in the log, if one of `batches` holds it. */
export function leafIndexIn(batches: readonly BatchAppendedArgs[], sequence: bigint): bigint | undefined {
  const batch = batches.find((candidate) => batchCovers(candidate, sequence));
  return batch && slotOf(batch, sequence);
}

function slotOf(batch: BatchAppendedArgs, sequence: bigint): bigint {
  return batch.startIndex + (sequence - batch.firstSequence);
}

/**
 * The result of a ResultDelivered event; `batches` are BatchAppended events read from its block on,
 * among which the one that proved it, if it is proven yet.
 */
export function toSibylResult(
  args: ResultDeliveredArgs,
  location: EventLocation,
  batches: readonly AppendedBatch[] = [],
): SibylResult {
  const batch = batches.find((candidate) => batchCovers(candidate, args.sequence));
  return {
    requestId: args.requestId,
    modelId: args.modelId,
    operator: args.operator,
    sequence: args.sequence,
    leafIndex: batch && slotOf(batch, args.sequence),
    batch,
    status: args.status as ResultStatus,
    callback: args.callback as CallbackOutcome,
    fee: args.fee,
    inputHash: args.inputHash,
    output: args.output,
    outputText: decodeUtf8(args.output),
    metadata: args.metadata,
    blockNumber: location.blockNumber,
    blockHash: location.blockHash,
    transactionHash: location.transactionHash,
  };
}
