import { type Address, BlockNotFoundError, type Chain, type Client, type Transport } from "viem";
import { getBlock } from "viem/actions";
import { getRequest } from "./getRequest.js";
import { getResult } from "./getResult.js";
import type { SibylResult } from "./types.js";
import { pollForResult, RESULT_POLLING_INTERVAL_MS } from "./waiting.js";

export type WaitForResultParameters = {
  coordinator: Address;
  requestId: bigint;
  /** Blocks the result's block must have, itself included; the default 1 means mined. */
  confirmations?: number;
  /**
   * Gives up with ResultTimeoutError after this long. Without it the wait still ends: with
   * RequestExpiredError once the chain passes the request's deadline unanswered.
   */
  timeoutMs?: number;
  /**
   * Also wait until a proof has put the result in the log (its `leafIndex` is set), not only until it
   * is delivered; a result delivered without a proof waits for someone to prove it. Default false.
   */
  proven?: boolean;
  /** Time between polls in ms; defaults to the client's polling interval, at most 1 s. */
  pollingInterval?: number;
  /**
   * Where to look for the request. The default 0 suits local chains; elsewhere pass the coordinator's
   * deployment block or the request's, as RPC providers limit how far back one log query reaches.
   */
  fromBlock?: bigint;
};

export type WaitForResultReturnType = SibylResult;

/**
 * Waits until the request's result is on chain with `confirmations` blocks and its block is still
 * canonical, then returns it. A result that a reorg removed is not returned; the wait goes on.
 *
 * @example
 * import { ResultTimeoutError, waitForResult } from "sibyl";
 *
 * try {
 *   const result = await waitForResult(client, { coordinator: "0x5FbD…", requestId, timeoutMs: 60_000 });
 *   console.log(result.outputText);
 * } catch (error) {
 *   if (error instanceof ResultTimeoutError) console.log("not answered yet; try again later");
 *   else throw error;
 * }
 */
export async function waitForResult<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: WaitForResultParameters,
): Promise<WaitForResultReturnType> {
  const { coordinator, requestId, confirmations = 1, timeoutMs, fromBlock = 0n, proven } = parameters;
  return pollForResult(
    {
      async latestBlock() {
        const block = await getBlock(client, { blockTag: "latest" });
        return { number: block.number, timestamp: block.timestamp };
      },
      async findRequest() {
        const request = await getRequest(client, { coordinator, requestId, fromBlock });
        return request && { blockNumber: request.blockNumber, deadline: request.commitment.deadline };
      },
      findResult: (from, to) => getResult(client, { coordinator, requestId, fromBlock: from, toBlock: to }),
      async blockHash(blockNumber) {
        try {
          return (await getBlock(client, { blockNumber })).hash;
        } catch (error) {
          if (error instanceof BlockNotFoundError) return undefined;
          throw error;
        }
      },
    },
    {
      requestId,
      confirmations,
      timeoutMs,
      pollingIntervalMs:
        parameters.pollingInterval ?? Math.min(client.pollingInterval, RESULT_POLLING_INTERVAL_MS),
      fromBlock,
      ...(proven === undefined ? {} : { proven }),
    },
  );
}
