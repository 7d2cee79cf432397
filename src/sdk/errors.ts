/**
 * Errors the SDK throws on purpose. Each says what the caller can do next; an invalid result is never
 * one of them (verifyResult answers `valid: false` instead), only things that stop an answer at all.
 */
import { SibylError } from "../shared/errors.js";

/** No result arrived within `timeoutMs`; the request may still be answered, so waiting again is fine. */
export class ResultTimeoutError extends SibylError {
  override name = "ResultTimeoutError";
  readonly requestId: bigint;
  readonly timeoutMs: number;

  constructor({ requestId, timeoutMs }: { requestId: bigint; timeoutMs: number }) {
    super(`no result for request ${requestId} within ${timeoutMs} ms`, { retryable: true });
    this.requestId = requestId;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The chain is past the request's deadline and holds no result: the coordinator refuses any later
 * answer, so no amount of waiting helps. Cancelling refunds the fee.
 */
export class RequestExpiredError extends SibylError {
  override name = "RequestExpiredError";
  readonly requestId: bigint;
  readonly deadline: bigint;

  constructor({ requestId, deadline }: { requestId: bigint; deadline: bigint }) {
    super(`request ${requestId} passed its deadline (unix ${deadline}) without a result`, {
      details: "no operator can answer it any more; cancelRequest refunds the fee to the requester",
    });
    this.requestId = requestId;
    this.deadline = deadline;
  }
}

/** The coordinator emitted no InferenceRequested event for the id in the blocks searched. */
export class RequestNotFoundError extends SibylError {
  override name = "RequestNotFoundError";
  readonly requestId: bigint;

  constructor({ requestId, fromBlock }: { requestId: bigint; fromBlock: bigint }) {
    super(`no request ${requestId} on the coordinator from block ${fromBlock}`, {
      details: "check the coordinator address and that fromBlock is at or before the request's block",
    });
    this.requestId = requestId;
  }
}

/** The request has no ResultDelivered event (yet) in the blocks searched, so there is nothing to verify. */
export class ResultNotFoundError extends SibylError {
  override name = "ResultNotFoundError";
  readonly requestId: bigint;

  constructor({ requestId, toBlock }: { requestId: bigint; toBlock: bigint }) {
    super(`request ${requestId} has no delivered result up to block ${toBlock}`, { retryable: true });
    this.requestId = requestId;
  }
}

/**
 * The events read do not form the whole result log: the range starts after the first batch, or a
 * batch or result is missing. Usually `fromBlock` is later than the coordinator's deployment block.
 */
export class IncompleteLogError extends SibylError {
  override name = "IncompleteLogError";
}

/** A transaction the SDK sent was mined but reverted. */
export class TransactionRevertedError extends SibylError {
  override name = "TransactionRevertedError";
  readonly transactionHash: string;

  constructor({ action, transactionHash }: { action: string; transactionHash: string }) {
    super(`${action} transaction ${transactionHash} reverted`);
    this.transactionHash = transactionHash;
  }
}

/** A transaction needs a sender, and neither the parameters nor the client named one. */
export class AccountNotFoundError extends SibylError {
  override name = "AccountNotFoundError";

  constructor(action: string) {
    super(`${action} needs an account`, {
      details: "pass `account` or use a wallet client created with an account",
    });
  }
}
