/**
 * Registers a model the devnet's node will serve (an OpenAI-compatible or local model added by
 * `sibyl dev` at runtime), pinned to the config hash of its spec.
 */
import type { Address, Hex } from "viem";
import type { ModelSpecInput } from "../node/models/registry.js";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts } from "../shared/contracts.js";
import { modelIdFromName } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { publicClientOf, type SibylConnection, walletFor } from "./connection.js";
import { modelConfigHash } from "./modelConfigHash.js";

/** Terms for a model registered at runtime; chat answers run longer than the language identifier's. */
export const MODEL_DEFAULTS = {
  fee: 10n ** 14n,
  maxInputBytes: 4096,
  maxOutputBytes: 1024,
  timeout: 3600,
} as const;

export interface RegisterModelParameters {
  coordinator: Address;
  /** The model as the node config lists it; the onchain id is `modelIdFromName(spec.name)`. */
  spec: ModelSpecInput;
  fee?: bigint;
  maxInputBytes?: number;
  maxOutputBytes?: number;
  timeout?: number;
  /** Operators that must give the same answer (1, the default: the assigned operator's word). */
  quorum?: number;
}

export interface RegisterModelReturnType {
  modelId: Hex;
  configHash: Hex;
  /** False when the model was already registered with this config hash and nothing was sent. */
  registered: boolean;
}

/**
 * Sent by the coordinator's owner, which must be an account of `connection`. Idempotent: a model already
 * registered with the same config hash is left as it is (its fee and limits too); one registered with
 * another hash is an error, since the node would refuse to serve it.
 *
 * @example
 * await registerModel(connection, {
 *   coordinator: deployment.coordinator,
 *   spec: { provider: "openai", name: "gpt-4o-mini", model: "gpt-4o-mini" },
 * });
 */
export async function registerModel(
  connection: SibylConnection,
  { coordinator: address, spec, ...terms }: RegisterModelParameters,
): Promise<RegisterModelReturnType> {
  const modelId = modelIdFromName(spec.name);
  const configHash = await modelConfigHash(spec);
  const publicClient = publicClientOf(connection);
  // Models are terms of a coordinator version: register on the one taking requests now.
  const { current: coordinator } = await resolveSibylContracts(publicClient, address);
  const existing = await publicClient.readContract({
    address: coordinator,
    abi: sibylCoordinatorAbi,
    functionName: "modelOf",
    args: [modelId],
  });
  if (existing.timeout !== 0) {
    if (existing.configHash === configHash) return { modelId, configHash, registered: false };
    throw new SibylError(
      `model "${spec.name}" is already registered on ${coordinator} with config hash ${existing.configHash}, not ${configHash}`,
      { details: "serve the settings it was registered with, or update its registration (updateModel)" },
    );
  }
  const owner = await publicClient.readContract({
    address: coordinator,
    abi: sibylCoordinatorAbi,
    functionName: "owner",
  });
  const wallet = await walletFor(connection, owner);
  const hash = await wallet.writeContract({
    address: coordinator,
    abi: sibylCoordinatorAbi,
    functionName: "registerModel",
    args: [
      modelId,
      {
        fee: terms.fee ?? MODEL_DEFAULTS.fee,
        maxInputBytes: terms.maxInputBytes ?? MODEL_DEFAULTS.maxInputBytes,
        maxOutputBytes: terms.maxOutputBytes ?? MODEL_DEFAULTS.maxOutputBytes,
        timeout: terms.timeout ?? MODEL_DEFAULTS.timeout,
        enabled: true,
        quorum: terms.quorum ?? 1,
        configHash,
      },
    ],
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new SibylError(`registering model "${spec.name}" reverted (${hash})`);
  return { modelId, configHash, registered: true };
}
