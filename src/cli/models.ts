/** Model lookups shared by commands: a name or a bytes32 id, checked against the registry. */
import { type Hex, isHex } from "viem";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { modelIdFromName } from "../shared/encoding.js";
import { CliError } from "./errors.js";
import type { Target } from "./target.js";

export function modelIdOf(model: string): Hex {
  if (isHex(model) && model.length === 66) return model;
  try {
    return modelIdFromName(model);
  } catch {
    throw new CliError(`--model: "${model}" is not a model name (1–32 bytes) or a bytes32 id`);
  }
}

export async function requireServedModel(target: Target, model: string) {
  const modelId = modelIdOf(model);
  const registered = await target.client.readContract({
    address: target.coordinator,
    abi: sibylCoordinatorAbi,
    functionName: "modelOf",
    args: [modelId],
  });
  if (registered.timeout === 0)
    throw new CliError(`unknown model "${model}" on coordinator ${target.coordinator}`);
  if (!registered.enabled)
    throw new CliError(`model "${model}" is disabled on coordinator ${target.coordinator}`);
  return { modelId, model: registered };
}
