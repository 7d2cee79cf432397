import type { Address, Chain, Client, Transport } from "viem";
import { readContract } from "viem/actions";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { type ModelReference, resolveModelId } from "./utils.js";

export type EstimateFeeParameters = {
  coordinator: Address;
  /** The model's name (e.g. "language-id") or its bytes32 id. */
  model: ModelReference;
  /** Gas for the callback to the requester; 0 (the default) asks for none. */
  callbackGasLimit?: number;
  /** Quote as of this block instead of the latest. */
  blockNumber?: bigint;
};

export type EstimateFeeReturnType = bigint;

/**
 * The fee, in wei, that a request to `model` costs now. It follows the base fee, so a quote is only
 * good for about a block; `requestInference` takes a fresh one unless told a value.
 *
 * @example
 * import { createPublicClient, http } from "viem";
 * import { estimateFee } from "sibyl";
 *
 * const client = createPublicClient({ transport: http("http://127.0.0.1:8545") });
 * const fee = await estimateFee(client, { coordinator: "0x5FbD…", model: "language-id" });
 */
export async function estimateFee<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: EstimateFeeParameters,
): Promise<EstimateFeeReturnType> {
  const { coordinator, model, callbackGasLimit = 0, blockNumber } = parameters;
  return readContract(client, {
    address: coordinator,
    abi: sibylCoordinatorAbi,
    functionName: "estimateFee",
    args: [resolveModelId(model), callbackGasLimit],
    ...(blockNumber === undefined ? {} : { blockNumber }),
  });
}
