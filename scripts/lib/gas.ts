/** Gas arithmetic for the benchmarks. */
import type { Hex, PublicClient } from "viem";
import { hexToBytes } from "viem";

/** Calldata charge of `data` (EIP-2028: 4 gas per zero byte, 16 per other byte). */
export function calldataGas(data: Hex): number {
  return [...hexToBytes(data)].reduce((sum, byte) => sum + (byte === 0 ? 4 : 16), 0);
}

/**
 * What a call costs inside another transaction: its estimated gas less the 21,000 base and the
 * calldata charge. Returns the transaction's estimate too.
 */
export async function executionGas(
  client: Pick<PublicClient, "estimateGas">,
  to: Hex,
  data: Hex,
): Promise<{ tx: number; execution: number }> {
  const tx = Number(await client.estimateGas({ to, data }));
  return { tx, execution: tx - 21_000 - calldataGas(data) };
}

/** EIP-7623's calldata floor: 10 gas per token, a zero byte one token and any other byte four. */
export function calldataFloorGas(data: Hex): number {
  return [...hexToBytes(data)].reduce((sum, byte) => sum + (byte === 0 ? 10 : 40), 0);
}
