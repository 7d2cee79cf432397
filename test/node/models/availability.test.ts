import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, it } from "mocha";
import type { Hex } from "viem";
import { ModelAvailability } from "../../../src/node/models/availability.js";
import { createLogger } from "../../../src/node/observe/logger.js";
import { createMetrics } from "../../../src/node/observe/metrics.js";
import { modelIdFromName } from "../../../src/shared/encoding.js";
import { sampleValue } from "../observe/prometheus.js";

const GPT = modelIdFromName("gpt-x");
const LID = modelIdFromName("language-id");

function setup() {
  let now = 1_000_000;
  let output = "";
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      output += String(chunk);
      callback();
    },
  });
  const logger = createLogger({ level: "debug", format: "json", destination });
  const metrics = createMetrics();
  const names = new Map<Hex, string>([
    [GPT, "gpt-x"],
    [LID, "language-id"],
  ]);
  const availability = new ModelAvailability(
    { logger, metrics },
    names,
    { probeAfterMs: 30_000, maxProbeAfterMs: 600_000 },
    () => now,
  );
  return {
    availability,
    metrics,
    advance: (ms: number) => {
      now += ms;
    },
    lines: () =>
      output
        .trim()
        .split("\n")
        .filter(Boolean)
        .map(
          (line) =>
            JSON.parse(line) as {
              level: number;
              msg: string;
              model?: string;
              probeInMs?: number;
              reason?: string;
              err?: { stack?: string };
            },
        ),
  };
}

describe("ModelAvailability", () => {
  it("serves every model until an operator fault stops one, then reports it by name and category", async () => {
    const { availability, metrics, lines } = setup();
    assert.deepEqual(availability.serving(), [GPT, LID]);
    assert.deepEqual(availability.check(), { ok: true, detail: "serving 2 models" });

    availability.failed(
      GPT,
      1n,
      "authentication failed",
      new Error("401 Incorrect API key sk-live-abcdef123456"),
      false,
    );
    assert.deepEqual(availability.serving(), [LID]);
    assert.deepEqual(availability.check(), { ok: false, detail: "model gpt-x: authentication failed" });
    const text = await metrics.registry.metrics();
    assert.equal(sampleValue(text, 'sibyl_model_unavailable{model="gpt-x"}'), 1);
    assert.equal(sampleValue(text, 'sibyl_model_unavailable{model="language-id"}'), 0);
    assert.equal(
      sampleValue(text, 'sibyl_operator_faults_total{model="gpt-x",fault="authentication failed"}'),
      1,
    );
    const warnings = lines().filter((line) => line.level >= 40);
    assert.equal(warnings.length, 1, "one line above info");
    assert.equal(warnings[0]?.level, 40, "a warning: the node goes on serving its other models");
    assert.match(warnings[0]?.msg ?? "", /^model gpt-x stopped: authentication failed/);
    assert.match(warnings[0]?.reason ?? "", /^401 Incorrect API key/, "the provider's words, on one line");
    assert.ok(!JSON.stringify(lines()).includes("abcdef123456"), "the key in the server's text is redacted");
  });

  it("probes after the pause, one call at a time, doubling the pause up to the cap", () => {
    const { availability, advance, lines } = setup();
    availability.failed(GPT, 1n, "server unreachable", new Error("ECONNREFUSED"), false);
    assert.deepEqual(availability.dueProbes(), []);
    advance(29_999);
    assert.deepEqual(availability.dueProbes(), []);
    advance(1);
    assert.deepEqual(availability.dueProbes(), [GPT]);
    availability.probeStarted(GPT);
    assert.deepEqual(availability.dueProbes(), [], "one probe in flight at a time");

    const pauses: number[] = [];
    for (let probe = 0; probe < 6; probe++) {
      availability.failed(GPT, 1n, "server unreachable", new Error("ECONNREFUSED"), true);
      pauses.push(lines().at(-1)?.probeInMs as number);
      advance(pauses.at(-1) as number);
      assert.deepEqual(availability.dueProbes(), [GPT]);
      availability.probeStarted(GPT);
    }
    assert.deepEqual(pauses, [60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
    assert.equal(lines().filter((line) => line.level >= 40).length, 1, "failed probes log at debug only");
  });

  it("logs an outage once when it starts and once when it ends; stacks only at debug", () => {
    const { availability, advance, lines } = setup();
    // What the OpenAI SDK throws when the server is down: a message over many lines, a long stack.
    const down = () => {
      const cause = new Error("Connection error.\n    at OpenAI.makeRequest (openai/core.js:1:1)");
      return new Error("connect ECONNREFUSED 127.0.0.1:8000", { cause });
    };
    availability.failed(GPT, 1n, "server unreachable", down(), false);
    // An hour of failed probes, then the server is back.
    for (let elapsed = 0; elapsed < 3_600_000; ) {
      const pause = availability.dueProbes().length === 0 ? 600_000 : 0;
      advance(pause);
      elapsed += pause;
      if (availability.dueProbes().length === 0) continue;
      availability.probeStarted(GPT);
      availability.failed(GPT, 1n, "server unreachable", down(), true);
    }
    advance(600_000);
    availability.probeStarted(GPT);
    availability.succeeded(GPT, 2n);

    const all = lines();
    const shown = all.filter((line) => line.level >= 30);
    assert.deepEqual(
      shown.map((line) => [line.level, line.msg.split(";")[0]]),
      [
        [40, "model gpt-x stopped: server unreachable"],
        [30, "model gpt-x resumed"],
      ],
    );
    for (const line of shown) {
      assert.equal(line.err, undefined, `no error object (stack) at ${line.level}: ${line.msg}`);
      assert.ok(!JSON.stringify(line).includes("\\n"), `one line: ${JSON.stringify(line)}`);
    }
    assert.equal(shown[0]?.reason, "connect ECONNREFUSED 127.0.0.1:8000");
    const probes = all.filter((line) => line.msg === "model gpt-x still stopped");
    assert.ok(probes.length >= 5, `${probes.length} failed probes logged at debug`);
    assert.ok(
      all.filter((line) => line.level === 20).every((line) => line.err?.stack),
      "debug keeps the stacks",
    );
  });

  it("a probe failing with another fault is a change of state: one warning, no stack", () => {
    const { availability, advance, lines } = setup();
    availability.failed(GPT, 1n, "server unreachable", new Error("ECONNREFUSED"), false);
    advance(30_000);
    availability.probeStarted(GPT);
    availability.failed(GPT, 1n, "authentication failed", new Error("401 Incorrect API key"), true);
    advance(60_000);
    availability.probeStarted(GPT);
    availability.failed(GPT, 1n, "authentication failed", new Error("401 Incorrect API key"), true);
    const warnings = lines().filter((line) => line.level >= 40);
    assert.deepEqual(
      warnings.map((line) => line.msg.split(";")[0]),
      ["model gpt-x stopped: server unreachable", "model gpt-x still stopped, now: authentication failed"],
    );
    assert.ok(warnings.every((line) => line.err === undefined));
    assert.equal(availability.check().detail, "model gpt-x: authentication failed");
  });

  it("a call that was already running when the model stopped does not lengthen the pause", () => {
    const { availability, advance } = setup();
    availability.failed(GPT, 1n, "quota exhausted", new Error("429"), false);
    availability.failed(GPT, 1n, "quota exhausted", new Error("429"), false);
    advance(30_000);
    assert.deepEqual(availability.dueProbes(), [GPT]);
  });

  it("resumes on the first call without an operator fault", async () => {
    const { availability, metrics, advance, lines } = setup();
    availability.failed(GPT, 1n, "quota exhausted", new Error("429 insufficient_quota"), false);
    advance(30_000);
    availability.probeStarted(GPT);
    availability.succeeded(GPT, 2n);
    availability.probeEnded(GPT);
    assert.deepEqual(availability.serving(), [GPT, LID]);
    assert.equal(availability.check().ok, true);
    assert.equal(sampleValue(await metrics.registry.metrics(), 'sibyl_model_unavailable{model="gpt-x"}'), 0);
    assert.equal(lines().at(-1)?.msg, "model gpt-x resumed");
  });

  it("a probe that ends without a verdict (shutdown, store error) lets the next one start", () => {
    const { availability, advance } = setup();
    availability.failed(GPT, 1n, "timed out", new Error("no answer"), false);
    advance(30_000);
    availability.probeStarted(GPT);
    availability.probeEnded(GPT);
    assert.deepEqual(availability.dueProbes(), [GPT]);
  });

  it("a probe passes over the requests that failed since the stop", () => {
    const { availability } = setup();
    availability.failed(GPT, 1n, "timed out", new Error("no answer"), false);
    availability.failed(GPT, 2n, "timed out", new Error("no answer"), false);
    assert.deepEqual(availability.probeSkips(GPT), [1n, 2n]);
    assert.deepEqual(availability.probeSkips(LID), []);
  });

  it("answers a request that keeps failing alone while the model answers others, but never a wrong key", () => {
    const { availability, advance } = setup();
    const poison = 7n;
    const verdicts: string[] = [];
    for (let round = 0; round < 3; round++) {
      verdicts.push(availability.failed(GPT, poison, "timed out", new Error("no answer"), false));
      advance(30_000);
      // Another request, as the probe, is answered: the model works.
      availability.probeStarted(GPT);
      availability.succeeded(GPT, 100n + BigInt(round));
      availability.probeEnded(GPT);
    }
    assert.deepEqual(verdicts, ["stopped", "stopped", "isolated"]);
    assert.equal(availability.check().ok, true, "the isolated request stops nothing");

    // Every request failing, nothing answered in between: never isolated, however often.
    for (let round = 0; round < 6; round++)
      assert.equal(availability.failed(GPT, 8n, "authentication failed", new Error("401"), true), "stopped");
  });
});
