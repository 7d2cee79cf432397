/**
 * Language identification with fastText's lid.176 model, shipped inside the fasttext.wasm.js package:
 * no server, no download, the same answer on every machine with the same package version.
 *
 * Output: `<code> <confidence>`, e.g. `en 0.9871` — the ISO 639-1 code when the language has one,
 * else ISO 639-3, and the model's probability with exactly 4 decimals.
 */
import { createRequire } from "node:module";
import { getLIDModel } from "fasttext.wasm.js";
import {
  callTimedOut,
  decodeInputText,
  type ModelAnswer,
  ModelCallError,
  type ModelProvider,
} from "./provider.js";

const PACKAGE_VERSION: string = createRequire(import.meta.url)("fasttext.wasm.js/package.json").version;

type LanguageIdModel = Awaited<ReturnType<typeof getLIDModel>>;

export class LanguageIdProvider implements ModelProvider {
  readonly kind = "builtin";
  readonly name: string;
  readonly settings = Object.freeze({ model: "lid.176", package: `fasttext.wasm.js@${PACKAGE_VERSION}` });
  #model: LanguageIdModel | undefined;

  constructor(options: { name: string }) {
    this.name = options.name;
  }

  async start(): Promise<void> {
    if (this.#model) return;
    const model = await getLIDModel();
    await model.load();
    this.#model = model;
  }

  async run(input: Uint8Array, signal: AbortSignal): Promise<ModelAnswer> {
    // fastText predicts one line at a time and would only look at the first: make the input one line.
    const text = decodeInputText(input).replace(/[\r\n]+/g, " ");
    if (text.trim() === "") {
      throw new ModelCallError("input has no text to identify", { request: "invalid input: no text" });
    }
    if (!this.#model) {
      throw new ModelCallError(`model "${this.name}" is not started`, {
        operator: "model not loaded",
        retryable: true,
      });
    }
    if (signal.aborted) throw callTimedOut(signal.reason);
    const language = await this.#model.identify(text);
    // fastText's softmax can land a hair above 1; the output format promises a probability.
    const confidence = Math.min(1, Math.max(0, language.possibility));
    return {
      output: `${language.alpha2 ?? language.alpha3} ${confidence.toFixed(4)}`,
      modelVersion: `fasttext-lid.176@${PACKAGE_VERSION}`,
    };
  }

  async close(): Promise<void> {
    this.#model = undefined;
  }
}
