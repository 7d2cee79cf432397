/**
 * A one-off transaction a node sends as it starts leading (its co-signing endpoint, its models), sent
 * until the chain shows it done: one a reorg removed, or that is never mined, is checked and sent again
 * rather than waited for forever.
 */
import { type Hex, type PublicClient, WaitForTransactionReceiptTimeoutError } from "viem";
import { SibylError } from "../../shared/errors.js";

export interface SetupWrite {
  /** What it does, for the error: "publishing cosigning.publicUrl". */
  what: string;
  send(): Promise<Hex>;
  /** Whether the chain already shows it done. */
  done(): Promise<boolean>;
}

const RECEIPT_TIMEOUT_MS = 30_000;
const ATTEMPTS = 4;

export async function writeUntilDone(client: PublicClient, write: SetupWrite): Promise<void> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (await write.done()) return;
    let hash: Hex;
    try {
      hash = await write.send();
    } catch (error) {
      // A removed transaction back in the pool holds the nonce: wait, then look at the chain again.
      if (attempt === ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      continue;
    }
    try {
      const receipt = await client.waitForTransactionReceipt({ hash, timeout: RECEIPT_TIMEOUT_MS });
      if (receipt.status !== "success")
        throw new SibylError(`${write.what}: the transaction reverted (${hash})`);
    } catch (error) {
      if (!(error instanceof WaitForTransactionReceiptTimeoutError)) throw error;
    }
  }
  if (!(await write.done())) throw new SibylError(`${write.what}: not done after ${ATTEMPTS} transactions`);
}
