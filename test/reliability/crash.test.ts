import assert from "node:assert/strict";
import { findPostgres, PostgresCluster } from "../helpers/postgres.js";
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

describe("reliability: kill -9 with the state in PostgreSQL, then restart", function () {
  this.timeout(600_000);
  const binaries = findPostgres();
  let cluster: PostgresCluster | undefined;
  let checks: CrashCheck[];

  before(async function () {
    if ("missing" in binaries) {
      console.log(`      skipped: ${binaries.missing}`);
      this.skip();
    }
    cluster = await PostgresCluster.start(binaries);
    // The fast variant: a kill before and after a send; `npm run soak` ("postgres") takes every point.
    checks = await runCrashes(
      { requests: 6, soak: false },
      { postgres: cluster, points: ["after-answer", "after-send"] },
    );
    console.table(checks.map((check) => check.report));
  });
  after(async () => {
    await cluster?.stop();
  });

  it("crashes there, then answers every request exactly once, sends no fulfil twice, and ends with tree = root()", () => {
    for (const check of checks) {
      const { report } = check;
      assert.ok(check.crashed, `${report.scenario}: the daemon did not crash`);
      assert.equal(report.lost, 0, `${report.scenario}: ${report.lost} lost`);
      assert.equal(report.doubleAnswered, 0, `${report.scenario}: ${report.doubleAnswered} answered twice`);
      assert.equal(check.revertedFulfils, 0, `${report.scenario}: reverted fulfils`);
      assert.equal(check.unproven, 0n, `${report.scenario}: results never proven`);
      assert.equal(check.nodeRoot, check.contractRoot, `${report.scenario}: node tree root`);
    }
  });
});
