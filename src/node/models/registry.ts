/**
 * Model specs as they appear in the node config, and the one place that turns a spec into a provider.
 * Secrets never appear in a spec: an OpenAI-compatible model names the environment variable that holds
 * its API key (`apiKeyEnv`), or sets it to null for a local server that takes no key.
 */
import { z } from "zod";
import { SibylError } from "../../shared/errors.js";
import { envVarName } from "../envVarName.js";
import { issueLines } from "../zodIssues.js";
import { type AnswerConstraint, answerConstraintSchema } from "./answerConstraint.js";
import { LanguageIdProvider } from "./builtin.js";
import { LocalGgufProvider } from "./local.js";
import { OpenAIProvider } from "./openai.js";
import type { ModelProvider } from "./provider.js";

/** Sent as the bearer token when apiKeyEnv is null: the SDK insists on one, keyless servers ignore it. */
export const NO_API_KEY = "unused";

const common = {
  /** The onchain model id is these bytes, so they must fit a bytes32. */
  name: z
    .string()
    .min(1)
    .refine(
      (name) => new TextEncoder().encode(name).length <= 32,
      "a model name is at most 32 bytes of UTF-8",
    ),
  timeoutMs: z.number().int().min(1).max(600_000).default(30_000),
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** A constrained answer (labels, yes-no, number, json): what lets non-reproducible models agree. */
  answer: answerConstraintSchema.optional(),
};

const openaiSpec = z
  .object({
    provider: z.literal("openai"),
    ...common,
    model: z.string().min(1),
    baseURL: z.string().url().default("https://api.openai.com/v1"),
    apiKeyEnv: envVarName.nullable().default("OPENAI_API_KEY"),
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: z.number().int().min(1).default(256),
    seed: z.number().int().optional(),
    systemPrompt: z.string().optional(),
  })
  .strict();

const localSpec = z
  .object({
    provider: z.literal("local"),
    ...common,
    modelPath: z.string().min(1),
    threads: z.number().int().min(1).max(64).default(1),
    contextSize: z.number().int().min(16).default(512),
    maxTokens: z.number().int().min(1).default(64),
    seed: z.number().int().min(0).default(0),
  })
  .strict();

const builtinSpec = z
  .object({
    provider: z.literal("builtin"),
    ...common,
    builtin: z.literal("language-id"),
  })
  .strict();

export const modelSpecSchema = z.discriminatedUnion("provider", [openaiSpec, localSpec, builtinSpec]);

export type ModelSpec = z.infer<typeof modelSpecSchema>;
export type ModelSpecInput = z.input<typeof modelSpecSchema>;

export class ModelConfigError extends SibylError {
  override name = "ModelConfigError";
}

/**
 * Validates one spec given outside a node config file (the Hardhat fixture, `sibyl simulate`): a
 * mistake is a ModelConfigError whose one line names the field, `where` being how the caller calls it.
 */
export function parseModelSpec(input: unknown, where = "spec"): ModelSpec {
  const result = modelSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = issueLines(result.error, where);
  throw new ModelConfigError(`invalid ${problems[0]}`, { details: problems.join("; ") });
}

/** A provider for a parsed spec (not yet started). Throws ModelConfigError when a named key is unset. */
export function createProvider(spec: ModelSpec, env: NodeJS.ProcessEnv = process.env): ModelProvider {
  const provider = providerFor(spec, env);
  return spec.answer === undefined ? provider : withAnswerConstraint(provider, spec.answer);
}

function providerFor(spec: ModelSpec, env: NodeJS.ProcessEnv): ModelProvider {
  switch (spec.provider) {
    case "openai": {
      const { name, model, baseURL, temperature, maxTokens, seed, systemPrompt } = spec;
      return new OpenAIProvider({
        name,
        model,
        baseURL,
        apiKey: apiKeyFor(spec, env),
        temperature,
        maxTokens,
        seed,
        systemPrompt,
      });
    }
    case "local": {
      const { name, modelPath, threads, contextSize, maxTokens, seed } = spec;
      return new LocalGgufProvider({ name, modelPath, threads, contextSize, maxTokens, seed });
    }
    case "builtin":
      return new LanguageIdProvider({ name: spec.name });
  }
}

/**
 * The provider with its answers' constraint: the constraint joins the settings (so the configHash
 * pins it) and is what the executor normalizes every answer with.
 */
function withAnswerConstraint(provider: ModelProvider, answer: AnswerConstraint): ModelProvider {
  return {
    name: provider.name,
    kind: provider.kind,
    // A getter: a local model's settings exist only once it has started.
    get settings() {
      return Object.freeze({ ...provider.settings, answer });
    },
    answer,
    start: () => provider.start(),
    run: (input, signal) => provider.run(input, signal),
    close: () => provider.close(),
  };
}

function apiKeyFor(spec: Extract<ModelSpec, { provider: "openai" }>, env: NodeJS.ProcessEnv): string {
  if (spec.apiKeyEnv === null) return NO_API_KEY;
  const key = env[spec.apiKeyEnv];
  if (!key) {
    throw new ModelConfigError(
      `model "${spec.name}" needs an API key in the environment variable ${spec.apiKeyEnv}`,
      { details: "set it, or set apiKeyEnv to null for a server that takes no key" },
    );
  }
  return key;
}
