/**
 * The calls a node sends, encoded: to a coordinator, fulfil (results with their proof), deliver
 * (results, proof later) and reassign (taking over requests whose window passed); to the log, prove
 * (the pending queue's first leaves); to the ledger, the two steps of an equivocation report.
 */
import { type Address, type ContractFunctionArgs, encodeFunctionData, type Hex } from "viem";
import { operatorLedgerAbi, sibylCoordinatorAbi, sibylLogAbi } from "../../shared/abi/generated.js";
import type { SignedResultStatement } from "../../shared/encoding.js";

export type FulfillArgs = ContractFunctionArgs<typeof sibylCoordinatorAbi, "nonpayable", "fulfill">;
export type Fulfillments = FulfillArgs[0];
export type ProofWords = FulfillArgs[2];

export function fulfillData(args: FulfillArgs): Hex {
  return encodeFunctionData({ abi: sibylCoordinatorAbi, functionName: "fulfill", args });
}

export function deliverData(fulfillments: Fulfillments): Hex {
  return encodeFunctionData({ abi: sibylCoordinatorAbi, functionName: "deliver", args: [fulfillments] });
}

export function reassignData(commitments: readonly Fulfillments[number]["commitment"][]): Hex {
  return encodeFunctionData({ abi: sibylCoordinatorAbi, functionName: "reassign", args: [commitments] });
}

export function proveData(leaves: readonly bigint[], newRoot: bigint, proof: ProofWords): Hex {
  return encodeFunctionData({
    abi: sibylLogAbi,
    functionName: "prove",
    args: [leaves, newRoot, proof],
  });
}

export function commitReportData(commitment: Hex): Hex {
  return encodeFunctionData({
    abi: operatorLedgerAbi,
    functionName: "commitEquivocationReport",
    args: [commitment],
  });
}

export function reportEquivocationData(
  coordinator: Address,
  a: SignedResultStatement,
  b: SignedResultStatement,
): Hex {
  return encodeFunctionData({
    abi: operatorLedgerAbi,
    functionName: "reportEquivocation",
    args: [coordinator, a.statement, a.signature, b.statement, b.signature],
  });
}

export function declareModelData(modelId: Hex): Hex {
  return encodeFunctionData({ abi: operatorLedgerAbi, functionName: "declareModel", args: [modelId] });
}

export function withdrawModelData(modelId: Hex): Hex {
  return encodeFunctionData({ abi: operatorLedgerAbi, functionName: "withdrawModel", args: [modelId] });
}
