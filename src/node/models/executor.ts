/**
 * Runs one request through a provider and comes back with what to answer onchain: the model's text,
 * or, for an error about the request itself, a result status with a fixed reason text (never the
 * provider's message: it can name internal hosts, URLs or keys; the detail is returned for the log).
 * A failure that is the operator's (authentication, quota, a model server down past its retries) is
 * not answered: executeModel rejects with OperatorFaultError and the request stays unanswered.
 * Retries, timeouts, the answer's constraint and the output size limit live here and nowhere else.
 * A model with a constrained answer commits the normalized answer, never the model's own wording;
 * an answer outside the constraint is the request error "answer outside the model's constraint".
 *
 * Retry rules:
 * - only a ModelCallError tagged `retryable` is retried; anything else a provider throws is a final
 *   request error "model error";
 * - each attempt has its own deadline (`timeoutMs`); running past it is a retryable "timed out";
 * - a retryable failure still failing at the last attempt (or when the budget ends the retries) is
 *   the operator's fault it names (server error, unreachable, timed out, rate limited), never an
 *   answer: a request whose answer always takes longer than `timeoutMs` is therefore never answered
 *   by this node (it stops the model until a probe succeeds, and the request expires), so size
 *   `timeoutMs` for the longest answer `maxTokens` allows;
 * - between attempts the wait is full-jitter exponential backoff, random in
 *   [0, min(maxBackoffMs, baseBackoffMs * 2^(attempt-1))], or the server's Retry-After if longer;
 * - the whole call has a budget of maxAttempts * timeoutMs: a wait that would end past it ends the
 *   retries instead (a server asking for a minute gets no earlier retry than it asked for). With
 *   maxBackoffMs <= timeoutMs the budget never cuts short a run of plain timeouts.
 *
 * Shutdown is not an answer: once the `shutdown` signal fires, executeModel rejects with ShutdownError
 * and the request stays pending, to be run again after restart.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { type Hex, stringToHex } from "viem";
import { ResultStatus } from "../../shared/encoding.js";
import { SibylError } from "../../shared/errors.js";
import { normalizeAnswer } from "./answerConstraint.js";
import { canonicalJson } from "./configHash.js";
import {
  type CallFailure,
  type ModelAnswer,
  ModelCallError,
  type ModelProvider,
  type OperatorFault,
  type ProviderKind,
  REQUEST_ERRORS,
  type RequestError,
} from "./provider.js";

/** The wait between a node's attempts at one call: full jitter from 250 ms, doubling, up to 5 s. */
export const NODE_BACKOFF = { baseBackoffMs: 250, maxBackoffMs: 5_000 } as const;

export interface ExecutionPolicy {
  /** Deadline of one attempt. */
  timeoutMs: number;
  maxAttempts: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** The request's limit on the answer, in UTF-8 bytes. */
  maxOutputBytes: number;
}

/** What is committed (as canonical JSON) next to each answer. */
export interface ModelMetadata {
  provider: ProviderKind;
  model: string;
  /** The version the model reported; absent when no attempt got an answer. */
  version?: string;
  params: Readonly<Record<string, unknown>>;
  usage?: { promptTokens: number; completionTokens: number };
  latencyMs: number;
  attempts: number;
  /** The fixed reason text of an error answer (a RequestError), never provider text. */
  error?: string;
}

export interface ModelOutcome {
  status: ResultStatus;
  /** The answer when status is Ok, otherwise the fixed reason (cut to maxOutputBytes). */
  output: string;
  metadata: ModelMetadata;
  attempts: number;
  latencyMs: number;
  /** For the node's log only: what went wrong, in the provider's words (redact before writing). */
  detail?: unknown;
}

export interface ErrorClassification {
  retryable: boolean;
  failure: CallFailure;
  retryAfterMs?: number;
  /** What the provider threw, for the log. */
  error: unknown;
}

/** The call failed for a reason that is the operator's to fix: the request must not be answered. */
export class OperatorFaultError extends SibylError {
  override name = "OperatorFaultError";
  readonly fault: OperatorFault;
  readonly attempts: number;
  readonly latencyMs: number;

  constructor(fault: OperatorFault, attempts: number, latencyMs: number, cause: unknown) {
    super(`operator fault: ${fault}`, { cause });
    this.fault = fault;
    this.attempts = attempts;
    this.latencyMs = latencyMs;
  }
}

/**
 * The answer for a request that keeps getting an operator fault while the same model answers other
 * requests (see ModelAvailability): the fault is this request's after all. "model timeout" when it
 * timed out, else "model error".
 */
export function isolatedFaultAnswer(
  provider: ModelProvider,
  fault: OperatorFaultError,
  policy: Pick<ExecutionPolicy, "maxOutputBytes">,
): ModelOutcome {
  const { attempts, latencyMs } = fault;
  const base = {
    provider: provider.kind,
    model: provider.name,
    params: provider.settings,
    latencyMs,
    attempts,
  };
  const error = fault.fault === "timed out" ? "model timeout" : "model error";
  return { ...errorAnswer(error, base, policy), attempts, latencyMs, detail: fault };
}

/** The node is stopping: the request was not answered and must be run again after restart. */
export class ShutdownError extends SibylError {
  override name = "ShutdownError";
  constructor(options: { cause?: unknown } = {}) {
    super("model call abandoned: the node is shutting down", { ...options, retryable: true });
  }
}

export function classifyError(error: unknown): ErrorClassification {
  if (error instanceof ModelCallError) {
    return {
      retryable: error.retryable,
      failure: error.failure,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      error,
    };
  }
  return { retryable: false, failure: { request: "model error" }, error };
}

/** The metadata as committed: canonical JSON in UTF-8, so every node encodes it identically. */
export function encodeMetadata(metadata: ModelMetadata): Hex {
  return stringToHex(canonicalJson(metadata));
}

export async function executeModel(
  provider: ModelProvider,
  input: Uint8Array,
  policy: ExecutionPolicy,
  shutdown: AbortSignal,
): Promise<ModelOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const budgetMs = policy.maxAttempts * policy.timeoutMs;
  const base = { provider: provider.kind, model: provider.name, params: provider.settings };
  let attempts = 0;
  let failure: ErrorClassification;

  for (;;) {
    throwIfShutdown(shutdown);
    attempts++;
    const result = await attempt(provider, input, policy.timeoutMs, shutdown);
    throwIfShutdown(shutdown);
    if ("answer" in result) {
      const { answer } = result;
      const latencyMs = elapsed();
      const metadata: ModelMetadata = {
        ...base,
        version: answer.modelVersion,
        ...(answer.usage ? { usage: answer.usage } : {}),
        latencyMs,
        attempts,
      };
      const normalized =
        provider.answer === undefined
          ? { ok: true as const, output: answer.output }
          : normalizeAnswer(provider.answer, answer.output);
      if (!normalized.ok) {
        // Not retried: the model did answer, and the operator who asks again until an answer fits
        // would be choosing the answer. The reason names no answer text, since it is logged.
        return {
          ...errorAnswer("answer outside the model's constraint", metadata, policy),
          attempts,
          latencyMs,
          detail: `answer outside the ${provider.answer?.kind} constraint: ${normalized.reason}`,
        };
      }
      const output = normalized.output;
      const bytes = new TextEncoder().encode(output).length;
      if (bytes <= policy.maxOutputBytes) {
        return { status: ResultStatus.Ok, output, metadata, attempts, latencyMs };
      }
      return {
        ...errorAnswer("output too large", metadata, policy),
        attempts,
        latencyMs,
        detail: `output is ${bytes} bytes, over the limit of ${policy.maxOutputBytes}`,
      };
    }
    failure = result.failure;
    if (!failure.retryable || attempts >= policy.maxAttempts) break;
    const waitMs = Math.max(backoffMs(attempts, policy), failure.retryAfterMs ?? 0);
    if (elapsed() + waitMs > budgetMs) break;
    await sleep(waitMs, undefined, { signal: shutdown }).catch((cause: unknown) => {
      throw new ShutdownError({ cause });
    });
  }

  // Retries used up on a retryable failure say the same as a final operator fault: the server (or
  // the account behind it) is not fit to answer, whatever the request.
  if ("operator" in failure.failure) {
    throw new OperatorFaultError(failure.failure.operator, attempts, elapsed(), failure.error);
  }
  const latencyMs = elapsed();
  return {
    ...errorAnswer(failure.failure.request, { ...base, latencyMs, attempts }, policy),
    attempts,
    latencyMs,
    detail: failure.error,
  };
}

/** An error answer: its status and fixed text, the text also in the metadata. */
function errorAnswer(
  error: RequestError,
  metadata: ModelMetadata,
  policy: Pick<ExecutionPolicy, "maxOutputBytes">,
): Pick<ModelOutcome, "status" | "output" | "metadata"> {
  const reason = cutToLimit(error, policy.maxOutputBytes);
  return { status: REQUEST_ERRORS[error], output: reason, metadata: { ...metadata, error: reason } };
}

async function attempt(
  provider: ModelProvider,
  input: Uint8Array,
  timeoutMs: number,
  shutdown: AbortSignal,
): Promise<{ answer: ModelAnswer } | { failure: ErrorClassification }> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([timeout, shutdown]);
  try {
    // Racing the signal keeps the deadline even for a provider that ignores it.
    const answer = await untilAborted(
      new Promise<ModelAnswer>((resolve) => resolve(provider.run(input, signal))),
      signal,
    );
    return { answer: checked(answer) };
  } catch (error) {
    if (timeout.aborted && !shutdown.aborted) {
      return {
        failure: {
          retryable: true,
          failure: { operator: "timed out" },
          error: new ModelCallError(`no answer within ${timeoutMs} ms`, { operator: "timed out" }),
        },
      };
    }
    return { failure: classifyError(error) };
  }
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * "The model said nothing" is one case whatever its shape: no answer, no text, or text that is empty or
 * only whitespace all become the ModelError "model returned no answer", never an Ok with empty output.
 */
function checked(answer: unknown): ModelAnswer {
  const candidate = answer as Partial<ModelAnswer> | null | undefined;
  if (
    typeof candidate?.output !== "string" ||
    candidate.output.trim() === "" ||
    typeof candidate.modelVersion !== "string"
  ) {
    throw new ModelCallError("provider returned no answer text", { request: "model returned no answer" });
  }
  return candidate as ModelAnswer;
}

function backoffMs(attempts: number, policy: ExecutionPolicy): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** (attempts - 1));
  return Math.round(Math.random() * ceiling);
}

function throwIfShutdown(shutdown: AbortSignal): void {
  if (shutdown.aborted) throw new ShutdownError({ cause: shutdown.reason });
}

/** Cuts a reason to the request's byte limit on a character boundary, so it stays valid UTF-8. */
function cutToLimit(reason: string, maxOutputBytes: number): string {
  const bytes = new TextEncoder().encode(reason);
  const limit = Math.max(0, maxOutputBytes);
  if (bytes.length <= limit) return reason;
  let end = limit;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}
