/**
 * A GGUF model run in-process by node-llama-cpp on the CPU: plain text completion of the input, greedy
 * (temperature 0) so every node with the same file answers the same text.
 *
 * The file is identified by its sha256, not its path: the path differs between machines, the digest
 * is what two operators must agree on.
 *
 * What changes the output, measured on stories260K (test/node/models/reproducibility.test.ts, and next-
 * token probabilities compared bit for bit): the batch size (a prompt evaluated in pieces, as in batches
 * or after a cached prefix, gets other logits than in one batch; batch 1 changed one answer of 12) and
 * flash attention (on and off changed 2 answers of 204; its default "auto" depends on the hardware). So
 * both are fixed here and hashed with the settings, with the node-llama-cpp version that fixes the
 * llama.cpp build. Threads changed nothing: 1 and 2 gave identical answers to 204 prompts, 1, 2 and 4
 * identical probabilities, so `threads` stays a local tuning knob outside the settings.
 * Not pinned: llama.cpp picks its CPU kernels by CPU (AVX-512, AVX2, SSE4.2); each gave other
 * probabilities, and SSE4.2 another answer to 1 of 12 prompts.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Llama, LlamaCompletion, LlamaContext, LlamaContextSequence, LlamaModel } from "node-llama-cpp";
import { SibylError } from "../../shared/errors.js";
import {
  callTimedOut,
  decodeInputText,
  type ModelAnswer,
  ModelCallError,
  type ModelProvider,
} from "./provider.js";

/** Attention computed one fixed way on every node: "auto" would let each machine choose. */
const FLASH_ATTENTION = false;

export interface LocalGgufProviderOptions {
  name: string;
  modelPath: string;
  /** CPU threads; explicit because llama.cpp's default oversubscribes small machines and stalls. */
  threads?: number;
  contextSize?: number;
  maxTokens?: number;
  seed?: number;
}

interface Loaded {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  completion: LlamaCompletion;
  /** `gguf:` and the first 12 hex digits of the file's sha256. */
  version: string;
}

export class LocalGgufProvider implements ModelProvider {
  readonly kind = "local";
  readonly name: string;
  readonly #modelPath: string;
  readonly #threads: number;
  readonly #contextSize: number;
  readonly #maxTokens: number;
  readonly #seed: number;
  #modelSha256: string | undefined;
  /** `node-llama-cpp@<version>`: the version fixes the llama.cpp build and its defaults (KV cache type, sampler). */
  #runtime: string | undefined;
  #loaded: Loaded | undefined;
  /** One context sequence answers one prompt at a time; calls wait their turn on this chain. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: LocalGgufProviderOptions) {
    this.name = options.name;
    this.#modelPath = options.modelPath;
    this.#threads = options.threads ?? 1;
    this.#contextSize = options.contextSize ?? 512;
    this.#maxTokens = options.maxTokens ?? 64;
    this.#seed = options.seed ?? 0;
  }

  /** Known from start() on: the file digest is part of the settings. */
  get settings(): Readonly<Record<string, unknown>> {
    if (this.#modelSha256 === undefined || this.#runtime === undefined)
      throw new SibylError(`local model "${this.name}" is not started`);
    return Object.freeze({
      modelSha256: this.#modelSha256,
      maxTokens: this.#maxTokens,
      seed: this.#seed,
      contextSize: this.#contextSize,
      batchSize: this.#batchSize,
      flashAttention: FLASH_ATTENTION,
      runtime: this.#runtime,
    });
  }

  /** The whole prompt fits one batch (the length check in #generate ensures it), so it is evaluated in one piece. */
  get #batchSize(): number {
    return this.#contextSize;
  }

  async start(): Promise<void> {
    if (this.#loaded) return;
    const modelSha256 = await sha256File(this.#modelPath);
    const { getLlama, LlamaCompletion, LlamaLogLevel } = await importNodeLlamaCpp();
    const runtime = `node-llama-cpp@${await nodeLlamaCppVersion()}`;
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    try {
      const model = await llama.loadModel({ modelPath: this.#modelPath });
      const context = await model.createContext({
        threads: this.#threads,
        contextSize: this.#contextSize,
        batchSize: this.#batchSize,
        flashAttention: FLASH_ATTENTION,
      });
      const sequence = context.getSequence();
      const completion = new LlamaCompletion({ contextSequence: sequence });
      this.#loaded = {
        llama,
        model,
        context,
        sequence,
        completion,
        version: `gguf:${modelSha256.slice(0, 12)}`,
      };
      this.#modelSha256 = modelSha256;
      this.#runtime = runtime;
    } catch (error) {
      await llama.dispose();
      throw error;
    }
  }

  async run(input: Uint8Array, signal: AbortSignal): Promise<ModelAnswer> {
    const prompt = decodeInputText(input);
    const turn = this.#queue.then(() => this.#generate(prompt, signal));
    this.#queue = turn.catch(() => undefined);
    return turn;
  }

  async close(): Promise<void> {
    const loaded = this.#loaded;
    if (!loaded) return;
    this.#loaded = undefined;
    await this.#queue;
    loaded.completion.dispose({ disposeSequence: true });
    await loaded.context.dispose();
    await loaded.model.dispose();
    await loaded.llama.dispose();
  }

  async #generate(prompt: string, signal: AbortSignal): Promise<ModelAnswer> {
    if (!this.#loaded) {
      throw new ModelCallError(`local model "${this.name}" is not loaded`, {
        operator: "model not loaded",
        retryable: true,
      });
    }
    const { model, sequence, completion, version } = this.#loaded;
    // A call that timed out while waiting its turn must not hold the sequence for nothing.
    if (signal.aborted) throw callTimedOut(signal.reason);
    const promptTokens = model.tokenize(prompt).length;
    // The BOS token plus the answer must fit too; a longer prompt would be silently cut by a context shift.
    if (promptTokens + 1 + this.#maxTokens > this.#contextSize) {
      throw new ModelCallError(
        `input is ${promptTokens} tokens, more than the ${this.#contextSize}-token context leaves room for`,
        { request: "invalid input: too long for the model" },
      );
    }
    let completionTokens = 0;
    try {
      // Reusing the cached prefix of the last answer would evaluate this prompt in pieces, which gives
      // other logits than the one batch a node that never saw that answer runs: start from nothing.
      await sequence.clearHistory();
      const output = await completion.generateCompletion(prompt, {
        maxTokens: this.#maxTokens,
        temperature: 0,
        seed: this.#seed,
        signal,
        onToken: (tokens) => {
          completionTokens += tokens.length;
        },
      });
      return { output, modelVersion: version, usage: { promptTokens, completionTokens } };
    } catch (error) {
      if (signal.aborted) throw callTimedOut(error);
      // llama.cpp failing on a prompt it accepted is not something a retry changes.
      throw new ModelCallError("local model failed", { request: "model error", cause: error });
    }
  }
}

/** Streams the file through sha256: GGUF files run to gigabytes. */
async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Read from its package.json next to the entry point: the package does not export that file. */
async function nodeLlamaCppVersion(): Promise<string> {
  const packageJson = new URL("../package.json", import.meta.resolve("node-llama-cpp"));
  return (JSON.parse(await readFile(packageJson, "utf8")) as { version: string }).version;
}

/**
 * Loaded on demand, and an optional peer of the package: its native binaries weigh hundreds of MB and
 * take a noticeable time to import, and only a node serving a local GGUF model needs them.
 */
async function importNodeLlamaCpp(): Promise<typeof import("node-llama-cpp")> {
  try {
    return await import("node-llama-cpp");
  } catch (error) {
    if ((error as { code?: string }).code !== "ERR_MODULE_NOT_FOUND") throw error;
    throw new SibylError(
      "a local GGUF model needs node-llama-cpp, which is not installed: npm install node-llama-cpp@3.21.1 (on Linux x64 also @node-llama-cpp/linux-x64@3.21.1)",
      { cause: error },
    );
  }
}
