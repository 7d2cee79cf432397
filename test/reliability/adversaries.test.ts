import assert from "node:assert/strict";
import { type AdversariesCheck, runAdversaries } from "./adversaries.js";

describe("reliability: adversaries among the parties Sibyl serves", function () {
  this.timeout(600_000);
  let check: AdversariesCheck;

  before(async () => {
    check = await runAdversaries({ requests: 24, soak: false });
    const { poison, flagFlip, frontRunning } = check;
    console.table([poison.report, flagFlip.report, frontRunning.report]);
    console.log("    poison callbacks:", { ...poison, report: undefined });
    console.log("    flag flipped:", { ...flagFlip, report: undefined });
    console.log("    front-running:", { ...frontRunning, report: undefined });
  });

  for (const scenario of ["poison", "flagFlip", "frontRunning"] as const) {
    it(`${scenario}: answers every request exactly once`, () => {
      const { report } = check[scenario];
      assert.equal(report.lost, 0, `${report.lost} of ${report.sent} lost`);
      assert.equal(report.doubleAnswered, 0, `${report.doubleAnswered} answered twice`);
      assert.equal(report.answeredOk, report.sent, "every answer Ok");
    });
  }

  it("poison callbacks: each is recorded as failed, honest requests answered before their deadline, no batch rejected or reverted", () => {
    const { poison } = check;
    assert.equal(poison.poisonNotFailed, 0, "poison callbacks not recorded as Failed");
    assert.equal(poison.honestAfterPoisonDeadline, 0, "honest requests answered after the poison deadline");
    assert.equal(poison.rejectedBatches, 0, "batches the coordinator rejected");
    assert.equal(poison.revertedFulfils, 0, "fulfils reverted onchain");
    assert.ok(poison.largestBatchGas <= 1n << 24n, `a fulfil used ${poison.largestBatchGas} gas`);
  });

  it("flag flipped under a fulfil: the fulfil still lands and the callback is recorded as failed", () => {
    const { flagFlip } = check;
    assert.equal(flagFlip.flipped, flagFlip.report.sent - 4, "every flagged consumer was flipped");
    assert.equal(flagFlip.flipsAfterFulfil, 0, "flips mined after the fulfil they targeted");
    assert.equal(flagFlip.revertedFulfils, 0, "fulfils reverted onchain");
    assert.equal(flagFlip.notFailed, 0, "flipped callbacks not recorded as Failed");
  });

  it("front-running operator: every copy reverts, nothing is stolen, no honest fulfil reverts", () => {
    const { frontRunning: run } = check;
    assert.deepEqual(run.copyFailures, [], "copies the attacker could not send");
    assert.ok(
      run.copies > 0 && run.copies >= run.honestFulfils,
      `${run.copies} copies of ${run.honestFulfils}`,
    );
    assert.equal(run.copiesNotFirst, 0, "copies mined after the fulfil they copied");
    const reasons = Object.keys(run.copyOutcomes).filter(
      (reason) => reason !== "NotAssignedOperator" && reason !== "InvalidProof",
    );
    assert.deepEqual(reasons, [], `copy outcomes ${JSON.stringify(run.copyOutcomes)}`);
    assert.equal(run.honestReverted, 0, "honest fulfils reverted");
    assert.equal(run.stolen, 0, "requests of copied fulfils delivered by another operator");
    assert.ok(run.honestFees > 0n, "the honest operator delivered nothing");
    assert.equal(run.honestCredited, run.honestFees, "the honest operator is credited its batches' fees");
    assert.equal(
      run.attackerCredited,
      run.attackerFees,
      "the attacker is credited only its own batches' fees",
    );
  });
});
