/**
 * Turns what the OpenAI SDK (or the network under it) throws into a ModelCallError whose `retryable`
 * tag says whether another attempt could answer differently. The client runs with `maxRetries: 0`, so
 * this table is the only retry policy for HTTP models.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { ResultStatus } from "../../shared/encoding.js";
import { callTimedOut, ModelCallError } from "./provider.js";

/** Statuses where the same request may well succeed later: timeout, conflict, rate limit. */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 409, 429]);

/** Socket-level failures seen when a server restarts, drops idle keep-alives or is overloaded. */
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

const MAX_REASON_CHARS = 160;

export function toModelCallError(error: unknown, signal: AbortSignal, now = Date.now()): ModelCallError {
  // Whatever the SDK made of it, a call that ran past its signal is a timeout to the executor.
  if (signal.aborted || error instanceof APIUserAbortError) return callTimedOut(error);
  if (error instanceof ModelCallError) return error;
  if (error instanceof APIConnectionTimeoutError) {
    return new ModelCallError("model server timed out", {
      status: ResultStatus.ModelTimeout,
      retryable: true,
      cause: error,
    });
  }
  if (error instanceof APIConnectionError) {
    return modelError(`connection failed: ${firstLine(describeCause(error))}`, true, error);
  }
  if (error instanceof APIError && typeof error.status === "number") return fromHttpStatus(error, now);
  // The SDK parses JSON bodies with JSON.parse and lets its SyntaxError through. Overloaded proxies do
  // send truncated or HTML bodies under a JSON content type, so a garbled body is worth another try.
  if (error instanceof SyntaxError)
    return modelError("malformed response body from model server", true, error);
  // A body cut off mid-read escapes the SDK as a bare fetch TypeError whose cause carries the socket code.
  if (hasTransientCode(error))
    return modelError(`connection failed: ${firstLine(describeCause(error))}`, true, error);
  return modelError(firstLine(error instanceof Error ? error.message : String(error)), false, error);
}

function fromHttpStatus(error: APIError, now: number): ModelCallError {
  const status = error.status as number;
  const reason = firstLine(error.message);
  if (status === 429) {
    // OpenAI reports an exhausted account as a 429 too; waiting will not refill it.
    if (error.code === "insufficient_quota") return modelError(reason, false, error);
    return new ModelCallError(reason, {
      status: ResultStatus.ModelError,
      retryable: true,
      retryAfterMs: retryAfterMs(error.headers, now),
      cause: error,
    });
  }
  return modelError(reason, status >= 500 || RETRYABLE_CLIENT_STATUSES.has(status), error);
}

/**
 * The server's requested wait: `retry-after-ms` (OpenAI's own header) first, then the standard
 * `retry-after` as delay-seconds or an HTTP date. Unparseable values are ignored, past dates mean 0.
 */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const milliseconds = Number.parseFloat(headers?.get("retry-after-ms") ?? "");
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return Math.ceil(milliseconds);
  const value = headers?.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
  // Every HTTP-date form starts with a day name; without this check Date.parse reads "-1" as a year.
  const date = /^[A-Za-z]{3}/.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function modelError(reason: string, retryable: boolean, cause: unknown): ModelCallError {
  return new ModelCallError(reason, { status: ResultStatus.ModelError, retryable, cause });
}

function hasTransientCode(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && TRANSIENT_NETWORK_CODES.has(code)) return true;
    current = current.cause;
  }
  return false;
}

/** "fetch failed" says nothing; the socket error under it ("other side closed") does. */
function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  return cause instanceof Error && cause.message ? `${error.message} (${cause.message})` : error.message;
}

function firstLine(text: string): string {
  const line = text.split("\n", 1)[0]?.trim() || "unknown error";
  return line.length > MAX_REASON_CHARS ? `${line.slice(0, MAX_REASON_CHARS - 1)}…` : line;
}
