import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "mocha";
import { executeModel, ShutdownError } from "../../../src/node/models/executor.js";
import { OpenAIProvider, type OpenAIProviderOptions } from "../../../src/node/models/openai.js";
import { retryAfterMs } from "../../../src/node/models/openaiErrors.js";
import { ModelCallError } from "../../../src/node/models/provider.js";
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
          assert.equal(error.status, ResultStatus.InvalidInput);
          assert.equal(error.retryable, false);
          return true;
        });
        assert.equal(fake.requests.length, 0);
      });
    }
  });

  describe("classifies each server fault", () => {
    const cases: [string, Fault, { status: ResultStatus; retryable: boolean; message?: RegExp }][] = [
      ["429", { kind: "rateLimit" }, { status: ResultStatus.ModelError, retryable: true, message: /429/ }],
      [
        "429 insufficient_quota",
        { kind: "rateLimit", code: "insufficient_quota" },
        { status: ResultStatus.ModelError, retryable: false },
      ],
      [
        "500",
        { kind: "status", status: 500 },
        { status: ResultStatus.ModelError, retryable: true, message: /500/ },
      ],
      ["503", { kind: "status", status: 503 }, { status: ResultStatus.ModelError, retryable: true }],
      ["408", { kind: "status", status: 408 }, { status: ResultStatus.ModelError, retryable: true }],
      ["409", { kind: "status", status: 409 }, { status: ResultStatus.ModelError, retryable: true }],
      [
        "400",
        { kind: "status", status: 400 },
        { status: ResultStatus.ModelError, retryable: false, message: /400/ },
      ],
      ["401", { kind: "status", status: 401 }, { status: ResultStatus.ModelError, retryable: false }],
      ["403", { kind: "status", status: 403 }, { status: ResultStatus.ModelError, retryable: false }],
      ["404", { kind: "status", status: 404 }, { status: ResultStatus.ModelError, retryable: false }],
      ["422", { kind: "status", status: 422 }, { status: ResultStatus.ModelError, retryable: false }],
      [
        "connection reset",
        { kind: "reset" },
        { status: ResultStatus.ModelError, retryable: true, message: /connection failed/ },
      ],
      [
        "malformed JSON body",
        { kind: "malformed" },
        { status: ResultStatus.ModelError, retryable: true, message: /malformed/ },
      ],
      [
        "empty choices",
        { kind: "emptyChoices" },
        { status: ResultStatus.ModelError, retryable: false, message: /no choices/ },
      ],
      [
        "null content",
        { kind: "nullContent" },
        { status: ResultStatus.ModelError, retryable: false, message: /no text/ },
      ],
    ];
    for (const [label, fault, expected] of cases) {
      it(`${label} → ${expected.retryable ? "retryable" : "final"} status ${expected.status}`, async () => {
        fake.failNext(fault);
        const error = await callError(provider(), "hi");
        assert.equal(error.status, expected.status);
        assert.equal(error.retryable, expected.retryable);
        if (expected.message) assert.match(error.shortMessage, expected.message);
        assert.equal(fake.requests.length, 1, "the SDK must not retry on its own");
      });
    }

    it("429 carries the Retry-After delay", async () => {
      fake.failNext({ kind: "rateLimit", retryAfter: "2" });
      assert.equal((await callError(provider(), "hi")).retryAfterMs, 2000);
      fake.failNext({ kind: "rateLimit", retryAfter: "2", retryAfterMs: 250 });
      assert.equal((await callError(provider(), "hi")).retryAfterMs, 250);
    });

    it("a call aborted by its signal is a retryable ModelTimeout", async () => {
      fake.failNext({ kind: "hang" });
      const error = await callError(provider(), "hi", AbortSignal.timeout(50));
      assert.equal(error.status, ResultStatus.ModelTimeout);
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

    it("gives up after maxAttempts with the last error", async () => {
      fake.failModel("gpt-test", { kind: "status", status: 500 });
      const outcome = await executeModel(provider(), utf8("x"), policy, noSignal());
      assert.equal(outcome.status, ResultStatus.ModelError);
      assert.match(outcome.output, /^model error after 3 attempts: 500 /);
      assert.equal(fake.requests.length, 3);
    });

    it("does not retry a permanent error", async () => {
      fake.failModel("gpt-test", { kind: "status", status: 401 });
      const outcome = await executeModel(provider(), utf8("x"), policy, noSignal());
      assert.equal(outcome.status, ResultStatus.ModelError);
      assert.equal(outcome.attempts, 1);
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

    it("times out a hanging server on every attempt", async () => {
      fake.failModel("gpt-test", { kind: "hang" });
      const outcome = await executeModel(
        provider(),
        utf8("x"),
        { ...policy, timeoutMs: 100, maxAttempts: 2 },
        noSignal(),
      );
      assert.equal(outcome.status, ResultStatus.ModelTimeout);
      assert.equal(outcome.attempts, 2);
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
