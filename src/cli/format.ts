/** How the CLI names things it prints. */
import { FROM_SOURCE_CHECKOUT } from "../node/packageRoot.js";
import type { SibylResult } from "../sdk/index.js";
import { ResultStatus } from "../shared/encoding.js";

const STATUS_NAMES = Object.fromEntries(Object.entries(ResultStatus).map(([name, value]) => [value, name]));

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `status ${status}`;
}

/** How the user runs `sibyl` here: through the repository's npm script, or the installed package's bin. */
export const SIBYL_COMMAND = FROM_SOURCE_CHECKOUT ? "npm run sibyl --" : "npx sibyl";

/** Whether and where a delivered result was proven into the log. */
export function proofState(result: Pick<SibylResult, "batch" | "transactionHash">): string {
  if (result.batch === undefined) {
    return "pending: committed in the onchain queue of delivered leaves, not under the Merkle root yet";
  }
  return result.batch.transactionHash === result.transactionHash
    ? "in the delivering transaction"
    : `later, in ${result.batch.transactionHash}`;
}
