/**
 * Runs one request through a provider and always comes back with something to answer onchain: the
 * model's text, or a result status with a short reason. Retries, timeouts and the output size limit
 * live here and nowhere else.
 *
 * Retry rules:
 * - only a ModelCallError tagged `retryable` is retried; anything else a provider throws is a final
 *   ModelError carrying its message;
 * - each attempt has its own deadline (`timeoutMs`); running past it is a retryable ModelTimeout;
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
import { canonicalJson } from "./configHash.js";
import { type ModelAnswer, ModelCallError, type ModelProvider, type ProviderKind } from "./provider.js";

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
  error?: string;
}

export interface ModelOutcome {
  status: ResultStatus;
  /** The answer when status is Ok, otherwise a short reason (at most 200 bytes and maxOutputBytes). */
  output: string;
  metadata: ModelMetadata;
  attempts: number;
  latencyMs: number;
}

export interface ErrorClassification {
  retryable: boolean;
  status: ResultStatus;
  reason: string;
  retryAfterMs?: number;
}

/** The node is stopping: the request was not answered and must be run again after restart. */
export class ShutdownError extends SibylError {
  override name = "ShutdownError";
  constructor(options: { cause?: unknown } = {}) {
    super("model call abandoned: the node is shutting down", { ...options, retryable: true });
  }
}

const MAX_REASON_BYTES = 200;

const STATUS_LABELS: Record<ResultStatus, string> = {
  [ResultStatus.Ok]: "ok",
  [ResultStatus.InvalidInput]: "invalid input",
  [ResultStatus.ModelError]: "model error",
  [ResultStatus.ModelTimeout]: "model timed out",
  [ResultStatus.OutputTooLarge]: "output too large",
};

export function classifyError(error: unknown): ErrorClassification {
  if (error instanceof ModelCallError) {
    return {
      retryable: error.retryable,
      // A failure cannot be answered as Ok, whatever a confused provider put in it.
      status: error.status === ResultStatus.Ok ? ResultStatus.ModelError : error.status,
      reason: error.shortMessage,
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    };
  }
  return { retryable: false, status: ResultStatus.ModelError, reason: describe(error) };
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
      const bytes = new TextEncoder().encode(answer.output).length;
      if (bytes <= policy.maxOutputBytes) {
        return { status: ResultStatus.Ok, output: answer.output, metadata, attempts, latencyMs };
      }
      const reason = shortReason(
        `output is ${bytes} bytes, over the limit of ${policy.maxOutputBytes}`,
        policy,
      );
      return {
        status: ResultStatus.OutputTooLarge,
        output: reason,
        metadata: { ...metadata, error: reason },
        attempts,
        latencyMs,
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

  const latencyMs = elapsed();
  const detail = attempts > 1 ? `${STATUS_LABELS[failure.status]} after ${attempts} attempts: ` : "";
  const reason = shortReason(`${detail}${failure.reason}`, policy);
  return {
    status: failure.status,
    output: reason,
    metadata: { ...base, latencyMs, attempts, error: reason },
    attempts,
    latencyMs,
  };
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
          status: ResultStatus.ModelTimeout,
          reason: `no answer within ${timeoutMs} ms`,
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

function checked(answer: unknown): ModelAnswer {
  const candidate = answer as Partial<ModelAnswer> | null | undefined;
  if (typeof candidate?.output !== "string" || typeof candidate.modelVersion !== "string") {
    throw new ModelCallError("provider returned no answer text", { status: ResultStatus.ModelError });
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

/** Cuts a reason to the byte limit on a character boundary, so it stays valid UTF-8. */
function shortReason(reason: string, policy: ExecutionPolicy): string {
  const limit = Math.max(0, Math.min(MAX_REASON_BYTES, policy.maxOutputBytes));
  const bytes = new TextEncoder().encode(reason);
  if (bytes.length <= limit) return reason;
  let end = limit;
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

function describe(error: unknown): string {
  try {
    if (error instanceof Error) return error.message || error.name;
    return `provider threw ${typeof error === "string" ? error : String(error)}`;
  } catch {
    return "provider threw an unprintable value";
  }
}
