import assert from "node:assert/strict";
import { type ModelFaultReport, runModelFaults } from "./modelFaults.js";

/**
 * The status each fault kind deserves, and the fixed reason committed for it. The operator's faults
 * (a server failing past its retries, a spent quota) are never answered while they last: the node
 * stops the model, naming the fault, and answers Ok once the server is mended. Transient faults
 * recover within their retries: Ok with the model's answer, no reason.
 */
const EXPECTED: Record<string, { status: string; reason?: string; operatorFault?: string }> = {
  "fault-429": { status: "Ok", operatorFault: "rate limited" },
  "fault-quota": { status: "Ok", operatorFault: "quota exhausted" },
  "fault-500": { status: "Ok", operatorFault: "server error" },
  "fault-400": { status: "InvalidInput", reason: "invalid input: rejected by the model server" },
  "fault-hang": { status: "Ok", operatorFault: "timed out" },
  "fault-reset": { status: "Ok", operatorFault: "server unreachable" },
  "fault-malformed": { status: "Ok", operatorFault: "server error" },
  "fault-empty": { status: "ModelError", reason: "model returned no answer" },
  "fault-null": { status: "ModelError", reason: "model returned no answer" },
  "fault-oversize": { status: "OutputTooLarge", reason: "output too large" },
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
      reports.map(
        ({
          model,
          expected,
          operatorFault,
          answeredWhileBroken,
          modelCalls,
          expectedCalls,
          late,
          reason,
        }) => ({
          model,
          expected,
          operatorFault,
          answeredWhileBroken,
          modelCalls,
          expectedCalls,
          late,
          reason,
        }),
      ),
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

  it("answers with the status each fault deserves: request faults an error, the others Ok in the end", () => {
    assert.deepEqual(reports.map((r) => r.model).sort(), Object.keys(EXPECTED).sort());
    for (const r of reports) {
      const { status } = EXPECTED[r.model] as { status: string };
      assert.equal(r.statuses, `${status}×${r.sent}`, r.model);
      assert.equal(r.wrongStatus, 0, `${r.model}: Ok answers must be the model's own text`);
      if (status === "Ok") assert.equal(r.answeredOk, r.sent, r.model);
      else assert.equal(r.answeredError, r.sent, r.model);
    }
  });

  it("answers none of the operator's faults while they last, and names each in /readyz", () => {
    for (const r of reports) {
      const { operatorFault } = EXPECTED[r.model] as { operatorFault?: string };
      assert.equal(r.operatorFault, operatorFault ?? "", r.model);
      assert.equal(r.answeredWhileBroken, 0, `${r.model}: answered while the operator's fault lasted`);
    }
  });

  it("retries exactly what is retryable: every attempt reaches the server once, and no more", () => {
    for (const r of reports) {
      // A stopped model's probes come on top of the attempts that stopped it.
      if (EXPECTED[r.model]?.operatorFault) assert.ok(r.modelCalls >= r.expectedCalls, r.model);
      else assert.equal(r.modelCalls, r.expectedCalls, r.model);
    }
  });

  it("commits a fixed reason that names the fault and nothing else", () => {
    for (const r of reports) {
      assert.equal(r.badReason, 0, `${r.model}: reasons over 200 bytes or empty`);
      const { reason } = EXPECTED[r.model] as { reason?: string };
      assert.equal(r.reason, reason ?? "", r.model);
    }
  });
});
