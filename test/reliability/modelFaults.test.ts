import assert from "node:assert/strict";
import { type ModelFaultReport, runModelFaults } from "./modelFaults.js";

/**
 * The status each fault kind deserves, and what its committed reason must say so an operator can
 * tell the faults apart. Transient faults recover: Ok with the model's answer, no reason.
 */
const EXPECTED: Record<string, { status: string; reason?: RegExp }> = {
  "fault-429": { status: "ModelError", reason: /^model error after 3 attempts: 429 / },
  "fault-quota": { status: "ModelError", reason: /^429 / },
  "fault-500": { status: "ModelError", reason: /^model error after 3 attempts: 500 / },
  "fault-400": { status: "ModelError", reason: /^400 / },
  "fault-hang": {
    status: "ModelTimeout",
    reason: /^model timed out after 2 attempts: no answer within 1500 ms$/,
  },
  "fault-reset": { status: "ModelError", reason: /^model error after 3 attempts: connection failed/ },
  "fault-malformed": { status: "ModelError", reason: /^model error after 3 attempts: malformed response/ },
  "fault-empty": { status: "ModelError", reason: /^model returned no choices$/ },
  "fault-null": { status: "ModelError", reason: /^model returned no text$/ },
  "fault-oversize": { status: "OutputTooLarge", reason: /^output is 2\d{3} bytes, over the limit of 1024$/ },
  "slow-ok": { status: "Ok" },
  "flaky-429": { status: "Ok" },
  "flaky-503": { status: "Ok" },
  "flaky-hang": { status: "Ok" },
  "flaky-reset": { status: "Ok" },
  "flaky-malformed": { status: "Ok" },
};

describe("reliability: model server faults (429, 5xx, hangs, resets, bad bodies, oversize)", function () {
  this.timeout(300_000);
  let reports: ModelFaultReport[];

  before(async () => {
    reports = await runModelFaults({ requests: 4, soak: false });
    console.table(
      reports.map(({ model, injected, sent, answeredOk, answeredError, lost, doubleAnswered, statuses }) => ({
        model,
        injected,
        sent,
        answeredOk,
        answeredError,
        lost,
        doubleAnswered,
        statuses,
      })),
    );
    console.table(
      reports.map(({ model, expected, modelCalls, expectedCalls, late, durationMs, reason }) => ({
        model,
        expected,
        modelCalls,
        expectedCalls,
        late,
        durationMs,
        reason,
      })),
    );
  });

  it("answers every request exactly once, before its deadline", () => {
    for (const r of reports) {
      assert.equal(r.sent, 4, r.model);
      assert.equal(r.lost, 0, `${r.model}: ${r.lost} lost`);
      assert.equal(r.doubleAnswered, 0, `${r.model}: ${r.doubleAnswered} answered twice`);
      assert.equal(r.late, 0, `${r.model}: ${r.late} answered after the deadline`);
    }
  });

  it("answers with the status each fault deserves: permanent faults an error, transient ones Ok", () => {
    assert.deepEqual(reports.map((r) => r.model).sort(), Object.keys(EXPECTED).sort());
    for (const r of reports) {
      const { status } = EXPECTED[r.model] as { status: string };
      assert.equal(r.statuses, `${status}×${r.sent}`, r.model);
      assert.equal(r.wrongStatus, 0, `${r.model}: Ok answers must be the model's own text`);
      if (status === "Ok") assert.equal(r.answeredOk, r.sent, r.model);
      else assert.equal(r.answeredError, r.sent, r.model);
    }
  });

  it("retries exactly what is retryable: every attempt reaches the server once, and no more", () => {
    for (const r of reports) assert.equal(r.modelCalls, r.expectedCalls, r.model);
  });

  it("commits a short reason that names the fault", () => {
    for (const r of reports) {
      assert.equal(r.badReason, 0, `${r.model}: reasons over 200 bytes or empty`);
      const { reason } = EXPECTED[r.model] as { reason?: RegExp };
      if (reason) assert.match(r.reason, reason, r.model);
      else assert.equal(r.reason, "", `${r.model} has no error answers`);
    }
  });
});
