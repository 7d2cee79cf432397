/**
 * Turns what the OpenAI SDK (or the network under it) throws into a ModelCallError that says whose
 * fault it is and whether another attempt could answer differently. The client runs with
 * `maxRetries: 0`, so this table is the only retry policy for HTTP models:
 *
 * | what the server or network did                 | failure                                  | retried |
 * | ---------------------------------------------- | ---------------------------------------- | ------- |
 * | 401, code invalid_api_key                      | operator: authentication failed          | no      |
 * | 403                                            | operator: permission denied              | no      |
 * | 402, code insufficient_quota (even on a 429)   | operator: quota exhausted                | no      |
 * | 404, code model_not_found                      | operator: model not found                | no      |
 * | 400/422 naming a setting (`param` not messages)| operator: settings rejected              | no      |
 * | other 4xx (405, 415...): wrong endpoint        | operator: settings rejected              | no      |
 * | 429                                            | operator: rate limited                   | yes     |
 * | 408, timeouts, the call's own deadline         | operator: timed out                      | yes     |
 * | 409, 5xx, a garbled body                       | operator: server error                   | yes     |
 * | refused connection, reset socket, DNS failure  | operator: server unreachable             | yes     |
 * | 413, 400 code context_length_exceeded          | request: invalid input: too long         | no      |
 * | 400 code content_filter / content_policy_...   | request: refused by model                | no      |
 * | any other 400/422 (about the messages)         | request: rejected by the model server    | no      |
 * | anything else the SDK throws                   | request: model error                     | no      |
 *
 * A retryable failure still failing after the last attempt is the operator's too: the executor
 * reports it as that operator fault rather than answering the request.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from "openai";
import { type CallFailure, callTimedOut, ModelCallError } from "./provider.js";

/** Socket-level failures seen when a server restarts, drops idle keep-alives or is overloaded. */
const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENOTFOUND",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** How OpenAI, vLLM and llama.cpp's server word an input over the model's context. */
const CONTEXT_LENGTH = /context[_ ](length|size|window)|maximum context|too many tokens/i;

const MAX_REASON_CHARS = 160;

export function toModelCallError(error: unknown, signal: AbortSignal, now = Date.now()): ModelCallError {
  // Whatever the SDK made of it, a call that ran past its signal is a timeout to the executor.
  if (signal.aborted || error instanceof APIUserAbortError) return callTimedOut(error);
  if (error instanceof ModelCallError) return error;
  if (error instanceof APIConnectionTimeoutError) {
    return failure("model server timed out", { operator: "timed out" }, true, error);
  }
  if (error instanceof APIConnectionError) {
    return failure(`connection failed: ${firstLine(describeCause(error))}`, UNREACHABLE, true, error);
  }
  if (error instanceof APIError && typeof error.status === "number") return fromHttpStatus(error, now);
  // The SDK parses JSON bodies with JSON.parse and lets its SyntaxError through. Overloaded proxies do
  // send truncated or HTML bodies under a JSON content type, so a garbled body is worth another try.
  if (error instanceof SyntaxError)
    return failure("malformed response body from model server", SERVER_ERROR, true, error);
  // A body cut off mid-read escapes the SDK as a bare fetch TypeError whose cause carries the socket code.
  if (hasTransientCode(error))
    return failure(`connection failed: ${firstLine(describeCause(error))}`, UNREACHABLE, true, error);
  const message = firstLine(error instanceof Error ? error.message : String(error));
  return failure(message, { request: "model error" }, false, error);
}

const UNREACHABLE: CallFailure = { operator: "server unreachable" };
const SERVER_ERROR: CallFailure = { operator: "server error" };

function fromHttpStatus(error: APIError, now: number): ModelCallError {
  const status = error.status as number;
  const reason = firstLine(error.message);
  const code = typeof error.code === "string" ? error.code : "";
  const final = (kind: CallFailure) => failure(reason, kind, false, error);
  if (status === 401 || code === "invalid_api_key") return final({ operator: "authentication failed" });
  if (status === 403) return final({ operator: "permission denied" });
  // OpenAI reports an exhausted account as a 429 too; waiting will not refill it.
  if (status === 402 || code === "insufficient_quota") return final({ operator: "quota exhausted" });
  if (status === 404 || code === "model_not_found") return final({ operator: "model not found" });
  if (status === 429) {
    return new ModelCallError(reason, {
      operator: "rate limited",
      retryable: true,
      retryAfterMs: retryAfterMs(error.headers, now),
      cause: error,
    });
  }
  if (status === 408) return failure(reason, { operator: "timed out" }, true, error);
  if (status === 409 || status >= 500) return failure(reason, SERVER_ERROR, true, error);
  if (status === 413 || code === "context_length_exceeded" || CONTEXT_LENGTH.test(error.message))
    return final({ request: "invalid input: too long for the model" });
  if (code === "content_filter" || code === "content_policy_violation")
    return final({ request: "refused by model" });
  if (status === 400 || status === 422) {
    // A parameter other than the messages is one of this node's settings (model, max_tokens...):
    // every request would fail the same way, so it is the operator's to fix.
    const param = typeof error.param === "string" ? error.param : "";
    if (param !== "" && !param.startsWith("messages")) return final({ operator: "settings rejected" });
    return final({ request: "invalid input: rejected by the model server" });
  }
  return final({ operator: "settings rejected" });
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

function failure(reason: string, kind: CallFailure, retryable: boolean, cause: unknown): ModelCallError {
  return new ModelCallError(reason, { ...kind, retryable, cause });
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
