import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "mocha";
import { executeModel, OperatorFaultError, ShutdownError } from "../../../src/node/models/executor.js";
import { OpenAIProvider, type OpenAIProviderOptions } from "../../../src/node/models/openai.js";
import { retryAfterMs } from "../../../src/node/models/openaiErrors.js";
import { type CallFailure, ModelCallError, REQUEST_ERRORS } from "../../../src/node/models/provider.js";
import { ResultStatus } from "../../../src/shared/encoding.js";
import { FakeOpenAIServer, type Fault } from "../../helpers/openaiServer.js";

const utf8 = (text: string) => new TextEncoder().encode(text);
const noSignal = () => new AbortController().signal;

describe("OpenAIProvider", () => {
  let fake: FakeOpenAIServer;
  let server: { url: string; close(): Promise<void> };

  beforeEach(async () => {
    fake = new FakeOpenAIServer();
    server = await fake.start();
  });
  afterEach(async () => {
    await server.close();
  });

  function provider(options: Partial<OpenAIProviderOptions> = {}): OpenAIProvider {
    return new OpenAIProvider({
      name: "gpt",
      model: "gpt-test",
      baseURL: server.url,
      apiKey: "sk-test",
      maxTokens: 32,
      ...options,
    });
  }

  async function callError(
    model: OpenAIProvider,
    input: string,
    signal = noSignal(),
  ): Promise<ModelCallError> {
    try {
      await model.run(utf8(input), signal);
    } catch (error) {
      assert.ok(error instanceof ModelCallError, `expected a ModelCallError, got ${error}`);
      return error;
    }
    assert.fail("the call succeeded");
  }

  it("answers plain text as one user message, with the server's model version and usage", async () => {
    const model = provider({ seed: 7, systemPrompt: "Be brief." });
    const answer = await model.run(utf8("hello there"), noSignal());

    assert.deepEqual(answer, {
      output: "echo:hello there",
      modelVersion: "gpt-test-0001",
      usage: { promptTokens: 4, completionTokens: 2 },
    });
    assert.equal(fake.requests.length, 1);
    const [request] = fake.requests;
    assert.equal(request?.path, "/v1/chat/completions");
    assert.equal(request?.headers.authorization, "Bearer sk-test");
    assert.deepEqual(request?.body, {
      model: "gpt-test",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello there" },
      ],
      temperature: 0,
      max_tokens: 32,
      seed: 7,
    });
  });

  it("sends a messages JSON input as given, after the configured system prompt", async () => {
    const model = provider({ systemPrompt: "Operator rules." });
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "2+2?" },
      { role: "assistant", content: "4" },
      { role: "user", content: "and 3+3?" },
    ];
    const answer = await model.run(utf8(`  ${JSON.stringify({ messages })}`), noSignal());

    assert.equal(answer.output, "echo:and 3+3?");
    const body = fake.requests[0]?.body as { messages: unknown; seed?: unknown };
    assert.deepEqual(body.messages, [{ role: "system", content: "Operator rules." }, ...messages]);
    assert.equal("seed" in body, false);
  });

  it("settings describe the model without the API key", () => {
    const model = provider({ apiKey: "sk-secret", temperature: 0.5, seed: 1 });
    assert.deepEqual(model.settings, {
      model: "gpt-test",
      baseURL: server.url,
      temperature: 0.5,
      maxTokens: 32,
      seed: 1,
      systemPrompt: undefined,
    });
    assert.equal(JSON.stringify(model.settings).includes("sk-secret"), false);
  });

  describe("rejects bad input as InvalidInput without calling the server", () => {
    const cases: [string, Uint8Array][] = [
      ["bytes that are not UTF-8", new Uint8Array([0x68, 0x69, 0xff, 0xfe])],
      ["text starting with { that is not JSON", utf8('{"messages": [')],
      ["JSON without messages", utf8('{"prompt":"hi"}')],
      ["an empty messages array", utf8('{"messages":[]}')],
      ["an unknown role", utf8('{"messages":[{"role":"tool","content":"x"}]}')],
      ["non-string content", utf8('{"messages":[{"role":"user","content":42}]}')],
      ["extra request keys", utf8('{"messages":[{"role":"user","content":"x"}],"temperature":2}')],
      [
        "more than 64 messages",
        utf8(
          JSON.stringify({ messages: Array.from({ length: 65 }, () => ({ role: "user", content: "x" })) }),
        ),
      ],
    ];
    for (const [label, input] of cases) {
      it(label, async () => {
        await assert.rejects(provider().run(input, noSignal()), (error: unknown) => {
          assert.ok(error instanceof ModelCallError);
          assert.ok("request" in error.failure, "an error about the request");
          assert.equal(REQUEST_ERRORS[error.failure.request], ResultStatus.InvalidInput);
          assert.equal(error.retryable, false);
          return true;
        });
        assert.equal(fake.requests.length, 0);
      });
    }
  });

  describe("classifies each server fault: the operator's, or the request's", () => {
    const operator = (fault: Extract<CallFailure, { operator: string }>["operator"]) => ({ operator: fault });
    const request = (text: Extract<CallFailure, { request: string }>["request"]) => ({ request: text });
    const cases: [string, Fault, { failure: CallFailure; retryable: boolean; message?: RegExp }][] = [
      ["429", { kind: "rateLimit" }, { failure: operator("rate limited"), retryable: true, message: /429/ }],
      [
        "429 insufficient_quota",
        { kind: "rateLimit", code: "insufficient_quota" },
        { failure: operator("quota exhausted"), retryable: false },
      ],
      ["402", { kind: "status", status: 402 }, { failure: operator("quota exhausted"), retryable: false }],
      [
        "401 invalid_api_key",
        { kind: "status", status: 401, code: "invalid_api_key" },
        { failure: operator("authentication failed"), retryable: false },
      ],
      [
        "401",
        { kind: "status", status: 401 },
        { failure: operator("authentication failed"), retryable: false },
      ],
      ["403", { kind: "status", status: 403 }, { failure: operator("permission denied"), retryable: false }],
      [
        "404 model_not_found",
        { kind: "status", status: 404, code: "model_not_found" },
        { failure: operator("model not found"), retryable: false },
      ],
      ["404", { kind: "status", status: 404 }, { failure: operator("model not found"), retryable: false }],
      [
        "400 naming a setting of the node",
        { kind: "status", status: 400, param: "max_tokens" },
        { failure: operator("settings rejected"), retryable: false },
      ],
      ["405", { kind: "status", status: 405 }, { failure: operator("settings rejected"), retryable: false }],
      [
        "500",
        { kind: "status", status: 500 },
        { failure: operator("server error"), retryable: true, message: /500/ },
      ],
      ["503", { kind: "status", status: 503 }, { failure: operator("server error"), retryable: true }],
      ["408", { kind: "status", status: 408 }, { failure: operator("timed out"), retryable: true }],
      ["409", { kind: "status", status: 409 }, { failure: operator("server error"), retryable: true }],
      [
        "connection reset",
        { kind: "reset" },
        { failure: operator("server unreachable"), retryable: true, message: /connection failed/ },
      ],
      [
        "malformed JSON body",
        { kind: "malformed" },
        { failure: operator("server error"), retryable: true, message: /malformed/ },
      ],
      [
        "400 context_length_exceeded",
        {
          kind: "status",
          status: 400,
          code: "context_length_exceeded",
          param: "messages",
          message: "This model's maximum context length is 8192 tokens.",
        },
        { failure: request("invalid input: too long for the model"), retryable: false },
      ],
      [
        "400 from llama.cpp's server for a prompt over its context",
        {
          kind: "status",
          status: 400,
          message: "the request exceeds the available context size, try increasing it",
        },
        { failure: request("invalid input: too long for the model"), retryable: false },
      ],
      [
        "413",
        { kind: "status", status: 413 },
        { failure: request("invalid input: too long for the model"), retryable: false },
      ],
      [
        "400 content_policy_violation",
        { kind: "status", status: 400, code: "content_policy_violation" },
        { failure: request("refused by model"), retryable: false },
      ],
      [
        "400 about the messages",
        { kind: "status", status: 400, param: "messages.0.content" },
        { failure: request("invalid input: rejected by the model server"), retryable: false, message: /400/ },
      ],
      [
        "400",
        { kind: "status", status: 400 },
        { failure: request("invalid input: rejected by the model server"), retryable: false },
      ],
      [
        "422",
        { kind: "status", status: 422 },
        { failure: request("invalid input: rejected by the model server"), retryable: false },
      ],
      [
        "a refusal",
        { kind: "refusal" },
        { failure: request("refused by model"), retryable: false, message: /no text/ },
      ],
      [
        "empty choices",
        { kind: "emptyChoices" },
        { failure: request("model returned no answer"), retryable: false, message: /no choices/ },
      ],
      [
        "null content",
        { kind: "nullContent" },
        { failure: request("model returned no answer"), retryable: false, message: /no text/ },
      ],
      [
        "empty content (said nothing, as null)",
        { kind: "emptyContent", content: "" },
        { failure: request("model returned no answer"), retryable: false, message: /no text/ },
      ],
      [
        "whitespace-only content (said nothing, as null)",
        { kind: "emptyContent", content: " \n\t " },
        { failure: request("model returned no answer"), retryable: false, message: /no text/ },
      ],
    ];
    for (const [label, fault, expected] of cases) {
      const kind = "operator" in expected.failure ? "operator fault" : "request error";
      it(`${label} → ${expected.retryable ? "retryable" : "final"} ${kind} ${Object.values(expected.failure)[0]}`, async () => {
        fake.failNext(fault);
        const error = await callError(provider(), "hi");
        assert.deepEqual(error.failure, expected.failure);
        assert.equal(error.retryable, expected.retryable);
        if (expected.message) assert.match(error.shortMessage, expected.message);
        assert.equal(fake.requests.length, 1, "the SDK must not retry on its own");
      });
    }

    it("a key the server does not take is an authentication fault", async () => {
      fake.requireKey("gpt-test", "the-right-key");
      const error = await callError(provider(), "hi");
      assert.deepEqual(error.failure, { operator: "authentication failed" });
      assert.equal(error.retryable, false);
      fake.requireKey("gpt-test", "sk-test");
      assert.equal((await provider().run(utf8("hi"), noSignal())).output, "echo:hi");
    });

    it("429 carries the Retry-After delay", async () => {
      fake.failNext({ kind: "rateLimit", retryAfter: "2" });
      assert.equal((await callError(provider(), "hi")).retryAfterMs, 2000);
      fake.failNext({ kind: "rateLimit", retryAfter: "2", retryAfterMs: 250 });
      assert.equal((await callError(provider(), "hi")).retryAfterMs, 250);
    });

    it("a call aborted by its signal is a retryable ModelTimeout", async () => {
      fake.failNext({ kind: "hang" });
      const error = await callError(provider(), "hi", AbortSignal.timeout(50));
      assert.deepEqual(error.failure, { operator: "timed out" });
      assert.equal(error.retryable, true);
      assert.equal(error.shortMessage, "model call timed out");
    });

    it("an unreachable server is a retryable connection failure", async () => {
      const closed = new FakeOpenAIServer();
      const gone = await closed.start();
      await gone.close();
      const error = await callError(provider({ baseURL: gone.url }), "hi");
      assert.equal(error.retryable, true);
      assert.match(error.shortMessage, /connection failed/);
    });
  });

  describe("under executeModel", () => {
    const policy = {
      timeoutMs: 2_000,
      maxAttempts: 3,
      baseBackoffMs: 5,
      maxBackoffMs: 20,
      maxOutputBytes: 256,
    };

    it("retries 5xx until the server answers", async () => {
      fake.failNext({ kind: "status", status: 503 }, 2);
      const outcome = await executeModel(provider(), utf8("again"), policy, noSignal());
      assert.equal(outcome.status, ResultStatus.Ok);
      assert.equal(outcome.output, "echo:again");
      assert.equal(outcome.attempts, 3);
      assert.equal(fake.requests.length, 3);
      assert.equal(outcome.metadata.version, "gpt-test-0001");
    });

    it("gives up after maxAttempts with the server's fault, not an answer", async () => {
      fake.failModel("gpt-test", { kind: "status", status: 500 });
      await assert.rejects(executeModel(provider(), utf8("x"), policy, noSignal()), (error: unknown) => {
        assert.ok(error instanceof OperatorFaultError);
        assert.deepEqual([error.fault, error.attempts], ["server error", 3]);
        return true;
      });
      assert.equal(fake.requests.length, 3);
    });

    it("does not retry a wrong key, and does not answer it", async () => {
      fake.failModel("gpt-test", { kind: "status", status: 401, code: "invalid_api_key" });
      await assert.rejects(executeModel(provider(), utf8("x"), policy, noSignal()), (error: unknown) => {
        assert.ok(error instanceof OperatorFaultError);
        assert.deepEqual([error.fault, error.attempts], ["authentication failed", 1]);
        return true;
      });
      assert.equal(fake.requests.length, 1);
    });

    it("answers a request error with its fixed text, not the server's message", async () => {
      fake.failModel("gpt-test", {
        kind: "status",
        status: 400,
        code: "context_length_exceeded",
        message: "maximum context length exceeded on https://gpu-7.corp.example:8000/v1",
      });
      const outcome = await executeModel(provider(), utf8("x"), policy, noSignal());
      assert.equal(outcome.status, ResultStatus.InvalidInput);
      assert.equal(outcome.output, "invalid input: too long for the model");
      assert.equal(outcome.metadata.error, outcome.output);
      assert.equal(fake.requests.length, 1);
    });

    it("waits at least Retry-After before the next attempt", async () => {
      fake.failNext({ kind: "rateLimit", retryAfter: "1" });
      const outcome = await executeModel(provider(), utf8("later"), policy, noSignal());
      assert.equal(outcome.status, ResultStatus.Ok);
      const [first, second] = fake.requests;
      assert.ok(first && second);
      const gap = second.receivedAt - first.receivedAt;
      assert.ok(gap >= 1000, `second attempt came ${gap} ms after the first, Retry-After said 1000`);
    });

    it("times out a hanging server on every attempt, then reports the operator's fault", async () => {
      fake.failModel("gpt-test", { kind: "hang" });
      const call = executeModel(
        provider(),
        utf8("x"),
        { ...policy, timeoutMs: 100, maxAttempts: 2 },
        noSignal(),
      );
      await assert.rejects(call, (error: unknown) => {
        assert.ok(error instanceof OperatorFaultError);
        assert.deepEqual([error.fault, error.attempts], ["timed out", 2]);
        return true;
      });
      assert.equal(fake.requests.length, 2);
    });

    it("answers OutputTooLarge for a long answer", async () => {
      fake.failNext({ kind: "longAnswer", bytes: 1_000 });
      const outcome = await executeModel(provider(), utf8("x"), policy, noSignal());
      assert.equal(outcome.status, ResultStatus.OutputTooLarge);
      assert.equal(outcome.attempts, 1);
    });

    it("rejects with ShutdownError when shutdown aborts a slow call", async () => {
      fake.failNext({ kind: "delay", ms: 5_000 });
      const shutdown = new AbortController();
      setTimeout(() => shutdown.abort(), 50);
      await assert.rejects(executeModel(provider(), utf8("x"), policy, shutdown.signal), ShutdownError);
      assert.equal(fake.requests.length, 1);
    });
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  const headers = (entries: Record<string, string>) => new Headers(entries);

  it("reads delay-seconds, HTTP dates and retry-after-ms", () => {
    assert.equal(retryAfterMs(headers({ "retry-after": "3" }), now), 3000);
    assert.equal(retryAfterMs(headers({ "retry-after": "0.5" }), now), 500);
    assert.equal(retryAfterMs(headers({ "retry-after": "Wed, 01 Jan 2025 00:00:07 GMT" }), now), 7000);
    assert.equal(retryAfterMs(headers({ "retry-after-ms": "120", "retry-after": "3" }), now), 120);
  });

  it("treats past dates as no wait and ignores what it cannot parse", () => {
    assert.equal(retryAfterMs(headers({ "retry-after": "Tue, 31 Dec 2024 23:59:00 GMT" }), now), 0);
    assert.equal(retryAfterMs(headers({ "retry-after": "soon" }), now), undefined);
    assert.equal(retryAfterMs(headers({ "retry-after": "-1" }), now), undefined);
    assert.equal(retryAfterMs(headers({}), now), undefined);
    assert.equal(retryAfterMs(undefined, now), undefined);
  });
});
