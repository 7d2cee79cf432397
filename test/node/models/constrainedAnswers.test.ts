import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "mocha";
import { keccak256, stringToHex } from "viem";
import { configHashOf } from "../../../src/node/models/configHash.js";
import { type ExecutionPolicy, executeModel } from "../../../src/node/models/executor.js";
import { createProvider, type ModelSpecInput, modelSpecSchema } from "../../../src/node/models/registry.js";
import { ResultStatus } from "../../../src/shared/encoding.js";
import { FakeOpenAIServer } from "../../helpers/openaiServer.js";

const policy: ExecutionPolicy = {
  timeoutMs: 5_000,
  maxAttempts: 3,
  baseBackoffMs: 1,
  maxBackoffMs: 5,
  maxOutputBytes: 256,
};
const question = new TextEncoder().encode("Will it rain in Lisbon tomorrow?");
const noShutdown = () => new AbortController().signal;

describe("constrained answers from an OpenAI-compatible server", () => {
  /** What the server answers next, in order: one hosted model wording the same answer differently. */
  let wordings: string[];
  let fake: FakeOpenAIServer;
  let server: { url: string; close(): Promise<void> };

  beforeEach(async () => {
    wordings = [];
    fake = new FakeOpenAIServer({ answer: () => wordings.shift() ?? "no answer scripted" });
    server = await fake.start();
  });
  afterEach(async () => {
    await server.close();
  });

  const spec = (extra: Partial<ModelSpecInput> = {}) =>
    modelSpecSchema.parse({
      provider: "openai",
      name: "rain",
      model: "gpt-test",
      baseURL: server.url,
      apiKeyEnv: null,
      answer: { kind: "yes-no" },
      ...extra,
    });

  it("gives two operators the same output bytes for differently worded answers", async () => {
    // Two operators of one model: the same spec, each with its own provider calling the model itself.
    const first = createProvider(spec());
    const second = createProvider(spec());
    assert.equal(configHashOf(first), configHashOf(second));

    wordings.push("Yes.", " yes\n");
    const outcomes = [
      await executeModel(first, question, policy, noShutdown()),
      await executeModel(second, question, policy, noShutdown()),
    ];
    assert.equal(fake.requests.length, 2, "each operator asked the model itself");
    assert.deepEqual(
      outcomes.map((outcome) => [outcome.status, outcome.output]),
      [
        [ResultStatus.Ok, "yes"],
        [ResultStatus.Ok, "yes"],
      ],
    );
    assert.equal(keccak256(stringToHex(outcomes[0]?.output ?? "")), keccak256(stringToHex("yes")));
    assert.equal(keccak256(stringToHex(outcomes[1]?.output ?? "")), keccak256(stringToHex("yes")));
  });

  it("answers an off-constraint answer with ModelError and the fixed text, asking once", async () => {
    wordings.push("Yes, but no");
    const outcome = await executeModel(createProvider(spec()), question, policy, noShutdown());
    assert.equal(fake.requests.length, 1);
    assert.equal(outcome.status, ResultStatus.ModelError);
    assert.equal(outcome.output, "answer outside the model's constraint");
    assert.equal(outcome.metadata.error, "answer outside the model's constraint");
    assert.equal(outcome.metadata.version, "gpt-test-0001");
  });

  it("pins the constraint in the config hash", () => {
    const free = createProvider(spec({ answer: undefined }));
    const yesNo = createProvider(spec());
    const labels = createProvider(spec({ answer: { kind: "labels", labels: ["yes", "no"] } }));
    const reordered = createProvider(spec({ answer: { kind: "labels", labels: ["no", "yes"] } }));
    assert.deepEqual(yesNo.settings.answer, { kind: "yes-no" });
    assert.equal(free.settings.answer, undefined);
    const hashes = new Set([free, yesNo, labels, reordered].map(configHashOf));
    assert.equal(hashes.size, 4, "each constraint is a different registration");
  });
});
