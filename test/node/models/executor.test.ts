import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { hexToString } from "viem";
import {
  classifyError,
  type ExecutionPolicy,
  encodeMetadata,
  executeModel,
  ShutdownError,
} from "../../../src/node/models/executor.js";
import { type ModelAnswer, ModelCallError, type ModelProvider } from "../../../src/node/models/provider.js";
import { ResultStatus } from "../../../src/shared/encoding.js";

const policy: ExecutionPolicy = {
  timeoutMs: 50,
  maxAttempts: 3,
  baseBackoffMs: 1,
  maxBackoffMs: 5,
  maxOutputBytes: 64,
};
const input = new TextEncoder().encode("question");
const noShutdown = () => new AbortController().signal;

/** A provider whose n-th call (from 0) does whatever `behaviour(n, signal)` does. */
function scripted(
  behaviour: (call: number, signal: AbortSignal) => unknown,
): ModelProvider & { calls: number } {
  return {
    name: "fake",
    kind: "builtin",
    settings: { knob: 1 },
    calls: 0,
    async start() {},
    async close() {},
    run(_input, signal) {
      return behaviour(this.calls++, signal) as Promise<ModelAnswer>;
    },
  };
}

const answer = (output: string): Promise<ModelAnswer> =>
  Promise.resolve({ output, modelVersion: "v1", usage: { promptTokens: 1, completionTokens: 2 } });
const retryable = (message: string, retryAfterMs?: number) =>
  new ModelCallError(message, { status: ResultStatus.ModelError, retryable: true, retryAfterMs });
const never = () => new Promise<ModelAnswer>(() => {});

describe("executeModel", () => {
  it("returns the answer with its metadata", async () => {
    const provider = scripted(() => answer("forty-two"));
    const outcome = await executeModel(provider, input, policy, noShutdown());
    assert.equal(outcome.status, ResultStatus.Ok);
    assert.equal(outcome.output, "forty-two");
    assert.equal(outcome.attempts, 1);
    assert.deepEqual(outcome.metadata, {
      provider: "builtin",
      model: "fake",
      version: "v1",
      params: { knob: 1 },
      usage: { promptTokens: 1, completionTokens: 2 },
      latencyMs: outcome.latencyMs,
      attempts: 1,
    });
  });

  it("retries retryable errors and succeeds", async () => {
    const provider = scripted((call) => (call < 2 ? Promise.reject(retryable("503 busy")) : answer("ok")));
    const outcome = await executeModel(provider, input, policy, noShutdown());
    assert.equal(outcome.status, ResultStatus.Ok);
    assert.equal(outcome.attempts, 3);
    assert.equal(outcome.metadata.attempts, 3);
  });

  it("times out a provider that ignores its signal, maxAttempts times", async () => {
    const provider = scripted(never);
    const outcome = await executeModel(provider, input, policy, noShutdown());
    assert.equal(outcome.status, ResultStatus.ModelTimeout);
    assert.equal(outcome.attempts, 3);
    assert.equal(provider.calls, 3);
    assert.equal(outcome.output, "model timed out after 3 attempts: no answer within 50 ms");
    assert.equal(outcome.metadata.error, outcome.output);
    assert.equal(outcome.metadata.version, undefined);
  });

  it("gives each attempt a signal that fires at its deadline", async () => {
    const seen: AbortSignal[] = [];
    const provider = scripted(
      (_call, signal) =>
        new Promise((_resolve, reject) => {
          seen.push(signal);
          signal.addEventListener("abort", () => reject(new Error("aborted")));
        }),
    );
    const outcome = await executeModel(provider, input, { ...policy, maxAttempts: 2 }, noShutdown());
    assert.equal(outcome.status, ResultStatus.ModelTimeout);
    assert.equal(seen.length, 2);
    assert.notEqual(seen[0], seen[1]);
    assert.ok(seen.every((signal) => signal.aborted));
  });

  it("stops at the first permanent error", async () => {
    const provider = scripted(() =>
      Promise.reject(new ModelCallError("input is not valid UTF-8", { status: ResultStatus.InvalidInput })),
    );
    const outcome = await executeModel(provider, input, policy, noShutdown());
    assert.deepEqual(
      [outcome.status, outcome.output, outcome.attempts],
      [ResultStatus.InvalidInput, "input is not valid UTF-8", 1],
    );
  });

  it("reports the last error with the number of attempts", async () => {
    const provider = scripted((call) => Promise.reject(retryable(`503 busy (${call})`)));
    const outcome = await executeModel(provider, input, { ...policy, maxOutputBytes: 1_000 }, noShutdown());
    assert.equal(outcome.status, ResultStatus.ModelError);
    assert.equal(outcome.output, "model error after 3 attempts: 503 busy (2)");
  });

  it("gives up rather than wait past its budget for a Retry-After", async () => {
    const provider = scripted(() => Promise.reject(retryable("429 slow down", 60_000)));
    const outcome = await executeModel(provider, input, policy, noShutdown());
    assert.equal(outcome.status, ResultStatus.ModelError);
    assert.equal(outcome.attempts, 1);
    assert.equal(outcome.output, "429 slow down");
  });

  it("answers OutputTooLarge for an answer over the limit, with a reason within it", async () => {
    const provider = scripted(() => answer("é".repeat(40)));
    const outcome = await executeModel(provider, input, { ...policy, maxOutputBytes: 79 }, noShutdown());
    assert.equal(outcome.status, ResultStatus.OutputTooLarge);
    assert.equal(outcome.output, "output is 80 bytes, over the limit of 79");
    assert.equal(outcome.attempts, 1);

    const tiny = await executeModel(provider, input, { ...policy, maxOutputBytes: 8 }, noShutdown());
    assert.equal(tiny.status, ResultStatus.OutputTooLarge);
    assert.equal(tiny.output, "output i");
  });

  it("cuts long reasons to 200 bytes on a character boundary", async () => {
    const provider = scripted(() => Promise.reject(new Error(`€${"€".repeat(100)}`)));
    const outcome = await executeModel(provider, input, { ...policy, maxOutputBytes: 10_000 }, noShutdown());
    const bytes = new TextEncoder().encode(outcome.output);
    assert.equal(bytes.length, 198);
    assert.equal(outcome.output, "€".repeat(66));
  });

  describe("never throws on a misbehaving provider", () => {
    const cases: [string, (call: number, signal: AbortSignal) => unknown, RegExp][] = [
      ["a plain Error", () => Promise.reject(new TypeError("boom")), /^boom$/],
      ["a thrown string", () => Promise.reject("bad"), /provider threw bad/],
      ["a thrown null", () => Promise.reject(null), /provider threw null/],
      ["an unprintable value", () => Promise.reject(Object.create(null)), /unprintable/],
      [
        "a synchronous throw",
        () => {
          throw new RangeError("sync");
        },
        /^sync$/,
      ],
      ["no answer", () => Promise.resolve(undefined), /no answer text/],
      ["a non-text answer", () => Promise.resolve({ output: 42, modelVersion: "v" }), /no answer text/],
      ["a non-promise", () => "plain", /no answer text/],
      [
        "a ModelCallError claiming Ok",
        () => Promise.reject(new ModelCallError("confused", { status: ResultStatus.Ok })),
        /^confused$/,
      ],
    ];
    for (const [label, behaviour, reason] of cases) {
      it(label, async () => {
        const provider = scripted(behaviour);
        const outcome = await executeModel(provider, input, policy, noShutdown());
        assert.equal(outcome.status, ResultStatus.ModelError);
        assert.match(outcome.output, reason);
        assert.equal(outcome.attempts, 1);
      });
    }
  });

  describe("shutdown", () => {
    it("rejects with ShutdownError when shutdown fires during a call", async () => {
      const shutdown = new AbortController();
      const provider = scripted(never);
      setTimeout(() => shutdown.abort(), 10);
      await assert.rejects(
        executeModel(provider, input, { ...policy, timeoutMs: 5_000 }, shutdown.signal),
        (error: unknown) => {
          assert.ok(error instanceof ShutdownError);
          assert.equal(error.retryable, true);
          return true;
        },
      );
    });

    it("rejects with ShutdownError when shutdown fires during a backoff", async () => {
      const shutdown = new AbortController();
      const provider = scripted(() => {
        setTimeout(() => shutdown.abort(), 10);
        return Promise.reject(retryable("busy", 5_000));
      });
      const started = Date.now();
      await assert.rejects(
        executeModel(provider, input, { ...policy, timeoutMs: 10_000 }, shutdown.signal),
        ShutdownError,
      );
      assert.equal(provider.calls, 1);
      assert.ok(Date.now() - started < 2_000, "the backoff was not interrupted");
    });

    it("does not call the provider once shut down", async () => {
      const provider = scripted(() => answer("x"));
      await assert.rejects(executeModel(provider, input, policy, AbortSignal.abort()), ShutdownError);
      assert.equal(provider.calls, 0);
    });

    it("does not turn a provider error caused by shutdown into an answer", async () => {
      const shutdown = new AbortController();
      const provider = scripted((_call, signal) => {
        shutdown.abort();
        return Promise.reject(
          new ModelCallError("model call timed out", {
            status: ResultStatus.ModelTimeout,
            retryable: true,
            cause: signal.reason,
          }),
        );
      });
      await assert.rejects(executeModel(provider, input, policy, shutdown.signal), ShutdownError);
    });
  });
});

describe("classifyError", () => {
  const cases: [string, unknown, { retryable: boolean; status: ResultStatus; reason: string }][] = [
    [
      "retryable ModelCallError",
      new ModelCallError("503 busy", { status: ResultStatus.ModelError, retryable: true }),
      { retryable: true, status: ResultStatus.ModelError, reason: "503 busy" },
    ],
    [
      "timeout",
      new ModelCallError("model call timed out", { status: ResultStatus.ModelTimeout, retryable: true }),
      { retryable: true, status: ResultStatus.ModelTimeout, reason: "model call timed out" },
    ],
    [
      "invalid input",
      new ModelCallError("input is not valid UTF-8", { status: ResultStatus.InvalidInput }),
      { retryable: false, status: ResultStatus.InvalidInput, reason: "input is not valid UTF-8" },
    ],
    [
      "ModelCallError with details uses the short message",
      new ModelCallError("401 bad key", { status: ResultStatus.ModelError, details: "long server text" }),
      { retryable: false, status: ResultStatus.ModelError, reason: "401 bad key" },
    ],
    [
      "plain Error",
      new Error("disk full"),
      { retryable: false, status: ResultStatus.ModelError, reason: "disk full" },
    ],
    [
      "Error without a message",
      new TypeError(),
      { retryable: false, status: ResultStatus.ModelError, reason: "TypeError" },
    ],
    ["string", "nope", { retryable: false, status: ResultStatus.ModelError, reason: "provider threw nope" }],
    [
      "undefined",
      undefined,
      { retryable: false, status: ResultStatus.ModelError, reason: "provider threw undefined" },
    ],
  ];
  for (const [label, error, expected] of cases) {
    it(label, () => {
      assert.deepEqual(classifyError(error), expected);
    });
  }

  it("keeps the server's Retry-After", () => {
    assert.equal(classifyError(retryable("429", 1500)).retryAfterMs, 1500);
  });
});

describe("encodeMetadata", () => {
  it("is canonical JSON in UTF-8, independent of key order", () => {
    const metadata = {
      provider: "openai" as const,
      model: "gpt",
      version: "gpt-4o-2024",
      params: { temperature: 0, model: "gpt-4o", seed: undefined },
      latencyMs: 12,
      attempts: 1,
    };
    const reordered = {
      attempts: 1,
      latencyMs: 12,
      params: { model: "gpt-4o", temperature: 0 },
      version: "gpt-4o-2024",
      model: "gpt",
      provider: "openai" as const,
    };
    assert.equal(encodeMetadata(metadata), encodeMetadata(reordered));
    assert.equal(
      hexToString(encodeMetadata(metadata)),
      '{"attempts":1,"latencyMs":12,"model":"gpt","params":{"model":"gpt-4o","temperature":0},"provider":"openai","version":"gpt-4o-2024"}',
    );
  });
});
