import type { Account, Address, Chain, Client, TransactionReceipt, Transport } from "viem";
import { waitForTransactionReceipt, writeContract } from "viem/actions";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { coordinatorOfRequest, resolveSibylContracts } from "../shared/contracts.js";
import type { RequestCommitment } from "../shared/encoding.js";
import { coordinatorError } from "./coordinatorErrors.js";
import { AccountNotFoundError, RequestNotFoundError, TransactionRevertedError } from "./errors.js";
import { getRequest } from "./getRequest.js";

export type CancelRequestParameters = {
  coordinator: Address;
  /** Who sends the transaction; anyone may, the refund always goes to the requester. */
  account?: Account | Address;
  /** Where to look for the request when only its id is given; see getRequest. */
  fromBlock?: bigint;
} & (
  | { commitment: RequestCommitment; requestId?: undefined }
  | { requestId: bigint; commitment?: undefined }
);

export type CancelRequestReturnType = TransactionReceipt;

/**
 * Cancels a request that passed its deadline unanswered, crediting the requester's coordinator
 * balance with the full fee (withdrawn with `withdraw`). Given only the id, the commitment the
 * coordinator checks is looked up from the request's event.
 *
 * @example
 * import { cancelRequest } from "sibyl";
 *
 * const receipt = await cancelRequest(wallet, { coordinator: "0x5FbD…", requestId: 7n });
 */
export async function cancelRequest(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  parameters: CancelRequestParameters,
): Promise<CancelRequestReturnType> {
  const { coordinator, fromBlock = 0n } = parameters;
  const account = parameters.account ?? client.account;
  if (account === undefined) throw new AccountNotFoundError("cancelRequest");
  let commitment = parameters.commitment;
  if (commitment === undefined) {
    const requestId = parameters.requestId as bigint;
    const request = await getRequest(client, { coordinator, requestId, fromBlock });
    if (request === undefined) throw new RequestNotFoundError({ requestId, fromBlock });
    commitment = request.commitment;
  }
  // The version that took the request holds its escrow, retired or not.
  const contracts = await resolveSibylContracts(client, coordinator);
  const hash = await writeContract(client, {
    address: coordinatorOfRequest(contracts, commitment.requestId),
    abi: sibylCoordinatorAbi,
    functionName: "cancel",
    args: [commitment],
    account,
    chain: client.chain,
  }).catch((error: unknown) => {
    throw coordinatorError(error, { action: "cancel", coordinator });
  });
  const receipt = await waitForTransactionReceipt(client, { hash });
  if (receipt.status !== "success")
    throw new TransactionRevertedError({ action: "cancel", transactionHash: hash });
  return receipt;
}
