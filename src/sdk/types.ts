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
  leafIndex: bigint;
  status: number;
  callback: number;
  fee: bigint;
  inputHash: Hex;
  output: Hex;
  metadata: Hex;
}

/** A delivered result: the ResultDelivered event, its output as text when it is text, and where it is. */
export interface SibylResult extends EventLocation {
  requestId: bigint;
  modelId: Hex;
  /** The operator that delivered it, bound into its leaf. */
  operator: Address;
  /** The result's slot in the Merkle log. */
  leafIndex: bigint;
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

export function toSibylResult(args: ResultDeliveredArgs, location: EventLocation): SibylResult {
  return {
    requestId: args.requestId,
    modelId: args.modelId,
    operator: args.operator,
    leafIndex: args.leafIndex,
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
