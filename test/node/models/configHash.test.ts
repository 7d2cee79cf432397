import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { keccak256, toBytes } from "viem";
import { canonicalJson, configHashOf } from "../../../src/node/models/configHash.js";
import { OpenAIProvider } from "../../../src/node/models/openai.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth, drops undefined members and adds no whitespace", () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: "x" }, skipped: undefined }),
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it("writes strings and numbers as JSON does", () => {
    assert.equal(
      canonicalJson({ s: 'quote " and é', n: 0.1, big: 1e21, neg: -0 }),
      '{"big":1e+21,"n":0.1,"neg":0,"s":"quote \\" and é"}',
    );
  });

  it("rejects values JSON would change silently", () => {
    assert.throws(() => canonicalJson({ n: Number.NaN }), /\$\.n is NaN/);
    assert.throws(() => canonicalJson({ x: [Number.POSITIVE_INFINITY] }), /\$\.x\[0\] is Infinity/);
    assert.throws(() => canonicalJson({ big: 1n }), /\$\.big \(bigint\) is not plain JSON data/);
    assert.throws(() => canonicalJson({ when: new Date(0) }), /\$\.when \(object\) is not plain JSON data/);
    assert.throws(() => canonicalJson(undefined), /undefined/);
  });
});

describe("configHashOf", () => {
  it("is keccak256 of the canonical { kind, settings } JSON", () => {
    const hash = configHashOf({ kind: "builtin", settings: { package: "p@1", model: "lid.176" } });
    assert.equal(
      hash,
      keccak256(toBytes('{"kind":"builtin","settings":{"model":"lid.176","package":"p@1"}}')),
    );
    assert.match(hash, /^0x[0-9a-f]{64}$/);
  });

  it("does not depend on key order", () => {
    const a = configHashOf({
      kind: "local",
      settings: { modelSha256: "ab", maxTokens: 64, seed: 0, contextSize: 512 },
    });
    const b = configHashOf({
      kind: "local",
      settings: { contextSize: 512, seed: 0, maxTokens: 64, modelSha256: "ab" },
    });
    assert.equal(a, b);
  });

  it("changes with any setting and with the kind", () => {
    const base = { kind: "local" as const, settings: { modelSha256: "ab", maxTokens: 64, seed: 0 } };
    const hashes = new Set([
      configHashOf(base),
      configHashOf({ ...base, settings: { ...base.settings, maxTokens: 65 } }),
      configHashOf({ ...base, settings: { ...base.settings, seed: 1 } }),
      configHashOf({ ...base, settings: { ...base.settings, modelSha256: "ac" } }),
      configHashOf({ ...base, kind: "builtin" }),
    ]);
    assert.equal(hashes.size, 5);
  });

  it("ignores the API key of an OpenAI model", () => {
    const options = { name: "gpt", model: "gpt-4o", baseURL: "https://api.openai.com/v1", maxTokens: 16 };
    assert.equal(
      configHashOf(new OpenAIProvider({ ...options, apiKey: "sk-one" })),
      configHashOf(new OpenAIProvider({ ...options, apiKey: "sk-two" })),
    );
    assert.notEqual(
      configHashOf(new OpenAIProvider({ ...options, apiKey: "sk-one" })),
      configHashOf(new OpenAIProvider({ ...options, apiKey: "sk-one", temperature: 0.7 })),
    );
  });
});
