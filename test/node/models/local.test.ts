import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "mocha";
import { LocalGgufProvider } from "../../../src/node/models/local.js";
import { ModelCallError, REQUEST_ERRORS } from "../../../src/node/models/provider.js";
import { ResultStatus } from "../../../src/shared/encoding.js";

const modelPath = fileURLToPath(new URL("../../../../shared/models/stories260K.gguf", import.meta.url));
const llamaCppPackageVersion: string = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.resolve("node-llama-cpp")), "utf8"),
).version;
const utf8 = (text: string) => new TextEncoder().encode(text);
const noSignal = () => new AbortController().signal;

describe("LocalGgufProvider before start", () => {
  it("has no settings yet: they need the file digest", () => {
    const provider = new LocalGgufProvider({ name: "stories", modelPath });
    assert.throws(() => provider.settings, /not started/);
  });
});

describe("LocalGgufProvider", function () {
  this.timeout(30_000);
  const provider = new LocalGgufProvider({
    name: "stories",
    modelPath,
    threads: 1,
    contextSize: 256,
    maxTokens: 24,
  });

  before(async function () {
    if (!existsSync(modelPath)) {
      console.warn(`    skipped: no ${modelPath}; put stories260K.gguf there to run the local model tests`);
      this.skip();
    }
    await provider.start();
  });
  after(async () => {
    await provider.close();
  });

  it("completes a prompt deterministically", async () => {
    const first = await provider.run(utf8("Once upon a time"), noSignal());
    const second = await provider.run(utf8("Once upon a time"), noSignal());
    assert.ok(first.output.trim().length > 0);
    assert.equal(second.output, first.output);
    assert.ok((first.usage?.completionTokens ?? 0) > 0);
    assert.ok((first.usage?.promptTokens ?? 0) > 0);
  });

  it("serializes concurrent calls and answers each as if alone", async () => {
    const prompts = ["Once upon a time", "The little dog", "Once upon a time"];
    const together = await Promise.all(prompts.map((prompt) => provider.run(utf8(prompt), noSignal())));
    const alone = [];
    for (const prompt of prompts) alone.push(await provider.run(utf8(prompt), noSignal()));
    assert.deepEqual(
      together.map((answer) => answer.output),
      alone.map((answer) => answer.output),
    );
  });

  it("settings pin the file digest, not its path, and what else changes the output", () => {
    const sha256 = createHash("sha256").update(readFileSync(modelPath)).digest("hex");
    assert.deepEqual(provider.settings, {
      modelSha256: sha256,
      maxTokens: 24,
      seed: 0,
      contextSize: 256,
      batchSize: 256,
      flashAttention: false,
      runtime: `node-llama-cpp@${llamaCppPackageVersion}`,
    });
  });

  it("reports gguf:<first 12 hex of the digest> as its version", async () => {
    const answer = await provider.run(utf8("Lily"), noSignal());
    assert.equal(answer.modelVersion, `gguf:${String(provider.settings.modelSha256).slice(0, 12)}`);
  });

  it("stops at an aborted signal with a retryable timeout, and keeps working", async () => {
    await assert.rejects(provider.run(utf8("Once upon a time"), AbortSignal.abort()), (error: unknown) => {
      assert.ok(error instanceof ModelCallError);
      assert.deepEqual(error.failure, { operator: "timed out" });
      assert.equal(error.retryable, true);
      return true;
    });
    assert.ok((await provider.run(utf8("Once upon a time"), noSignal())).output.length > 0);
  });

  const invalid: [string, Uint8Array][] = [
    ["bytes that are not UTF-8", new Uint8Array([0xff])],
    ["a prompt longer than the context leaves room for", utf8("Once upon a time ".repeat(200))],
  ];
  for (const [label, input] of invalid) {
    it(`rejects ${label} as InvalidInput`, async () => {
      await assert.rejects(provider.run(input, noSignal()), (error: unknown) => {
        assert.ok(error instanceof ModelCallError);
        assert.ok("request" in error.failure, "an error about the request");
        assert.equal(REQUEST_ERRORS[error.failure.request], ResultStatus.InvalidInput);
        return true;
      });
    });
  }
});
