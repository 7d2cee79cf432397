/**
 * The node's structured logger: JSON for machines, pretty lines for people, and secrets censored
 * before anything is written.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino, stdSerializers } from "pino";
import pretty from "pino-pretty";
import type { SibylError } from "../../shared/errors.js";

export type { Logger };

export type LogFormat = "json" | "pretty" | "auto";

export interface LoggerOptions {
  level: LevelWithSilent;
  format: LogFormat;
  /** Where log lines go instead of stdout; tests capture output through it. */
  destination?: DestinationStream;
}

/** Keys whose values must never reach a log line, wherever they sit in a logged object. */
const SECRET_KEYS = ["privateKey", "apiKey", "password", "keystorePassword", "mnemonic", "authorization"];

/**
 * Redaction paths are exact, so each key is listed at the top level and one and two objects down:
 * deep enough for `config.operator.privateKey` or `req.headers.authorization`.
 */
const REDACTED_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export function createLogger({ level, format, destination }: LoggerOptions): Logger {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    serializers: { err: serializeError },
  };
  if (!usePretty(format)) return pino(options, destination);
  // An in-process stream rather than a worker transport: a worker can still hold the last lines
  // when the process exits, and those are the ones that explain why it exited.
  return pino(options, pretty({ destination, sync: true }));
}

function usePretty(format: LogFormat): boolean {
  return format === "auto" ? process.stdout.isTTY === true : format === "pretty";
}

type ErrorFields = Partial<Pick<SibylError, "shortMessage" | "details" | "retryable">>;

/**
 * pino's standard serializer plus the fields Sibyl and viem errors carry outside `message`, named
 * explicitly so they survive even when an error class defines them as getters.
 */
function serializeError(err: unknown): unknown {
  const serialized = stdSerializers.err(err as Error);
  if (!(err instanceof Error)) return serialized;
  const { shortMessage, details, retryable } = err as ErrorFields;
  return Object.assign(serialized, { name: err.name, shortMessage, details, retryable });
}
