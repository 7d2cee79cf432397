/**
 * The config hash of a model spec, computed by the node's own provider code so that what is registered
 * is exactly what a node serving the spec checks the registry against.
 */
import type { Hex } from "viem";
import { configHashOf } from "../node/models/configHash.js";
import { createProvider, type ModelSpecInput, NO_API_KEY, parseModelSpec } from "../node/models/registry.js";

/**
 * A local model's settings include its file's sha256, known only once the provider has started (which
 * loads the model: seconds, and memory); other providers need no start.
 */
export async function modelConfigHash(spec: ModelSpecInput): Promise<Hex> {
  const parsed = parseModelSpec(spec);
  // The API key is not part of the settings: registering a model must not need it.
  const env =
    parsed.provider === "openai" && parsed.apiKeyEnv !== null ? { [parsed.apiKeyEnv]: NO_API_KEY } : {};
  const provider = createProvider(parsed, env);
  if (provider.kind !== "local") return configHashOf(provider);
  await provider.start();
  try {
    return configHashOf(provider);
  } finally {
    await provider.close();
  }
}
