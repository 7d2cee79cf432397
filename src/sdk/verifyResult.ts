import { type Address, type Chain, type Client, getAbiItem, type Transport } from "viem";
import { getBlockNumber, getContractEvents, getLogs, readContract } from "viem/actions";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { ResultNotFoundError } from "./errors.js";
import {
  type CheckResultReturnType,
  checkResult,
  findResultEntry,
  type ResultClaim,
  rebuildLeaves,
} from "./logReader.js";

export type VerifyResultParameters = {
  coordinator: Address;
  requestId: bigint;
  /** A result someone claims for the request; each field left out is the chain's. */
  claim?: ResultClaim;
  /** Checks the leaf at this slot instead of the one the result was delivered to. */
  leafIndex?: bigint;
  /** Checks this path (lowest sibling first) instead of one built from the rebuilt log. */
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
  getAbiItem({ abi: sibylCoordinatorAbi, name: "BatchAppended" }),
  getAbiItem({ abi: sibylCoordinatorAbi, name: "ResultDelivered" }),
] as const;

/**
 * Checks a request's result against the coordinator's onchain root, trusting no operator: the leaf is
 * recomputed from the result (or from `claim`), the log is rebuilt from the coordinator's own events,
 * and the leaf's Merkle path must lead to `root()` read at the same block as the events.
 * An invalid result answers `valid: false` with a `reason`; it throws only when the RPC fails or the
 * request has no delivered result.
 *
 * @example
 * import { verifyResult } from "sibyl";
 *
 * const { valid, reason } = await verifyResult(client, { coordinator: "0x5FbD…", requestId: 1n });
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
  const range = { address: coordinator, fromBlock, toBlock: blockNumber, strict: true } as const;
  const [root, entries] = await Promise.all([
    readContract(client, {
      address: coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "root",
      blockNumber,
    }),
    // A caller's own path needs only the result's event; building a path needs the whole log.
    siblings === undefined
      ? getLogs(client, { ...range, events: LOG_EVENTS })
      : getContractEvents(client, {
          ...range,
          abi: sibylCoordinatorAbi,
          eventName: "ResultDelivered",
          args: { requestId },
        }),
  ]);
  const result = findResultEntry(entries, requestId);
  if (result === undefined) throw new ResultNotFoundError({ requestId, toBlock: blockNumber });
  return checkResult({
    result,
    root,
    blockNumber,
    ...(parameters.claim === undefined ? {} : { claim: parameters.claim }),
    ...(parameters.leafIndex === undefined ? {} : { leafIndex: parameters.leafIndex }),
    ...(siblings === undefined ? { leaves: rebuildLeaves(entries) } : { siblings }),
  });
}
