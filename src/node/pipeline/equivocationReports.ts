/**
 * Reports the equivocations this node found (store/statementLedger.ts) in two transactions: the
 * commitment first, then the report from a later block, so a copy of the report seen in the mempool
 * cannot take the reward. The batcher sends them before anything else.
 */
import type { Address, Hex } from "viem";
import { coordinatorOfRequest, type SibylContracts } from "../../shared/contracts.js";
import { equivocationCommitment } from "../../shared/encoding.js";
import { commitReportData, reportEquivocationData } from "../chain/calls.js";
import type { Equivocation, JobStore } from "../store/store.js";

export interface ReportStep {
  equivocation: Equivocation;
  step: "commit" | "report";
  /** The ledger: it checks the evidence itself. */
  to: Address;
  data: Hex;
  gas: bigint;
}

/** Generous bounds: a commit writes one slot; a report recovers two signers and moves stake. */
const COMMIT_GAS = 100_000n;
const REPORT_GAS = 400_000n;

/** The next report transaction due, if any: a found equivocation's commit, or a committed one's report. */
export async function nextReportStep(
  store: JobStore,
  reporter: Address,
  contracts: SibylContracts,
): Promise<ReportStep | undefined> {
  const to = contracts.ledger;
  const found = (await store.equivocationsIn("found"))[0];
  if (found !== undefined) {
    const coordinator = coordinatorOfRequest(contracts, found.a.statement.requestId);
    const commitment = equivocationCommitment(reporter, coordinator, found.a, found.b);
    return { equivocation: found, step: "commit", to, data: commitReportData(commitment), gas: COMMIT_GAS };
  }
  // Sent after its commit was mined, so it lands in a later block.
  const committed = (await store.equivocationsIn("committed"))[0];
  if (committed !== undefined) {
    const coordinator = coordinatorOfRequest(contracts, committed.a.statement.requestId);
    const data = reportEquivocationData(coordinator, committed.a, committed.b);
    return { equivocation: committed, step: "report", to, data, gas: REPORT_GAS };
  }
  return undefined;
}

/** Moves the equivocation on once its step's transaction was mined (or refused for good). */
export async function settleReportStep(store: JobStore, step: ReportStep, mined: boolean): Promise<void> {
  if (step.step === "commit") await store.markEquivocation(step.equivocation, mined ? "committed" : "failed");
  else await store.markEquivocation(step.equivocation, mined ? "reported" : "failed");
}
