/**
 * What the node needs from a model: load once, answer one input, close. Providers throw
 * `ModelCallError`s; the executor alone decides on retries (from the `retryable` tag) and turns the
 * final outcome into a result status or an operator fault, so no provider retries on its own.
 */
import { ResultStatus } from "../../shared/encoding.js";
import { SibylError, type SibylErrorOptions } from "../../shared/errors.js";
import type { AnswerConstraint } from "./answerConstraint.js";

export type ProviderKind = "openai" | "local" | "builtin";

export interface ModelAnswer {
  /** The answer as UTF-8 text; the executor encodes it and enforces the size limit. */
  output: string;
  /** The model version the server reports (or the file/package version for in-process models). */
  modelVersion: string;
  usage?: { promptTokens: number; completionTokens: number };
}

export interface ModelProvider {
  /** The registry name; the onchain model id is modelIdFromName(name). */
  readonly name: string;
  readonly kind: ProviderKind;
  /**
   * The settings that decide what the model answers (model name, params, file digest...), never a
   * secret. Their canonical hash must equal the registry's configHash for the node to serve the model.
   */
  readonly settings: Readonly<Record<string, unknown>>;
  /**
   * The form every answer is normalized into before it is committed (also in `settings`, so pinned
   * by the configHash); absent for a free-text model.
   */
  readonly answer?: AnswerConstraint;
  start(): Promise<void>;
  run(input: Uint8Array, signal: AbortSignal): Promise<ModelAnswer>;
  close(): Promise<void>;
}

/**
 * What a failed call is answered with onchain: a fixed text per kind of request error, never the
 * provider's words (they can name internal hosts, URLs, keys). The detail stays in the node's log.
 */
export const REQUEST_ERRORS = {
  "invalid input: not UTF-8": ResultStatus.InvalidInput,
  "invalid input: malformed messages": ResultStatus.InvalidInput,
  "invalid input: no text": ResultStatus.InvalidInput,
  "invalid input: too long for the model": ResultStatus.InvalidInput,
  "invalid input: rejected by the model server": ResultStatus.InvalidInput,
  "refused by model": ResultStatus.ModelError,
  "model returned no answer": ResultStatus.ModelError,
  "model error": ResultStatus.ModelError,
  /** The model answered, but not in the form its registration promises (see answerConstraint). */
  "answer outside the model's constraint": ResultStatus.ModelError,
  /** Failing alone: an operator fault this request kept getting while the model answered others. */
  "model timeout": ResultStatus.ModelTimeout,
  "output too large": ResultStatus.OutputTooLarge,
} as const satisfies Record<string, ResultStatus>;

export type RequestError = keyof typeof REQUEST_ERRORS;

/**
 * Failures that say the operator's side is broken, not the request: never answered onchain (the
 * requester would pay for the operator's fault); the model is stopped on this node instead. Fixed
 * texts, shown in /readyz and metric labels.
 */
export const OPERATOR_FAULTS = [
  "authentication failed",
  "permission denied",
  "quota exhausted",
  "model not found",
  "settings rejected",
  "rate limited",
  "server unreachable",
  "server error",
  "timed out",
  "model not loaded",
] as const;

export type OperatorFault = (typeof OPERATOR_FAULTS)[number];

export type CallFailure = { request: RequestError } | { operator: OperatorFault };

/**
 * A failed model call: either an error about the request (`request`, answered onchain with that
 * text once retries are over) or an operator fault (`operator`). `shortMessage` is the detail for
 * the node's log.
 */
export class ModelCallError extends SibylError {
  override name = "ModelCallError";
  readonly failure: CallFailure;
  /** Server-suggested wait before the next attempt (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    shortMessage: string,
    options: SibylErrorOptions & CallFailure & { retryAfterMs?: number | undefined },
  ) {
    super(shortMessage, options);
    this.failure = "request" in options ? { request: options.request } : { operator: options.operator };
    this.retryAfterMs = options.retryAfterMs;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Every provider reads its input as text; bytes that are not UTF-8 are the requester's fault. */
export function decodeInputText(input: Uint8Array): string {
  try {
    return strictUtf8.decode(input);
  } catch (cause) {
    throw new ModelCallError("input is not valid UTF-8", { request: "invalid input: not UTF-8", cause });
  }
}

/**
 * What a provider throws once the call's signal has fired. Retryable: the executor knows whether the
 * signal was its own timeout (retry) or a shutdown (stop), the provider cannot.
 */
export function callTimedOut(cause?: unknown): ModelCallError {
  return new ModelCallError("model call timed out", { operator: "timed out", retryable: true, cause });
}
