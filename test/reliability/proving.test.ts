import assert from "node:assert/strict";
import { type Devnet, startDevnet } from "../helpers/devnet.js";
import { LANGUAGE_ID } from "./chainFaults.js";
import type { ScenarioReport, ScenarioSize } from "./harness.js";
import {
  type ProvingCheck,
  proofByAnotherOperator,
  queueFullUnderBurst,
  reorgBetweenDeliveryAndProof,
  takeoverOfADownOperator,
} from "./proving.js";

const SIZE: ScenarioSize = { requests: 12, soak: false };

describe("reliability: results delivered at once, proven later", function () {
  this.timeout(600_000);
  let devnet: Devnet;
  const reports: ScenarioReport[] = [];

  before(async () => {
    devnet = await startDevnet([LANGUAGE_ID]);
  });

  after(async () => {
    if (reports.length > 0) console.table(reports);
    await devnet?.stop();
  });

  it("another operator proves what one delivered and never proved", async () => {
    const check = await proofByAnotherOperator(devnet, SIZE);
    reports.push(check.report);
    assertComplete(check);
    assert.ok(check.lazyDelivered > 0, "the lazy operator delivered nothing");
    assert.equal(check.lazyProofs, 0, "the lazy operator proved");
    assert.ok(check.provenForLazyBy.length > 0, "no proof covers the lazy operator's results");
    assert.ok(
      check.provenForLazyBy.every((prover) => prover !== check.lazyAddress),
      `proven by ${check.provenForLazyBy.join(", ")}`,
    );
  });

  it("takes over a down operator's requests once their windows pass, and delivers them", async () => {
    const check = await takeoverOfADownOperator(devnet, SIZE);
    reports.push(check.report);
    assertComplete(check);
    assert.ok(check.assignedToDown > 0, "nothing was assigned to the down operator");
    assert.equal(check.reassigned, check.assignedToDown, "every such request taken over once");
    assert.equal(check.deliveredByDown, 0, "the down operator delivered");
  });

  it("re-proves after a reorg removes a proof, and re-delivers after one removes deliveries", async () => {
    const check = await reorgBetweenDeliveryAndProof(devnet, SIZE);
    reports.push(check.report);
    assert.ok(check.proofRemoved, "the revert did not remove the proof");
    assertComplete(check);
  });

  it("stops delivering while its queue of unproven results is full, and loses nothing", async () => {
    const check = await queueFullUnderBurst(devnet, { requests: 40, soak: false }, 8);
    reports.push(check.report);
    assertComplete(check);
    assert.ok(check.mostPending <= 8, `${check.mostPending} unproven at once`);
    assert.ok(check.queueFullLogged, "the daemon never found its queue full");
  });
});

function assertComplete(check: ProvingCheck): void {
  const { report } = check;
  assert.equal(report.lost, 0, `${report.scenario}: ${report.lost} lost`);
  assert.equal(report.doubleAnswered, 0, `${report.scenario}: answered twice`);
  assert.equal(report.answeredOk, report.sent, `${report.scenario}: every answer Ok`);
  assert.equal(check.unproven, 0n, `${report.scenario}: results never proven`);
  assert.deepEqual(check.rootMismatches, [], `${report.scenario}: daemons out of step`);
}
