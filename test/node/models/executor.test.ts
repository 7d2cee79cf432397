import assert from "node:assert/strict";
import { describe, it } from "mocha";
import { hexToString } from "viem";
import { answerConstraintSchema } from "../../../src/node/models/answerConstraint.js";
import {
  classifyError,
  type ExecutionPolicy,
  encodeMetadata,
  executeModel,
  OperatorFaultError,
  ShutdownError,
} from "../../../src/node/models/executor.js";
import {
  callTimedOut,
  type ModelAnswer,
  ModelCallError,
  type ModelProvider,
  type OperatorFault,
} from "../../../src/node/models/provider.js";
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
  new ModelCallError(message, { operator: "server error", retryable: true, retryAfterMs });
const never = () => new Promise<ModelAnswer>(() => {});

/** Asserts that `call` rejects with an OperatorFaultError for `fault` after `attempts` attempts. */
async function rejectsWithFault(call: Promise<unknown>, fault: OperatorFault, attempts: number) {
  let caught: OperatorFaultError | undefined;
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof OperatorFaultError, `expected an OperatorFaultError, got ${error}`);
    caught = error;
    return true;
  });
  assert.equal(caught?.fault, fault);
  assert.equal(caught?.attempts, attempts);
  return caught as OperatorFaultError;
}

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

  it("times out a provider that ignores its signal maxAttempts times, then reports the operator's fault", async () => {
    const provider = scripted(never);
    const fault = await rejectsWithFault(executeModel(provider, input, policy, noShutdown()), "timed out", 3);
    assert.equal(provider.calls, 3);
    assert.match(fault.message, /no answer within 50 ms/, "the detail stays on the error, for the log");
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
    await rejectsWithFault(
      executeModel(provider, input, { ...policy, maxAttempts: 2 }, noShutdown()),
      "timed out",
      2,
    );
    assert.equal(seen.length, 2);
    assert.notEqual(seen[0], seen[1]);
    assert.ok(seen.every((signal) => signal.aborted));
  });

  it("stops at the first error about the request and answers its fixed text", async () => {
    const error = new ModelCallError("input is not valid UTF-8", { request: "invalid input: not UTF-8" });
    const provider = scripted(() => Promise.reject(error));
    const outcome = await executeModel(provider, input, policy, noShutdown());
    assert.deepEqual(
      [outcome.status, outcome.output, outcome.metadata.error, outcome.attempts],
      [ResultStatus.InvalidInput, "invalid input: not UTF-8", "invalid input: not UTF-8", 1],
    );
    assert.equal(outcome.detail, error, "the provider's error is kept for the log");
  });

  it("answers a fixed text, never the provider's words (hosts, URLs, keys)", async () => {
    const leaky = "400 bad prompt at https://gpu-7.corp.example/v2/SECRETKEY123 (key sk-live-abcdef123456)";
    const provider = scripted(() =>
      Promise.reject(new ModelCallError(leaky, { request: "invalid input: rejected by the model server" })),
    );
    const outcome = await executeModel(provider, input, { ...policy, maxOutputBytes: 1_000 }, noShutdown());
    assert.equal(outcome.status, ResultStatus.InvalidInput);
    assert.equal(outcome.output, "invalid input: rejected by the model server");
    assert.doesNotMatch(JSON.stringify(outcome.metadata), /corp\.example|SECRETKEY|sk-live/);
  });

  it("reports retries used up on a retryable error as an operator fault, not an answer", async () => {
    const provider = scripted((call) => Promise.reject(retryable(`503 busy (${call})`)));
    const fault = await rejectsWithFault(
      executeModel(provider, input, policy, noShutdown()),
      "server error",
      3,
    );
    assert.equal(provider.calls, 3);
    assert.match(fault.message, /503 busy \(2\)/, "the last error is the cause");
  });

  it("stops at once on an operator fault that a retry cannot mend", async () => {
    const provider = scripted(() =>
      Promise.reject(new ModelCallError("401 Incorrect API key", { operator: "authentication failed" })),
    );
    await rejectsWithFault(executeModel(provider, input, policy, noShutdown()), "authentication failed", 1);
    assert.equal(provider.calls, 1);
  });

  it("gives up rather than wait past its budget for a Retry-After", async () => {
    const provider = scripted(() =>
      Promise.reject(
        new ModelCallError("429 slow down", {
          operator: "rate limited",
          retryable: true,
          retryAfterMs: 60_000,
        }),
      ),
    );
    await rejectsWithFault(executeModel(provider, input, policy, noShutdown()), "rate limited", 1);
    assert.equal(provider.calls, 1);
  });

  it("answers OutputTooLarge for an answer over the limit, with a reason within it", async () => {
    const provider = scripted(() => answer("é".repeat(40)));
    const outcome = await executeModel(provider, input, { ...policy, maxOutputBytes: 79 }, noShutdown());
    assert.equal(outcome.status, ResultStatus.OutputTooLarge);
    assert.equal(outcome.output, "output too large");
    assert.equal(outcome.detail, "output is 80 bytes, over the limit of 79");
    assert.equal(outcome.attempts, 1);

    const tiny = await executeModel(provider, input, { ...policy, maxOutputBytes: 8 }, noShutdown());
    assert.equal(tiny.status, ResultStatus.OutputTooLarge);
    assert.equal(tiny.output, "output t", "the reason fits the request's own limit");
  });

  describe("with a constrained answer", () => {
    const constrained = (labels: string[], behaviour: (call: number) => Promise<ModelAnswer>) =>
      Object.assign(scripted(behaviour), {
        answer: answerConstraintSchema.parse({ kind: "labels", labels }),
      });

    it("commits the normalized answer, normalized before the size limit", async () => {
      const provider = constrained(["Positive", "Negative"], () => answer(`  positive.${" ".repeat(100)}`));
      const outcome = await executeModel(provider, input, policy, noShutdown());
      assert.equal(outcome.status, ResultStatus.Ok);
      assert.equal(outcome.output, "Positive");
      assert.equal(outcome.detail, undefined);
    });

    it("still holds the normalized answer to the size limit", async () => {
      const long = "x".repeat(policy.maxOutputBytes + 1);
      const outcome = await executeModel(
        constrained([long], () => answer(long)),
        input,
        policy,
        noShutdown(),
      );
      assert.equal(outcome.status, ResultStatus.OutputTooLarge);
    });

    it("answers an answer outside the constraint with ModelError and a fixed text, without retrying", async () => {
      const provider = constrained(["Positive", "Negative"], () =>
        answer("Positive, but the key is sk-live-123"),
      );
      const outcome = await executeModel(provider, input, policy, noShutdown());
      assert.equal(provider.calls, 1);
      assert.equal(outcome.status, ResultStatus.ModelError);
      assert.equal(outcome.output, "answer outside the model's constraint");
      assert.equal(outcome.metadata.error, "answer outside the model's constraint");
      assert.equal(outcome.metadata.version, "v1", "the model did answer");
      assert.equal(
        outcome.detail,
        "answer outside the labels constraint: the answer is not one of the labels",
      );
      assert.ok(!JSON.stringify(outcome).includes("sk-live"), "the raw answer goes nowhere");
    });
  });

  describe("never throws on a misbehaving provider", () => {
    const cases: [string, (call: number, signal: AbortSignal) => unknown, string][] = [
      ["a plain Error", () => Promise.reject(new TypeError("boom")), "model error"],
      ["a thrown string", () => Promise.reject("bad"), "model error"],
      ["a thrown null", () => Promise.reject(null), "model error"],
      ["an unprintable value", () => Promise.reject(Object.create(null)), "model error"],
      [
        "a synchronous throw",
        () => {
          throw new RangeError("sync");
        },
        "model error",
      ],
      ["no answer", () => Promise.resolve(undefined), "model returned no answer"],
      [
        "a non-text answer",
        () => Promise.resolve({ output: 42, modelVersion: "v" }),
        "model returned no answer",
      ],
      ["a non-promise", () => "plain", "model returned no answer"],
      [
        "an empty answer",
        () => Promise.resolve({ output: "", modelVersion: "v" }),
        "model returned no answer",
      ],
      [
        "a whitespace-only answer",
        () => Promise.resolve({ output: " \n ", modelVersion: "v" }),
        "model returned no answer",
      ],
    ];
    for (const [label, behaviour, reason] of cases) {
      it(label, async () => {
        const provider = scripted(behaviour);
        const outcome = await executeModel(provider, input, policy, noShutdown());
        assert.equal(outcome.status, ResultStatus.ModelError);
        assert.equal(outcome.output, reason);
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
        return Promise.reject(callTimedOut(signal.reason));
      });
      await assert.rejects(executeModel(provider, input, policy, shutdown.signal), ShutdownError);
    });
  });
});

describe("classifyError", () => {
  const cases: [string, unknown, { retryable: boolean; failure: unknown }][] = [
    [
      "retryable operator fault",
      new ModelCallError("503 busy", { operator: "server error", retryable: true }),
      { retryable: true, failure: { operator: "server error" } },
    ],
    ["timeout", callTimedOut(), { retryable: true, failure: { operator: "timed out" } }],
    [
      "invalid input",
      new ModelCallError("input is not valid UTF-8", { request: "invalid input: not UTF-8" }),
      { retryable: false, failure: { request: "invalid input: not UTF-8" } },
    ],
    [
      "authentication",
      new ModelCallError("401 bad key", { operator: "authentication failed", details: "long server text" }),
      { retryable: false, failure: { operator: "authentication failed" } },
    ],
    ["plain Error", new Error("disk full"), { retryable: false, failure: { request: "model error" } }],
    ["string", "nope", { retryable: false, failure: { request: "model error" } }],
    ["undefined", undefined, { retryable: false, failure: { request: "model error" } }],
  ];
  for (const [label, error, expected] of cases) {
    it(label, () => {
      assert.deepEqual(classifyError(error), { ...expected, error });
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
