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

/** The coordinator has no model with this id: a typo in the name, or the wrong coordinator. */
export class UnknownModelError extends SibylError {
  override name = "UnknownModelError";
  readonly model: string;
  readonly modelId: string;

  constructor({ model, modelId, coordinator, cause }: CoordinatorRevertContext & { modelId: string }) {
    super(`model "${model}" is not registered on coordinator ${coordinator}`, {
      details: "check the model's name (sibyl models lists them) and the coordinator's address",
      cause,
    });
    this.model = model;
    this.modelId = modelId;
  }
}

/** The request carried less than the coordinator asks for it; `required` is what would have done. */
export class InsufficientPaymentError extends SibylError {
  override name = "InsufficientPaymentError";
  readonly paid: bigint;
  readonly required: bigint;

  constructor({ paid, required, cause }: { paid: bigint; required: bigint; cause: unknown }) {
    super(`the request sent ${paid} wei: send at least ${required} wei`, {
      details:
        "leave `value` out and requestInference escrows estimateFee's quote; the unused part is refunded",
      cause,
    });
    this.paid = paid;
    this.required = required;
  }
}

/**
 * Any other refusal by the coordinator, by its custom error's name with its arguments (model ids shown
 * as names), e.g. `request reverted: InputTooLarge(model: "language-id", length: 5000, maxLength: 4096)`.
 */
export class CoordinatorRevertedError extends SibylError {
  override name = "CoordinatorRevertedError";
  readonly errorName: string;
  readonly args: readonly unknown[];

  constructor({
    action,
    errorName,
    shownArgs,
    args,
    cause,
  }: {
    action: string;
    errorName: string;
    shownArgs: string;
    args: readonly unknown[];
    cause: unknown;
  }) {
    super(`${action} reverted: ${errorName}(${shownArgs})`, {
      details: "the coordinator's errors are documented in ISibylCoordinator.sol",
      cause,
    });
    this.errorName = errorName;
    this.args = args;
  }
}

/** What turns a revert into one of the errors above. */
export interface CoordinatorRevertContext {
  /** The model as the caller named it (a name, or an id when that is all they gave). */
  model: string;
  coordinator: string;
  cause: unknown;
}
