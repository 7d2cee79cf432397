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

/** Where a delivered result is in the log: its leaf and the proof's transaction, or that the proof is pending. */
export function proofState(result: Pick<SibylResult, "leafIndex" | "batch" | "transactionHash">): string {
  if (result.leafIndex === undefined || result.batch === undefined) {
    return "proof pending (committed in the onchain queue; not under the Merkle root yet)";
  }
  const where =
    result.batch.transactionHash === result.transactionHash
      ? "proven in the delivering transaction"
      : `proven later in ${result.batch.transactionHash}`;
  return `${result.leafIndex} (${where})`;
}
