/**
 * The one wait-for-a-result loop, written against a small reader so the viem actions and the ethers
 * adapter share it. A result counts once it has `confirmations` blocks and its block is still canonical,
 * so a result that a reorg removed is never handed back.
 */
import type { Hex } from "viem";
import { RequestExpiredError, ResultTimeoutError } from "./errors.js";
import type { EventLocation, SibylResult } from "./types.js";

/**
 * The longest pause between polls unless the caller asks for another: a delivery is seen within a
 * second. viem clients poll every 4 s by default, made for watching blocks, not for a user waiting on an
 * answer that usually lands in under a second.
 */
export const RESULT_POLLING_INTERVAL_MS = 1_000;

export interface BlockStamp {
  number: bigint;
  timestamp: bigint;
}

/** What the loop needs from a chain client, for one coordinator and one request. */
export interface ResultReader {
  latestBlock(): Promise<BlockStamp>;
  /** The request's block and deadline, or undefined while its event is not visible. */
  findRequest(): Promise<{ blockNumber: bigint; deadline: bigint } | undefined>;
  /** The request's result in blocks fromBlock..toBlock, if any. */
  findResult(fromBlock: bigint, toBlock: bigint): Promise<SibylResult | undefined>;
  /** The hash of the canonical block at `blockNumber`, or undefined if there is none. */
  blockHash(blockNumber: bigint): Promise<Hex | undefined>;
}

export interface PollForResultOptions {
  requestId: bigint;
  /** Blocks the result's block must have, itself included; 1 means mined. */
  confirmations: number;
  /** Undefined waits until the result arrives or the request's deadline passes. */
  timeoutMs: number | undefined;
  pollingIntervalMs: number;
  /** Where to look until the request's own block is known. */
  fromBlock: bigint;
  /** Also wait until a proof has put the result in the log, its batch as deep and canonical too. */
  proven?: boolean;
}

export async function pollForResult(
  reader: ResultReader,
  options: PollForResultOptions,
): Promise<SibylResult> {
  const { requestId, timeoutMs, pollingIntervalMs } = options;
  if (!Number.isInteger(options.confirmations) || options.confirmations < 0) {
    throw new RangeError(`confirmations must be a non-negative integer, got ${options.confirmations}`);
  }
  const confirmations = BigInt(Math.max(options.confirmations, 1));
  const started = Date.now();
  let request: { blockNumber: bigint; deadline: bigint } | undefined;
  for (;;) {
    const head = await reader.latestBlock();
    request ??= await reader.findRequest();
    // Results come after their request, so once the request is found the search can start there.
    const result = await reader.findResult(request?.blockNumber ?? options.fromBlock, head.number);
    if (result !== undefined) {
      // A proof pending counts as not settled: the batch must arrive, deep and canonical, too.
      const settled = async (event: EventLocation | undefined) =>
        event !== undefined &&
        head.number - event.blockNumber + 1n >= confirmations &&
        (await reader.blockHash(event.blockNumber)) === event.blockHash;
      if ((await settled(result)) && (!options.proven || (await settled(result.batch)))) return result;
    } else if (request !== undefined && head.timestamp > request.deadline) {
      // Block times only grow and the coordinator refuses answers after the deadline, so a result
      // absent up to a block past the deadline can never arrive.
      throw new RequestExpiredError({ requestId, deadline: request.deadline });
    }
    const elapsed = Date.now() - started;
    if (timeoutMs !== undefined && elapsed >= timeoutMs)
      throw new ResultTimeoutError({ requestId, timeoutMs });
    const pause =
      timeoutMs === undefined ? pollingIntervalMs : Math.min(pollingIntervalMs, timeoutMs - elapsed);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
