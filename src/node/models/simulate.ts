/**
 * One model run with no chain: the node's own provider, executor (retries, timeouts, the answer's
 * constraint, the output limit) and metadata encoding, so what a developer sees here is what a node
 * serving the same spec would deliver for the same input. `sibyl simulate` prints it.
 */
import type { Hex } from "viem";
import type { ResultStatus } from "../../shared/encoding.js";
import { configHashOf } from "./configHash.js";
import { encodeMetadata, executeModel, type ModelMetadata, NODE_BACKOFF } from "./executor.js";
import { createProvider, type ModelSpec, type ModelSpecInput, parseModelSpec } from "./registry.js";

/** Models every node knows by name, with no config: the built-in ones. */
export const BUILTIN_MODEL_SPECS: readonly ModelSpecInput[] = [
  { provider: "builtin", name: "language-id", builtin: "language-id" },
];

export interface SimulateModelOptions {
  /** The request's limit on the answer, in UTF-8 bytes (the registry's maxOutputBytes). */
  maxOutputBytes: number;
  /** Where an OpenAI-compatible spec's API key is read from. */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface SimulatedResult {
  spec: ModelSpec;
  status: ResultStatus;
  /** The answer, or an error status's fixed reason, as it would be delivered. */
  output: string;
  metadata: ModelMetadata;
  /** The metadata's bytes as committed in the result leaf. */
  metadataHex: Hex;
  /** What `sibyl models register` pins onchain for this spec. */
  configHash: Hex;
  /** For an error status: what went wrong in the provider's words (the node logs it; never onchain). */
  detail?: unknown;
}

/** Runs `input` through the model of `spec`, as a node would; throws OperatorFaultError as a node would stop. */
export async function simulateModel(
  specInput: ModelSpecInput,
  input: Uint8Array,
  { maxOutputBytes, env = process.env, signal = new AbortController().signal }: SimulateModelOptions,
): Promise<SimulatedResult> {
  const spec = parseModelSpec(specInput);
  const provider = createProvider(spec, env);
  await provider.start();
  try {
    const policy = {
      timeoutMs: spec.timeoutMs,
      maxAttempts: spec.maxAttempts,
      ...NODE_BACKOFF,
      maxOutputBytes,
    };
    const outcome = await executeModel(provider, input, policy, signal);
    return {
      spec,
      status: outcome.status,
      output: outcome.output,
      metadata: outcome.metadata,
      metadataHex: encodeMetadata(outcome.metadata),
      configHash: configHashOf(provider),
      ...(outcome.detail === undefined ? {} : { detail: outcome.detail }),
    };
  } finally {
    await provider.close();
  }
}
