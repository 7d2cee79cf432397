import { type Address, type Chain, type Client, type Hex, type Transport, zeroHash } from "viem";
import { getContractEvents, readContract } from "viem/actions";
import { sibylAbi, sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { coordinatorOfRequest, eventSources, resolveSibylContracts } from "../shared/contracts.js";
import type { RequestCommitment } from "../shared/encoding.js";

export type GetRequestParameters = {
  /** The deployment's log, or any of its coordinator versions. */
  coordinator: Address;
  requestId: bigint;
  /**
   * First block to search. The default 0 suits local chains; elsewhere pass the coordinator's
   * deployment block (or the request's), as RPC providers limit how far back one log query reaches.
   */
  fromBlock?: bigint;
};

export type GetRequestReturnType =
  | {
      commitment: RequestCommitment;
      input: Hex;
      requester: Address;
      /** False once the request is answered or cancelled. */
      pending: boolean;
      blockNumber: bigint;
      transactionHash: Hex;
    }
  | undefined;

/**
 * A request as it was made (from its InferenceRequested event, with the commitment of its latest
 * RequestReassigned if another operator took it over) and whether it still waits for an answer, or
 * undefined when the coordinator has no such request.
 *
 * @example
 * import { getRequest } from "sibyl";
 *
 * const request = await getRequest(client, { coordinator: "0x5FbD…", requestId: 1n });
 * if (request?.pending) console.log(`due by ${new Date(Number(request.commitment.deadline) * 1000)}`);
 */
export async function getRequest<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: GetRequestParameters,
): Promise<GetRequestReturnType> {
  const { requestId, fromBlock = 0n } = parameters;
  const contracts = await resolveSibylContracts(client, parameters.coordinator);
  const sources = eventSources(contracts);
  const [events, reassignments, commitmentHash] = await Promise.all([
    getContractEvents(client, {
      address: sources,
      abi: sibylAbi,
      eventName: "InferenceRequested",
      args: { requestId },
      fromBlock,
      strict: true,
    }),
    getContractEvents(client, {
      address: sources,
      abi: sibylAbi,
      eventName: "RequestReassigned",
      args: { requestId },
      fromBlock,
      strict: true,
    }),
    readContract(client, {
      address: coordinatorOfRequest(contracts, requestId),
      abi: sibylCoordinatorAbi,
      functionName: "commitmentOf",
      args: [requestId],
    }),
  ]);
  const event = events[0];
  if (event === undefined) return undefined;
  // What a cancel or a delivery must re-supply now: the latest takeover's commitment, if any.
  const commitment = reassignments.at(-1)?.args.commitment ?? event.args.commitment;
  return {
    commitment: { ...commitment },
    input: event.args.input,
    requester: event.args.requester,
    pending: commitmentHash !== zeroHash,
    blockNumber: event.blockNumber,
    transactionHash: event.transactionHash,
  };
}
