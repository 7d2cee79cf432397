import type { Chain, Client, Transport } from "viem";
import { getBlock } from "viem/actions";

/**
 * How far above the latest base fee a quote reaches: the base fee can rise 12.5% a block, and a
 * request waits a few blocks to be mined and delivered. Escrow above the real cost comes back.
 */
export const QUOTE_BASE_FEE_MULTIPLIER = 2n;

export type QuoteGasPriceReturnType = bigint;

/**
 * A gas price to escrow for: twice the latest block's base fee plus the priority fee the node
 * suggests (as viem's fee estimation does, with more headroom). Chains without a base fee quote their
 * gas price.
 *
 * @example
 * import { quoteGasPrice } from "sibyl";
 *
 * const gasPrice = await quoteGasPrice(client); // e.g. 100 gwei at a 49 gwei base fee
 */
export async function quoteGasPrice<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
): Promise<QuoteGasPriceReturnType> {
  const block = await getBlock(client, { blockTag: "latest" });
  if (block.baseFeePerGas === null) {
    return BigInt(await client.request({ method: "eth_gasPrice" }));
  }
  const tip = await client
    .request({ method: "eth_maxPriorityFeePerGas" })
    .then(BigInt)
    .catch(() => 0n);
  return block.baseFeePerGas * QUOTE_BASE_FEE_MULTIPLIER + tip;
}
