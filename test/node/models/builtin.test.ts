import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "mocha";
import { LanguageIdProvider } from "../../../src/node/models/builtin.js";
import { ModelCallError, REQUEST_ERRORS } from "../../../src/node/models/provider.js";
import { ResultStatus } from "../../../src/shared/encoding.js";

const packageVersion: string = createRequire(import.meta.url)("fasttext.wasm.js/package.json").version;
const utf8 = (text: string) => new TextEncoder().encode(text);
const noSignal = () => new AbortController().signal;

describe("LanguageIdProvider", () => {
  const provider = new LanguageIdProvider({ name: "lang" });

  before(async () => {
    await provider.start();
  });
  after(async () => {
    await provider.close();
  });

  const sentences: [string, string][] = [
    ["en", "The weather is lovely today, so we are going for a long walk in the park."],
    ["fr", "Il fait très beau aujourd'hui, alors nous allons faire une longue promenade au parc."],
    ["de", "Heute ist das Wetter sehr schön, deshalb machen wir einen langen Spaziergang im Park."],
    ["zh", "今天天气很好，所以我们要去公园散步很长时间。"],
  ];
  for (const [code, sentence] of sentences) {
    it(`identifies ${code}`, async () => {
      const answer = await provider.run(utf8(sentence), noSignal());
      assert.match(answer.output, /^[a-z]{2,3} (0\.\d{4}|1\.0000)$/);
      assert.equal(answer.output.split(" ")[0], code);
      assert.ok(Number(answer.output.split(" ")[1]) > 0.5, answer.output);
      assert.equal(answer.modelVersion, `fasttext-lid.176@${packageVersion}`);
    });
  }

  it("answers the same text the same way", async () => {
    const [first, second] = await Promise.all([
      provider.run(utf8(sentences[1]?.[1] ?? ""), noSignal()),
      provider.run(utf8(sentences[1]?.[1] ?? ""), noSignal()),
    ]);
    assert.equal(first.output, second.output);
  });

  it("reads every line, not only the first", async () => {
    const multiline = await provider.run(
      utf8("OK\nIl fait très beau aujourd'hui, nous allons au parc."),
      noSignal(),
    );
    const oneLine = await provider.run(
      utf8("OK Il fait très beau aujourd'hui, nous allons au parc."),
      noSignal(),
    );
    assert.equal(multiline.output, oneLine.output);
    assert.match(multiline.output, /^fr /);
  });

  const invalid: [string, Uint8Array][] = [
    ["empty input", new Uint8Array()],
    ["whitespace and newlines only", utf8(" \n\t\r\n ")],
    ["bytes that are not UTF-8", new Uint8Array([0xc3, 0x28])],
  ];
  for (const [label, input] of invalid) {
    it(`rejects ${label} as InvalidInput`, async () => {
      await assert.rejects(provider.run(input, noSignal()), (error: unknown) => {
        assert.ok(error instanceof ModelCallError);
        assert.ok("request" in error.failure, "an error about the request");
        assert.equal(REQUEST_ERRORS[error.failure.request], ResultStatus.InvalidInput);
        assert.equal(error.retryable, false);
        return true;
      });
    });
  }

  it("settings name the model and the package version", () => {
    assert.deepEqual(provider.settings, { model: "lid.176", package: `fasttext.wasm.js@${packageVersion}` });
  });
});
