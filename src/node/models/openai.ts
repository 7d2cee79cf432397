/**
 * A model behind an OpenAI-compatible chat-completions endpoint (OpenAI itself, vLLM, llama.cpp
 * server, Ollama...). One request per call, no SDK retries: the executor owns the retry policy.
 *
 * Input: UTF-8 text. Text whose first non-blank character is `{` is a structured request
 * `{"messages":[{"role":"system"|"user"|"assistant","content":"..."}, ...]}` (1 to 64 messages, no
 * other keys) and must parse as exactly that; any other text is sent as a single user message. The
 * configured system prompt, if any, always comes first.
 */
import OpenAI from "openai";
import type { ChatCompletionMessageParam } from "openai/resources/chat/completions";
import { z } from "zod";
import { toModelCallError } from "./openaiErrors.js";
import { decodeInputText, type ModelAnswer, ModelCallError, type ModelProvider } from "./provider.js";

export interface OpenAIProviderOptions {
  name: string;
  model: string;
  baseURL: string;
  apiKey: string;
  /** Defaults to 0, the closest a hosted model gets to answering the same input the same way. */
  temperature?: number;
  maxTokens: number;
  seed?: number;
  systemPrompt?: string;
}

const MAX_MESSAGES = 64;

const structuredInputSchema = z
  .object({
    messages: z
      .array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() }).strict())
      .min(1)
      .max(MAX_MESSAGES),
  })
  .strict();

export class OpenAIProvider implements ModelProvider {
  readonly kind = "openai";
  readonly name: string;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly #options: OpenAIProviderOptions & { temperature: number };
  readonly #client: OpenAI;

  constructor(options: OpenAIProviderOptions) {
    this.name = options.name;
    this.#options = { ...options, temperature: options.temperature ?? 0 };
    const { model, baseURL, temperature, maxTokens, seed, systemPrompt } = this.#options;
    this.settings = Object.freeze({ model, baseURL, temperature, maxTokens, seed, systemPrompt });
    this.#client = new OpenAI({ baseURL, apiKey: options.apiKey, maxRetries: 0 });
  }

  async start(): Promise<void> {}

  async run(input: Uint8Array, signal: AbortSignal): Promise<ModelAnswer> {
    const messages = this.#messagesFor(decodeInputText(input));
    const { model, temperature, maxTokens, seed } = this.#options;
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      completion = await this.#client.chat.completions.create(
        // `max_tokens` rather than `max_completion_tokens`: every compatible server understands it.
        { model, messages, temperature, max_tokens: maxTokens, ...(seed === undefined ? {} : { seed }) },
        { signal },
      );
    } catch (error) {
      throw toModelCallError(error, signal);
    }
    return answerOf(completion);
  }

  async close(): Promise<void> {}

  #messagesFor(text: string): ChatCompletionMessageParam[] {
    const system: ChatCompletionMessageParam[] =
      this.#options.systemPrompt === undefined
        ? []
        : [{ role: "system", content: this.#options.systemPrompt }];
    if (!text.trimStart().startsWith("{")) return [...system, { role: "user", content: text }];
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw invalidInput("input starts with { but is not valid JSON", cause);
    }
    const parsed = structuredInputSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidInput(`invalid messages input: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`);
    }
    return [...system, ...parsed.data.messages];
  }
}

function answerOf(completion: unknown): ModelAnswer {
  // A non-JSON content type reaches us as a plain string: the server is misbehaving, not the model.
  if (typeof completion !== "object" || completion === null) {
    throw new ModelCallError("malformed response from model server", {
      operator: "server error",
      retryable: true,
    });
  }
  const { choices, model, usage } = completion as Partial<OpenAI.Chat.Completions.ChatCompletion>;
  const choice = choices?.[0];
  const content = choice?.message?.content;
  // Empty text is the same non-answer as none (see executor.ts): said nothing, whatever the shape.
  if (typeof content !== "string" || content.trim() === "") {
    // A refusal (OpenAI's `refusal` field, or a content filter stopping the answer) is about this input.
    const refused = choice?.finish_reason === "content_filter" || Boolean(choice?.message?.refusal);
    throw new ModelCallError(choices?.length ? "model returned no text" : "model returned no choices", {
      request: refused ? "refused by model" : "model returned no answer",
    });
  }
  return {
    output: content,
    modelVersion: typeof model === "string" ? model : "unknown",
    ...(usage
      ? { usage: { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens } }
      : {}),
  };
}

function invalidInput(reason: string, cause?: unknown): ModelCallError {
  return new ModelCallError(reason, { request: "invalid input: malformed messages", cause });
}
