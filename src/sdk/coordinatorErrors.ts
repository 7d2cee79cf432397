/**
 * Turns the coordinator's reverts into the SDK's one-line typed errors. viem reports a revert as a
 * many-line dump (the call, its arguments, the docs link); a dapp wants to know which model was
 * unknown, by its name, and how much to send. The dump stays reachable as the error's `cause`.
 */
import { type Abi, BaseError, ContractFunctionRevertedError, decodeErrorResult, type Hex } from "viem";
import { sibylAbi } from "../shared/abi/generated.js";
import { SibylError } from "../shared/errors.js";
import { CoordinatorRevertedError, InsufficientPaymentError, UnknownModelError } from "./errors.js";
import { modelNameOf } from "./utils.js";

export interface RevertContext {
  /** What the caller was doing, for the message: "request", "estimateFee". */
  action: string;
  coordinator: string;
  /** The model as the caller named it: shown instead of its bytes32 id. */
  model?: string;
}

interface DecodedRevert {
  errorName: string;
  args: readonly unknown[];
  inputs: readonly { name?: string; type: string }[];
}

/** The typed error for `error` if the coordinator refused the call, else `error` unchanged. */
export function coordinatorError(error: unknown, context: RevertContext): unknown {
  const revert = error instanceof SibylError ? undefined : decodedRevert(error);
  if (revert === undefined) return error;
  const { errorName, args, inputs } = revert;
  const modelName = (id: unknown) =>
    context.model !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(context.model)
      ? context.model
      : modelNameOf(id as Hex);
  if (errorName === "UnknownModel") {
    const modelId = args[0] as Hex;
    return new UnknownModelError({
      model: modelName(modelId),
      modelId,
      coordinator: context.coordinator,
      cause: error,
    });
  }
  if (errorName === "InsufficientPayment") {
    const [paid, required] = args as [bigint, bigint];
    return new InsufficientPaymentError({ paid, required, cause: error });
  }
  const shownArgs = args
    .map((value, index) => {
      const input = inputs[index];
      const isModelId = input?.name === "modelId";
      const name = isModelId ? "model" : input?.name || String(index);
      return `${name}: ${isModelId ? JSON.stringify(modelName(value)) : String(value)}`;
    })
    .join(", ");
  return new CoordinatorRevertedError({ action: context.action, errorName, shownArgs, args, cause: error });
}

/** The coordinator's custom error inside a viem error, or inside any error carrying revert data (ethers). */
function decodedRevert(error: unknown): DecodedRevert | undefined {
  if (error instanceof BaseError) {
    const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) {
      const { errorName, args = [], abiItem } = reverted.data;
      return { errorName, args, inputs: "inputs" in abiItem ? abiItem.inputs : [] };
    }
  }
  const data = revertDataOf(error);
  if (data === undefined) return undefined;
  try {
    const { errorName, args = [], abiItem } = decodeErrorResult({ abi: sibylAbi as Abi, data });
    return { errorName, args, inputs: "inputs" in abiItem ? abiItem.inputs : [] };
  } catch {
    return undefined;
  }
}

/** Revert data as ethers (`error.data`) and raw JSON-RPC errors carry it, down the cause chain. */
function revertDataOf(error: unknown): Hex | undefined {
  for (let current = error, depth = 0; current instanceof Object && depth < 8; depth++) {
    const data = (current as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(data)) return data as Hex;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
