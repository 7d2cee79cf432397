import assert from "node:assert/strict";
import { type CrashCheck, runCrashes } from "./crash.js";

describe("reliability: kill -9 at every pipeline step, then restart", function () {
  this.timeout(600_000);
  let checks: CrashCheck[];

  before(async () => {
    checks = await runCrashes({ requests: 6, soak: false });
    console.table(checks.map((check) => check.report));
  });

  it("reaches every crash point (the daemon really died there)", () => {
    for (const check of checks)
      assert.ok(check.crashed, `${check.report.scenario}: the daemon did not crash`);
  });

  it("answers every request exactly once after the restart", () => {
    for (const { report } of checks) {
      assert.equal(report.lost, 0, `${report.scenario}: ${report.lost} lost`);
      assert.equal(report.doubleAnswered, 0, `${report.scenario}: ${report.doubleAnswered} answered twice`);
      assert.equal(report.answeredOk, report.sent, `${report.scenario}: every answer Ok`);
    }
  });

  it("sends no fulfil twice, proves every delivered result, and ends with the node's tree equal to the contract's", () => {
    for (const check of checks) {
      assert.equal(check.unproven, 0n, `${check.report.scenario}: results never proven`);
      assert.equal(check.revertedFulfils, 0, `${check.report.scenario}: reverted fulfils`);
      assert.equal(check.nodeRoot, check.contractRoot, `${check.report.scenario}: node tree root`);
    }
  });
});
