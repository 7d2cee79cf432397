import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { LanguageIdProvider } from "../../../src/node/models/builtin.js";
import { LocalGgufProvider } from "../../../src/node/models/local.js";
import { OpenAIProvider } from "../../../src/node/models/openai.js";
import {
  createProvider,
  ModelConfigError,
  type ModelSpecInput,
  modelSpecSchema,
} from "../../../src/node/models/registry.js";

const parse = (input: ModelSpecInput) => modelSpecSchema.parse(input);

describe("modelSpecSchema", () => {
  it("fills in the defaults", () => {
    assert.deepEqual(parse({ provider: "openai", name: "gpt", model: "gpt-4o-mini" }), {
      provider: "openai",
      name: "gpt",
      model: "gpt-4o-mini",
      baseURL: "https://api.openai.com/v1",
      apiKeyEnv: "OPENAI_API_KEY",
      temperature: 0,
      maxTokens: 256,
      timeoutMs: 30_000,
      maxAttempts: 3,
    });
    assert.deepEqual(parse({ provider: "local", name: "tiny", modelPath: "m.gguf" }), {
      provider: "local",
      name: "tiny",
      modelPath: "m.gguf",
      threads: 1,
      contextSize: 512,
      maxTokens: 64,
      seed: 0,
      timeoutMs: 30_000,
      maxAttempts: 3,
    });
  });

  it("rejects names over 32 bytes, unknown keys and bad values", () => {
    assert.throws(
      () => parse({ provider: "builtin", builtin: "language-id", name: "é".repeat(17) }),
      /32 bytes/,
    );
    assert.throws(() => parse({ provider: "builtin", builtin: "language-id", name: "" }));
    assert.throws(() =>
      modelSpecSchema.parse({ provider: "builtin", builtin: "language-id", name: "x", apiKey: "sk-leak" }),
    );
    assert.throws(() => parse({ provider: "local", name: "x", modelPath: "m", threads: 65 }));
    assert.throws(() => parse({ provider: "openai", name: "x", model: "m", baseURL: "not a url" }));
    assert.throws(() => modelSpecSchema.parse({ provider: "remote", name: "x" }));
  });
});

describe("createProvider", () => {
  it("builds the provider for each kind", () => {
    const env = { OPENAI_API_KEY: "sk-test" };
    assert.ok(
      createProvider(parse({ provider: "openai", name: "gpt", model: "gpt-4o" }), env) instanceof
        OpenAIProvider,
    );
    assert.ok(
      createProvider(parse({ provider: "local", name: "tiny", modelPath: "m.gguf" }), env) instanceof
        LocalGgufProvider,
    );
    const builtin = createProvider(parse({ provider: "builtin", name: "lang", builtin: "language-id" }), env);
    assert.ok(builtin instanceof LanguageIdProvider);
    assert.equal(builtin.name, "lang");
  });

  it("names the missing environment variable", () => {
    const spec = parse({ provider: "openai", name: "gpt", model: "gpt-4o", apiKeyEnv: "MY_KEY" });
    assert.throws(
      () => createProvider(spec, {}),
      (error: unknown) => {
        assert.ok(error instanceof ModelConfigError);
        assert.match(error.shortMessage, /MY_KEY/);
        return true;
      },
    );
  });

  it("needs no key when apiKeyEnv is null", () => {
    const spec = parse({
      provider: "openai",
      name: "local",
      model: "llama",
      baseURL: "http://127.0.0.1:8080/v1",
      apiKeyEnv: null,
    });
    const provider = createProvider(spec, {});
    assert.equal(provider.settings.baseURL, "http://127.0.0.1:8080/v1");
  });

  it("adds a constrained answer to any provider's settings, and to nothing else", () => {
    const answer = { kind: "number", min: 0, max: 1, decimals: 2 } as const;
    const builtin = createProvider(
      parse({ provider: "builtin", name: "lang", builtin: "language-id", answer }),
    );
    assert.equal(builtin.kind, "builtin");
    assert.equal(builtin.name, "lang");
    assert.deepEqual(builtin.answer, answer);
    assert.deepEqual(builtin.settings, { model: "lid.176", package: builtin.settings.package, answer });
    const openai = createProvider(
      parse({ provider: "openai", name: "gpt", model: "m", apiKeyEnv: null, answer }),
    );
    assert.deepEqual(openai.settings.answer, answer);
    // A local model's settings need its file digest, known once started: the constraint waits with them.
    const local = createProvider(parse({ provider: "local", name: "tiny", modelPath: "m.gguf", answer }));
    assert.throws(() => local.settings, /not started/);
    assert.equal(
      createProvider(parse({ provider: "builtin", name: "lang", builtin: "language-id" })).answer,
      undefined,
    );
  });
});
