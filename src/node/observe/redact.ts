/**
 * One place that strips secrets out of text before it leaves the node (logs, errors printed by the
 * CLI). RPC providers put API keys in URL paths (`https://eth.example/v2/KEY`) and queries
 * (`?apikey=KEY`), and viem and the OpenAI SDK quote those URLs in their error messages, so every URL is
 * cut to its scheme and host, and the secret shapes that show up without a URL around them (bearer
 * tokens, `sk-` keys, `key=` pairs, `/v2/<token>` paths) become `<redacted>`.
 *
 * What is exposed on purpose (readiness details, metric labels, onchain error texts) is never error
 * text at all but fixed categories; this is the net for what has to carry detail: the node's log.
 */
import { stdSerializers } from "pino";

export const REDACTED = "<redacted>";

/** `scheme://` and everything up to whitespace, a quote, a bracket or a backslash (JSON, stack traces). */
const URL_PATTERN = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>()[\]{}\\]+/gi;

/** Shapes of secrets that can appear without a URL around them. */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  // HTTP authorization schemes: the credential follows the scheme name.
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+/gi, `$1 ${REDACTED}`],
  // OpenAI-style keys: sk-..., sk-proj-...
  [/\bsk-[A-Za-z0-9_-]{6,}/g, REDACTED],
  // key=value pairs in queries, headers quoted in messages, or config dumps.
  [
    /\b(api[_-]?key|access[_-]?key|key|token|access[_-]?token|secret|password|auth|authorization)(["']?\s*[=:]\s*["']?)(?!(?:bearer|basic)\s)[^\s"'&,;]+/gi,
    `$1$2${REDACTED}`,
  ],
  // Provider paths that carry the key as a segment (Alchemy /v2/KEY, Infura /v3/KEY).
  [/\/(v2|v3)\/[A-Za-z0-9_-]{8,}/gi, `/$1/${REDACTED}`],
];

/** The text with every URL cut to scheme and host and every known secret shape replaced. */
export function redact(text: string): string {
  let result = text.replace(URL_PATTERN, redactUrl);
  for (const [pattern, replacement] of SECRET_PATTERNS) result = result.replace(pattern, replacement);
  return result;
}

/**
 * `https://user:pw@eth.example:8545/v2/KEY?x=1` → `https://eth.example:8545`; unparseable → `<url>`.
 * `file:` URLs (stack frames of ES modules) are local paths, kept whole for debugging.
 */
export function redactUrl(url: string): string {
  try {
    const { protocol, host } = new URL(url);
    if (protocol === "file:") return url;
    return host ? `${protocol}//${host}` : "<url>";
  } catch {
    return "<url>";
  }
}

/**
 * A copy of `value` with every string redacted, Errors first turned into plain objects (message,
 * stack, causes, and the fields Sibyl and viem errors carry) so nothing on them escapes. Cycles and
 * depth are bounded.
 */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === "string") return redact(value);
  if (typeof value !== "object" || value === null) return value;
  if (depth > 8 || seen.has(value)) return "[omitted]";
  seen.add(value);
  if (value instanceof Error) return redactDeep(serializeError(value), depth + 1, seen);
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, depth + 1, seen));
  // Buffers, Dates and the like are logged in their JSON form; other objects by their own fields.
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === "function") return redactDeep(toJSON.call(value), depth + 1, seen);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = redactDeep(item, depth + 1, seen);
  return copy;
}

/**
 * pino's standard serializer (message and stack with their causes) plus the fields Sibyl and viem
 * errors carry outside `message`, named explicitly so they survive even when defined as getters.
 */
export function serializeError(err: Error): Record<string, unknown> {
  const serialized = stdSerializers.err(err) as unknown as Record<string, unknown>;
  const { shortMessage, details, retryable } = err as {
    shortMessage?: unknown;
    details?: unknown;
    retryable?: unknown;
  };
  return Object.assign(serialized, { name: err.name, shortMessage, details, retryable });
}
