import type { Address, Chain, Client, Transport } from "viem";
import { getContractEvents } from "viem/actions";
import { sibylAbi } from "../shared/abi/generated.js";
import { eventSources, resolveSibylContracts } from "../shared/contracts.js";
import { getBatches } from "./getBatches.js";
import { type SibylResult, toSibylResult } from "./types.js";

export type GetResultParameters = {
  /** The deployment's log, or any of its coordinator versions. */
  coordinator: Address;
  requestId: bigint;
  /**
   * First block to search. The default 0 suits local chains; elsewhere pass the coordinator's
   * deployment block (or the request's), as RPC providers limit how far back one log query reaches.
   */
  fromBlock?: bigint;
  /** Last block to search; defaults to the latest. */
  toBlock?: bigint;
};

export type GetResultReturnType = SibylResult | undefined;

/**
 * The result delivered for a request, or undefined while it has none. A result is final once the
 * coordinator emits it; its `leafIndex` and `batch` are filled once a proof has put it in the log
 * (in the delivering transaction, or a later one). Use `waitForResult` to also wait for
 * confirmations, `verifyResult` to check it.
 *
 * @example
 * import { getResult, ResultStatus } from "sibyl";
 *
 * const result = await getResult(client, { coordinator: "0x5FbD…", requestId: 1n });
 * if (result?.status === ResultStatus.Ok) console.log(result.outputText);
 */
export async function getResult<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: GetResultParameters,
): Promise<GetResultReturnType> {
  const { coordinator, requestId, fromBlock = 0n, toBlock } = parameters;
  const contracts = await resolveSibylContracts(client, coordinator);
  const [event] = await getContractEvents(client, {
    address: eventSources(contracts),
    abi: sibylAbi,
    eventName: "ResultDelivered",
    args: { requestId },
    fromBlock,
    ...(toBlock === undefined ? {} : { toBlock }),
    strict: true,
  });
  if (event === undefined) return undefined;
  const batches = await getBatches(client, {
    coordinator,
    fromBlock: event.blockNumber,
    ...(toBlock === undefined ? {} : { toBlock }),
  });
  return toSibylResult(event.args, event, batches);
}
