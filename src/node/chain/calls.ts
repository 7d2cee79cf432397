/**
 * The coordinator calls a node sends, encoded: fulfil (results with their proof), deliver (results,
 * proof later), reassign (taking over requests whose window passed) and prove (the pending queue's
 * first leaves), and the two steps of an equivocation report.
 */
import { type ContractFunctionArgs, encodeFunctionData, type Hex } from "viem";
import { sibylCoordinatorAbi } from "../../shared/abi/generated.js";
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
    abi: sibylCoordinatorAbi,
    functionName: "prove",
    args: [leaves, newRoot, proof],
  });
}

export function commitReportData(commitment: Hex): Hex {
  return encodeFunctionData({
    abi: sibylCoordinatorAbi,
    functionName: "commitEquivocationReport",
    args: [commitment],
  });
}

export function reportEquivocationData(a: SignedResultStatement, b: SignedResultStatement): Hex {
  return encodeFunctionData({
    abi: sibylCoordinatorAbi,
    functionName: "reportEquivocation",
    args: [a.statement, a.signature, b.statement, b.signature],
  });
}
