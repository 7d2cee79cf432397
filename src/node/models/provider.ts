/**
 * What the node needs from a model: load once, answer one input, close. Providers throw
 * `ModelCallError`s; the executor alone decides on retries (from the `retryable` tag) and turns the
 * final outcome into a result status, so no provider retries on its own.
 */
import { ResultStatus } from "../../shared/encoding.js";
import { SibylError, type SibylErrorOptions } from "../../shared/errors.js";

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
  start(): Promise<void>;
  run(input: Uint8Array, signal: AbortSignal): Promise<ModelAnswer>;
  close(): Promise<void>;
}

/** A failed model call: `status` is what to answer onchain once retries are over. */
export class ModelCallError extends SibylError {
  override name = "ModelCallError";
  readonly status: ResultStatus;
  /** Server-suggested wait before the next attempt (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;

  constructor(
    shortMessage: string,
    options: SibylErrorOptions & { status: ResultStatus; retryAfterMs?: number | undefined },
  ) {
    super(shortMessage, options);
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Every provider reads its input as text; bytes that are not UTF-8 are the requester's fault. */
export function decodeInputText(input: Uint8Array): string {
  try {
    return strictUtf8.decode(input);
  } catch (cause) {
    throw new ModelCallError("input is not valid UTF-8", { status: ResultStatus.InvalidInput, cause });
  }
}

/**
 * What a provider throws once the call's signal has fired. Retryable: the executor knows whether the
 * signal was its own timeout (retry) or a shutdown (stop), the provider cannot.
 */
export function callTimedOut(cause?: unknown): ModelCallError {
  return new ModelCallError("model call timed out", {
    status: ResultStatus.ModelTimeout,
    retryable: true,
    cause,
  });
}
