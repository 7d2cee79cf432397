import assert from "node:assert/strict";
import { findPostgres, PostgresCluster } from "../helpers/postgres.js";
import { type Replica, type StandbyCosignCheck, standbyCosigner } from "./standbyCosigner.js";

describe("reliability: a standby's co-signing endpoint answers from the shared never-sign-twice record", function () {
  this.timeout(600_000);
  const binaries = findPostgres();
  let cluster: PostgresCluster | undefined;
  let check: StandbyCosignCheck;

  before(async function () {
    if ("missing" in binaries) {
      console.log(`      skipped: ${binaries.missing}`);
      this.skip();
    }
    cluster = await PostgresCluster.start(binaries);
    check = await standbyCosigner(cluster);
    console.table(check.asks);
  });
  after(async () => {
    await cluster?.stop();
  });

  it("the standby refuses answer B (409) after the leader signed A, and co-signs A", () => {
    assert.deepEqual(asksOf(check, "standby"), [
      { asked: "B", status: 409, signed: "A" },
      { asked: "A", status: 200, signed: "A" },
    ]);
  });

  it("after the leader is killed, the replica that took over does the same", () => {
    assert.ok(check.tookOver, "the standby never led");
    assert.deepEqual(asksOf(check, "new leader"), [
      { asked: "B", status: 409, signed: "A" },
      { asked: "A", status: 200, signed: "A" },
    ]);
  });

  it("signs one answer in all, the one the shared record holds, without running the model again", () => {
    assert.equal(check.answersSigned, 1, "answers signed over every reply");
    assert.deepEqual(check.recorded, [check.answerA], "the shared signed-answers record");
    assert.equal(check.modelCallsBeforeReorg, 1, "model runs over both replicas before the reorg");
  });

  it("after a reorg dropped the job's answer, refuses both answers though its own model now says B", () => {
    assert.equal(check.answerAfterReorg, "B", "the leading replica's own answer after the reorg");
    assert.equal(check.modelCalls, 2, "model runs in all");
    assert.deepEqual(asksOf(check, "new leader after the reorg"), [
      { asked: "B", status: 409, signed: undefined },
      { asked: "A", status: 409, signed: undefined },
    ]);
  });
});

/** What the replica in that role was asked and answered, in order. */
function asksOf(check: StandbyCosignCheck, replica: Replica) {
  return check.asks
    .filter((ask) => ask.replica === replica)
    .map(({ asked, status, signed }) => ({ asked, status, signed }));
}
