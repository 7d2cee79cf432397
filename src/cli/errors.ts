/** Errors the CLI prints as one line: a usage mistake (exit 2) or a problem the user can fix (exit 1). */
import { SibylError } from "../shared/errors.js";

export class UsageError extends Error {
  override name = "UsageError";
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

export class CliError extends SibylError {
  override name = "CliError";
}

/** One line for an RPC failure, whatever viem or the socket said. */
export function unreachable(rpcUrl: string, error: unknown): CliError {
  const detail =
    error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : "";
  return new CliError(`cannot reach the chain at ${rpcUrl}${detail ? ` (${detail.split("\n")[0]})` : ""}`, {
    cause: error,
  });
}
