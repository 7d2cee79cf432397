/**
 * A local stand-in for an OpenAI-compatible chat-completions server, so provider tests exercise the
 * real SDK over real HTTP. Answers are a pure function of the request; every request is recorded; and
 * faults can be scripted for the next calls or for one model, to see how each one is classified.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  /** 429 with `Retry-After: <retryAfter>` and/or `retry-after-ms`, and an optional OpenAI error code. */
  | { kind: "rateLimit"; retryAfter?: string; retryAfterMs?: number; code?: string }
  /**
   * Any error status with an OpenAI-style error body (500 by default), optionally with the error's
   * `code`, `param` and `message` as OpenAI sends them (e.g. 404 `model_not_found`).
   */
  | { kind: "status"; status?: number; code?: string; param?: string; message?: string }
  /** Accept the request and never answer, until the server closes. */
  | { kind: "hang" }
  /** Destroy the socket without a response. */
  | { kind: "reset" }
  /** A 200 whose JSON body is cut off. */
  | { kind: "malformed" }
  | { kind: "emptyChoices" }
  | { kind: "nullContent" }
  /** 200 with content "" (or only whitespace): the model said nothing, as with null. */
  | { kind: "emptyContent"; content: string }
  /** A 200 whose message is a refusal (`content: null`, `refusal` set), as OpenAI models refuse. */
  | { kind: "refusal" }
  /** A normal answer of `bytes` characters. */
  | { kind: "longAnswer"; bytes: number }
  /** A normal answer, sent after `ms`. */
  | { kind: "delay"; ms: number };

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** Date.now() when the request arrived. */
  receivedAt: number;
}

export interface FakeOpenAIServerOptions {
  /**
   * The answer text; defaults to `echo:` and the last user message. `apiKey` is the bearer token the
   * client sent (a test can answer one operator's key differently: a tampered model).
   */
  answer?: (model: string, messages: ChatMessage[], apiKey: string) => string;
  /** The model name the server reports back; defaults to the requested name plus `-0001`. */
  reportedModel?: (requested: string) => string;
}

/**
 * What a hosted server says to a key it does not take: OpenAI's own wording, which quotes part of the
 * key and a URL. Tests check that none of it reaches the chain, /readyz or the metrics.
 */
export const WRONG_KEY_MESSAGE =
  "Incorrect API key provided: wrong-ke*******. You can find your API key at https://platform.internal-gpu-7.corp.example/account/api-keys.";

export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  readonly #answer: (model: string, messages: ChatMessage[], apiKey: string) => string;
  readonly #reportedModel: (requested: string) => string;
  readonly #nextFaults: Fault[] = [];
  readonly #modelFaults = new Map<string, Fault>();
  readonly #requiredKeys = new Map<string, string>();
  readonly #inputFaults = new Map<string, Fault>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(options: FakeOpenAIServerOptions = {}) {
    this.#answer = options.answer ?? ((_model, messages) => `echo:${lastUserContent(messages)}`);
    this.#reportedModel = options.reportedModel ?? ((requested) => `${requested}-0001`);
  }

  /** The next `times` requests (any model) get `fault`, before any per-model fault. */
  failNext(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.#nextFaults.push(fault);
  }

  /** Every request for `model` gets `fault` until cleared with `undefined`. */
  failModel(model: string, fault: Fault | undefined): void {
    if (fault) this.#modelFaults.set(model, fault);
    else this.#modelFaults.delete(model);
  }

  /** Every request whose last user message is `content` gets `fault`, until cleared with `undefined`. */
  failInput(content: string, fault: Fault | undefined): void {
    if (fault) this.#inputFaults.set(content, fault);
    else this.#inputFaults.delete(content);
  }

  /**
   * Requests for `model` must carry `Bearer <key>` or get OpenAI's 401 `invalid_api_key`, until
   * cleared with `undefined` (or given the key the client sends: the server "starts accepting" it).
   */
  requireKey(model: string, key: string | undefined): void {
    if (key === undefined) this.#requiredKeys.delete(model);
    else this.#requiredKeys.set(model, key);
  }

  async start(): Promise<{ url: string; close(): Promise<void> }> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const body = safeJson(text);
        this.requests.push({
          method: request.method ?? "",
          path: request.url ?? "",
          headers: request.headers,
          body,
          receivedAt: Date.now(),
        });
        if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
          sendJson(response, 404, errorBody(`no route ${request.method} ${request.url}`, "not_found"));
          return;
        }
        this.#respond(body, request.headers, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/v1`,
      close: async () => {
        for (const timer of this.#timers) clearTimeout(timer);
        this.#timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Hanging requests hold their sockets open; close() alone would wait for them forever.
        server.closeAllConnections();
        await closed;
      },
    };
  }

  #respond(body: unknown, headers: IncomingHttpHeaders, response: ServerResponse): void {
    const request = (body ?? {}) as { model?: unknown; messages?: unknown };
    const model = typeof request.model === "string" ? request.model : "";
    const messages = Array.isArray(request.messages) ? (request.messages as ChatMessage[]) : [];
    const requiredKey = this.#requiredKeys.get(model);
    if (requiredKey !== undefined && headers.authorization !== `Bearer ${requiredKey}`) {
      sendJson(response, 401, errorBody(WRONG_KEY_MESSAGE, "invalid_api_key", "invalid_request_error"));
      return;
    }
    const fault =
      this.#nextFaults.shift() ??
      this.#inputFaults.get(lastUserContent(messages)) ??
      this.#modelFaults.get(model);
    const apiKey = headers.authorization?.replace(/^Bearer /, "") ?? "";
    const answer = () => this.#answer(model, messages, apiKey);

    switch (fault?.kind) {
      case undefined:
        sendJson(response, 200, this.#completion(model, messages, answer()));
        return;
      case "rateLimit": {
        const headers: Record<string, string> = {};
        if (fault.retryAfter !== undefined) headers["retry-after"] = fault.retryAfter;
        if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs);
        sendJson(
          response,
          429,
          errorBody("Rate limit reached", fault.code ?? "rate_limit_exceeded"),
          headers,
        );
        return;
      }
      case "status": {
        const status = fault.status ?? 500;
        const message = fault.message ?? `fake failure ${status}`;
        sendJson(response, status, errorBody(message, fault.code ?? "fake_error", "fake_error", fault.param));
        return;
      }
      case "hang":
        return;
      case "reset":
        response.socket?.destroy();
        return;
      case "malformed":
        response.writeHead(200, { "content-type": "application/json" });
        response.end('{"id":"chatcmpl-broken","choices":[{"mess');
        return;
      case "emptyChoices":
        sendJson(response, 200, { ...this.#completion(model, messages, ""), choices: [] });
        return;
      case "nullContent": {
        const completion = this.#completion(model, messages, "");
        sendJson(response, 200, {
          ...completion,
          choices: [{ index: 0, message: { role: "assistant", content: null }, finish_reason: "stop" }],
        });
        return;
      }
      case "emptyContent": {
        const completion = this.#completion(model, messages, fault.content);
        sendJson(response, 200, completion);
        return;
      }
      case "refusal": {
        const completion = this.#completion(model, messages, "");
        const message = { role: "assistant", content: null, refusal: "I can't help with that." };
        sendJson(response, 200, {
          ...completion,
          choices: [{ index: 0, message, finish_reason: "stop" }],
        });
        return;
      }
      case "longAnswer":
        sendJson(response, 200, this.#completion(model, messages, "x".repeat(fault.bytes)));
        return;
      case "delay": {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          sendJson(response, 200, this.#completion(model, messages, answer()));
        }, fault.ms);
        this.#timers.add(timer);
        return;
      }
    }
  }

  #completion(model: string, messages: ChatMessage[], content: string) {
    const promptTokens = messages.reduce((total, message) => total + countWords(String(message.content)), 0);
    return {
      id: `chatcmpl-${this.requests.length}`,
      object: "chat.completion",
      created: 1_700_000_000,
      model: this.#reportedModel(model),
      choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: countWords(content),
        total_tokens: promptTokens + countWords(content),
      },
    };
  }
}

function lastUserContent(messages: ChatMessage[]): string {
  return messages.findLast((message) => message.role === "user")?.content ?? "";
}

function countWords(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

function errorBody(message: string, code: string, type = "fake_error", param?: string) {
  return { error: { message, type, param: param ?? null, code } };
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
