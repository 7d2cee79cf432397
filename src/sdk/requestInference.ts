import {
  type Account,
  type Address,
  type Chain,
  type Client,
  type Hex,
  isAddressEqual,
  parseEventLogs,
  type Transport,
} from "viem";
import { waitForTransactionReceipt, writeContract } from "viem/actions";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts } from "../shared/contracts.js";
import type { RequestCommitment } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { coordinatorError } from "./coordinatorErrors.js";
import { AccountNotFoundError, TransactionRevertedError } from "./errors.js";
import { estimateFee } from "./estimateFee.js";
import { type BytesInput, type ModelReference, resolveModelId, toBytesHex } from "./utils.js";

export type RequestInferenceParameters = {
  coordinator: Address;
  /** The model's name (e.g. "language-id") or its bytes32 id. */
  model: ModelReference;
  /** Text (sent as UTF-8), `0x` hex bytes, or a Uint8Array. */
  input: BytesInput;
  /** Gas for the callback to the requester; 0 (the default) asks for none, as an account has no code. */
  callbackGasLimit?: number;
  /**
   * Wei to escrow; defaults to estimateFee just before sending. What delivery does not cost is
   * credited to `refundTo` in the coordinator.
   */
  value?: bigint;
  /** Who pays and asks; defaults to the client's account. */
  account?: Account | Address;
  /** Who is credited the unused escrow (and all of it if the request is cancelled); defaults to the account. */
  refundTo?: Address;
};

export type RequestInferenceReturnType = {
  requestId: bigint;
  /** What the coordinator stored the hash of: needed to cancel the request after its deadline. */
  commitment: RequestCommitment;
  transactionHash: Hex;
  blockNumber: bigint;
};

/**
 * Asks `model` to answer `input`, escrowing the quoted fee, and waits for the request to be mined.
 * The coordinator's refusals are one-line errors: UnknownModelError (by the model's name),
 * InsufficientPaymentError (with the wei to send), else CoordinatorRevertedError.
 *
 * @example
 * import { createWalletClient, http } from "viem";
 * import { privateKeyToAccount } from "viem/accounts";
 * import { requestInference, waitForResult } from "sibyl";
 *
 * const wallet = createWalletClient({ account: privateKeyToAccount(key), transport: http(rpcUrl) });
 * const { requestId } = await requestInference(wallet, {
 *   coordinator: "0x5FbD…",
 *   model: "language-id",
 *   input: "The weather is lovely today.",
 * });
 * const result = await waitForResult(wallet, { coordinator: "0x5FbD…", requestId });
 * console.log(result.outputText); // "en 0.9871"
 */
export async function requestInference(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  parameters: RequestInferenceParameters,
): Promise<RequestInferenceReturnType> {
  const { model, input, callbackGasLimit = 0 } = parameters;
  const account = parameters.account ?? client.account;
  if (account === undefined) throw new AccountNotFoundError("requestInference");
  // Requests go to the version the log names now.
  const { current: coordinator } = await resolveSibylContracts(client, parameters.coordinator);
  const modelId = resolveModelId(model);
  const value =
    parameters.value ?? (await estimateFee(client, { coordinator, model: modelId, callbackGasLimit }));
  const refundTo = parameters.refundTo ?? (typeof account === "string" ? account : account.address);
  const hash = await writeContract(client, {
    address: coordinator,
    abi: sibylCoordinatorAbi,
    functionName: "request",
    args: [modelId, toBytesHex(input), callbackGasLimit, refundTo],
    value,
    account,
    chain: client.chain,
  }).catch((error: unknown) => {
    throw coordinatorError(error, { action: "request", coordinator, model });
  });
  const receipt = await waitForTransactionReceipt(client, { hash });
  if (receipt.status !== "success")
    throw new TransactionRevertedError({ action: "request", transactionHash: hash });
  const [event] = parseEventLogs({
    abi: sibylCoordinatorAbi,
    eventName: "InferenceRequested",
    logs: receipt.logs.filter((log) => isAddressEqual(log.address, coordinator)),
  });
  if (event === undefined) {
    throw new SibylError(`transaction ${hash} emitted no InferenceRequested from ${coordinator}`, {
      details: "is this the Sibyl coordinator's address?",
    });
  }
  return {
    requestId: event.args.requestId,
    commitment: { ...event.args.commitment },
    transactionHash: hash,
    blockNumber: receipt.blockNumber,
  };
}
