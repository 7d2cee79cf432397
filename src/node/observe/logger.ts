/**
 * The node's structured logger: JSON for machines, pretty lines for people, and secrets censored
 * before anything is written: values under secret keys by path, and URLs, keys and tokens inside any
 * logged string or error (messages included) by `redact`.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from "pino";
import pretty from "pino-pretty";
import { redact, redactDeep, serializeError } from "./redact.js";

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
    // Every logged object, whatever its keys, is redacted before serializers and paths apply; errors
    // become plain objects there, so the `err` serializer only has to handle the ones it still gets.
    formatters: { log: (object: Record<string, unknown>) => redactDeep(object) as Record<string, unknown> },
    serializers: {
      err: (err: unknown) => (err instanceof Error ? redactDeep(serializeError(err)) : err),
      msg: (message: unknown) => (typeof message === "string" ? redact(message) : message),
    },
  };
  if (!usePretty(format)) return pino(options, destination);
  // An in-process stream rather than a worker transport: a worker can still hold the last lines
  // when the process exits, and those are the ones that explain why it exited.
  return pino(options, pretty({ destination, sync: true }));
}

function usePretty(format: LogFormat): boolean {
  return format === "auto" ? process.stdout.isTTY === true : format === "pretty";
}
