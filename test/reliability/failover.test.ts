import assert from "node:assert/strict";
import { findPostgres, PostgresCluster } from "../helpers/postgres.js";
import { type FailoverCheck, failover, killLeaderAt, type Replicas, startReplicas } from "./failover.js";

describe("reliability: two replicas on PostgreSQL, the leader dies, the standby finishes", function () {
  this.timeout(900_000);
  const binaries = findPostgres();
  let cluster: PostgresCluster | undefined;
  let replicas: Replicas | undefined;
  const checks: FailoverCheck[] = [];

  before(async function () {
    if ("missing" in binaries) {
      console.log(`      skipped: ${binaries.missing}`);
      this.skip();
    }
    cluster = await PostgresCluster.start(binaries);
    replicas = await startReplicas();
    checks.push(await killLeaderAt(replicas, cluster, "after-send", 6));
    checks.push(await failover(replicas, cluster, "kill", 8));
    checks.push(await failover(replicas, cluster, "database", 8));
    console.table(checks.map((check) => ({ ...check.report, takeoverMs: check.takeoverMs })));
  });
  after(async () => {
    await replicas?.stop();
    await cluster?.stop();
  });

  it("has one leader at a time, which stops (killed, or standing down when cut off from the database)", () => {
    for (const check of checks)
      assert.ok(check.leaderStopped, `${check.report.scenario}: leader did not stop`);
  });

  it("says standby, then leader, in /readyz and the metrics", () => {
    for (const check of checks.filter((c) => c.roles.length > 0))
      assert.deepEqual(
        [check.roles[0], check.roles[1]?.replace(/^\d+ /, "")],
        ["503 standby leader=0", "leader leader=1"],
        check.report.scenario,
      );
  });

  it("answers every request exactly once across the takeover", () => {
    for (const { report } of checks) {
      assert.equal(report.lost, 0, `${report.scenario}: ${report.lost} lost`);
      assert.equal(report.doubleAnswered, 0, `${report.scenario}: ${report.doubleAnswered} answered twice`);
      assert.equal(report.answeredOk, report.sent, `${report.scenario}: every answer Ok`);
    }
  });

  it("sends no fulfil twice, proves everything delivered, and ends with the shared tree equal to root()", () => {
    for (const check of checks) {
      assert.equal(check.revertedFulfils, 0, `${check.report.scenario}: reverted fulfils`);
      assert.equal(check.unproven, 0n, `${check.report.scenario}: results never proven`);
      assert.equal(check.nodeRoot, check.contractRoot, `${check.report.scenario}: shared tree root`);
    }
  });
});
