import { type Address, type Chain, type Client, getAbiItem, type Transport } from "viem";
import { getBlockNumber, getContractEvents, getLogs, readContract } from "viem/actions";
import { sibylAbi, sibylLogAbi } from "../shared/abi/generated.js";
import { eventSources, resolveSibylContracts } from "../shared/contracts.js";
import { type CheckResultReturnType, checkResult } from "./checkResult.js";
import { ResultNotFoundError } from "./errors.js";
import { findResultEntry, type ResultClaim, type ResultLogEntry } from "./logReader.js";
import { pendingLogFrom } from "./pendingQueue.js";

export type VerifyResultParameters = {
  /** The deployment's log, or any of its coordinator versions: results of every version are checked. */
  coordinator: Address;
  requestId: bigint;
  /** A result someone claims for the request; each field left out is the chain's. */
  claim?: ResultClaim;
  /** Checks the leaf at this slot instead of the result's own (a proven result only). */
  leafIndex?: bigint;
  /** Checks this path (lowest sibling first) instead of one built from the rebuilt log (a proven result only). */
  siblings?: readonly bigint[];
  /**
   * First block of the log read. It must hold the coordinator's first batch: the default 0 suits local
   * chains; elsewhere pass the coordinator's deployment block.
   */
  fromBlock?: bigint;
  /** Verify as of this block; defaults to the latest. */
  blockNumber?: bigint;
};

export type VerifyResultReturnType = CheckResultReturnType;

const LOG_EVENTS = [
  getAbiItem({ abi: sibylAbi, name: "BatchAppended" }),
  getAbiItem({ abi: sibylAbi, name: "ResultDelivered" }),
] as const;

/**
 * Checks a request's result against the coordinator's onchain state, trusting no operator. The leaf is
 * recomputed from the result (or from `claim`) and the log rebuilt from the coordinator's own events,
 * all read at one block. A proven result (`state: "proven"`) must have a Merkle path to `root()`; a
 * result delivered without a proof yet (`state: "pending"`) must be committed at its sequence in the
 * queue of pending leaves: the hash chain over the queue's leaves must end at `pendingLog().tail`.
 * `meaning` says what the verdict's state guarantees. An invalid result answers `valid: false` with a
 * `reason`; it throws only when the RPC fails or the request has no delivered result.
 *
 * @example
 * import { verifyResult } from "sibyl";
 *
 * const { valid, state, reason } = await verifyResult(client, { coordinator: "0x5FbD…", requestId: 1n });
 * // state: "proven" (under the onchain root) or "pending" (in the log, proof pending)
 * // Someone says the answer was "fr 0.99": check their claim, not the chain's event.
 * const claimed = await verifyResult(client, {
 *   coordinator: "0x5FbD…",
 *   requestId: 1n,
 *   claim: { output: "fr 0.99" },
 * });
 * console.log(claimed.valid, claimed.reason);
 */
export async function verifyResult<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: VerifyResultParameters,
): Promise<VerifyResultReturnType> {
  const { coordinator, requestId, fromBlock = 0n, siblings } = parameters;
  const blockNumber = parameters.blockNumber ?? (await getBlockNumber(client, { cacheTime: 0 }));
  const contracts = await resolveSibylContracts(client, coordinator, blockNumber);
  const read = { address: contracts.log, abi: sibylLogAbi, blockNumber } as const;
  const range = { address: eventSources(contracts), fromBlock, toBlock: blockNumber, strict: true } as const;
  const [root, queue, entries] = await Promise.all([
    readContract(client, { ...read, functionName: "root" }),
    readContract(client, { ...read, functionName: "pendingLog" }),
    // A caller's own path needs only the batches and the result; building a path needs the whole log.
    siblings === undefined
      ? getLogs(client, { ...range, events: LOG_EVENTS })
      : Promise.all([
          getContractEvents(client, { ...range, abi: sibylAbi, eventName: "BatchAppended" }),
          getContractEvents(client, {
            ...range,
            abi: sibylAbi,
            eventName: "ResultDelivered",
            args: { requestId },
          }),
        ]).then((lists): ResultLogEntry[] => lists.flat()),
  ]);
  const result = findResultEntry(entries, requestId);
  if (result === undefined) throw new ResultNotFoundError({ requestId, toBlock: blockNumber });
  return checkResult({
    result,
    root,
    queue: pendingLogFrom(queue),
    blockNumber,
    entries,
    ...(parameters.claim === undefined ? {} : { claim: parameters.claim }),
    ...(parameters.leafIndex === undefined ? {} : { leafIndex: parameters.leafIndex }),
    ...(siblings === undefined ? {} : { siblings }),
  });
}
