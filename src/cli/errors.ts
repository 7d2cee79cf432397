/** Errors the CLI prints as one line: a usage mistake (exit 2) or a problem the user can fix (exit 1). */
import { BaseError, ContractFunctionRevertedError } from "viem";
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

/**
 * One line for a failed contract call: the contract's custom error by name with its arguments (e.g.
 * `EmptyInput(modelId: 0x6c61…)`) when the revert data decodes against the ABI, else viem's summary.
 */
export function rejected(action: string, error: unknown): CliError {
  // The SDK already made it one line (a model by its name, the wei to send).
  if (error instanceof SibylError) return new CliError(error.shortMessage, { cause: error });
  const revert =
    error instanceof BaseError ? error.walk((cause) => cause instanceof ContractFunctionRevertedError) : null;
  if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) {
    const { errorName, args = [], abiItem } = revert.data;
    const inputs = "inputs" in abiItem ? abiItem.inputs : [];
    const shown = args.map((value, index) => `${inputs[index]?.name || index}: ${String(value)}`).join(", ");
    return new CliError(`${action} reverted: ${errorName}(${shown})`, { cause: error });
  }
  const summary =
    error instanceof Error ? ((error as { shortMessage?: string }).shortMessage ?? error.message) : "";
  return new CliError(`${action} failed: ${summary.split("\n")[0] || String(error)}`, { cause: error });
}
