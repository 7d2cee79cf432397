/**
 * Base of every error Sibyl throws on purpose: a one-line `shortMessage` for people, optional
 * `details`, and the underlying `cause`. Whether an operation may be retried is the `retryable` tag.
 */
export interface SibylErrorOptions {
  cause?: unknown;
  details?: string;
  retryable?: boolean;
}

export class SibylError extends Error {
  override name = "SibylError";
  readonly shortMessage: string;
  readonly details: string | undefined;
  readonly retryable: boolean;

  constructor(shortMessage: string, options: SibylErrorOptions = {}) {
    const detail = options.details ?? causeMessage(options.cause);
    super(detail ? `${shortMessage}\n\nDetails: ${detail}` : shortMessage, { cause: options.cause });
    this.shortMessage = shortMessage;
    this.details = detail;
    this.retryable = options.retryable ?? false;
  }
}

function causeMessage(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  return cause instanceof Error ? cause.message : String(cause);
}
