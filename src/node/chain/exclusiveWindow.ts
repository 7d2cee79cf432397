/** The ledger's exclusive window, read at most every half minute: the owner rarely changes it. */
import type { Address, PublicClient } from "viem";
import { operatorLedgerAbi } from "../../shared/abi/generated.js";

const TTL_MS = 30_000;

export function exclusiveWindowReader(client: PublicClient, ledger: () => Address): () => Promise<bigint> {
  let cached: { at: number; seconds: bigint } | undefined;
  return async () => {
    if (cached && Date.now() - cached.at < TTL_MS) return cached.seconds;
    const { exclusiveWindow } = await client.readContract({
      address: ledger(),
      abi: operatorLedgerAbi,
      functionName: "operatorParameters",
    });
    cached = { at: Date.now(), seconds: exclusiveWindow };
    return exclusiveWindow;
  };
}
