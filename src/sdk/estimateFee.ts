import type { Address, Chain, Client, Transport } from "viem";
import { readContract } from "viem/actions";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts } from "../shared/contracts.js";
import { coordinatorError } from "./coordinatorErrors.js";
import { quoteGasPrice } from "./quoteGasPrice.js";
import { type ModelReference, resolveModelId } from "./utils.js";

export type EstimateFeeParameters = {
  coordinator: Address;
  /** The model's name (e.g. "language-id") or its bytes32 id. */
  model: ModelReference;
  /** Gas for the callback to the requester; 0 (the default) asks for none. */
  callbackGasLimit?: number;
  /** The most per gas the request accepts; defaults to quoteGasPrice (the base fee with headroom). */
  gasPrice?: bigint;
  /** Quote as of this block instead of the latest. */
  blockNumber?: bigint;
};

export type EstimateFeeReturnType = bigint;

/**
 * The escrow, in wei, a request to `model` should carry: the model fee plus the gas of delivering it
 * alone at `gasPrice`. It is a maximum: at delivery the request pays its measured share of the gas at
 * the price paid, and the rest goes back to its refundTo. An unregistered model throws UnknownModelError. The price comes from the chain's base fee,
 * never from `block.basefee` inside an `eth_call`, which most nodes report as 0.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { estimateFee } from "sibyl";
 *
 * const client = createPublicClient({ transport: http("http://127.0.0.1:8545") });
 * const escrow = await estimateFee(client, { coordinator: "0x5FbD…", model: "language-id" });
 */
export async function estimateFee<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: EstimateFeeParameters,
): Promise<EstimateFeeReturnType> {
  const { coordinator, model, callbackGasLimit = 0, blockNumber } = parameters;
  const gasPrice = parameters.gasPrice ?? (await quoteGasPrice(client));
  const { current } = await resolveSibylContracts(client, coordinator, blockNumber);
  try {
    return await readContract(client, {
      address: current,
      abi: sibylCoordinatorAbi,
      functionName: "estimateFee",
      args: [resolveModelId(model), callbackGasLimit, gasPrice],
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });
  } catch (error) {
    throw coordinatorError(error, { action: "estimateFee", coordinator: current, model });
  }
}
