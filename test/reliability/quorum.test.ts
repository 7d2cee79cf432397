import assert from "node:assert/strict";
import type { ScenarioSize } from "./harness.js";
import {
  crashAndDroppedPeers,
  equivocation,
  honestQuorum,
  type QuorumCheck,
  type QuorumNetwork,
  startQuorumNetwork,
  tamperedOperator,
} from "./quorum.js";

const SIZE: ScenarioSize = { requests: 12, soak: false };

function assertEveryRequestEndedOnceAndRight(check: QuorumCheck): void {
  const { report, wrong, logs } = check;
  const where = `${report.scenario} (daemon logs: ${logs.join(", ")})`;
  assert.equal(report.lost, 0, `${where}: ${report.lost} of ${report.sent} unanswered`);
  assert.equal(report.doubleAnswered, 0, `${where}: answered twice`);
  assert.deepEqual(wrong, [], `${where}: wrong answers`);
}

describe("reliability: a network of operators, quorum 2", function () {
  this.timeout(900_000);
  let network: QuorumNetwork;

  before(async () => {
    network = await startQuorumNetwork();
  });

  after(async () => {
    await network?.stop();
  });

  it("answers every request of a reproducible model once, each co-signed by another operator", async () => {
    const check = await honestQuorum(network, SIZE);
    assertEveryRequestEndedOnceAndRight(check);
    assert.equal(
      check.statuses[0],
      SIZE.requests,
      "every answer Ok: the coordinator checked each co-signature",
    );
    assert.deepEqual(check.penaltiesBy, {}, "nobody was late");
  });

  it("lets none of a tampered operator's answers through: others take its requests over, it pays", async () => {
    // 16 requests over 3 operators: the tampered one is assigned some but for a (2/3)^16 chance.
    const check = await tamperedOperator(network, { ...SIZE, requests: 16 });
    console.log("    assigned:", check.assignedTo, "penalties:", check.penaltiesBy);
    assertEveryRequestEndedOnceAndRight(check);
    assert.equal(check.deliveredByCulprit, 0, "never delivered by the tampered operator");
    const assigned = check.assignedTo["op-tampered"] ?? 0;
    assert.ok(assigned > 0, "some requests were assigned to the tampered operator");
    assert.ok((check.penaltiesBy["op-tampered"] ?? 0) >= assigned, "a liveness penalty per request it held");
    assert.deepEqual(Object.keys(check.penaltiesBy), ["op-tampered"], "no honest operator was late");
    assert.equal(check.culpritStakeLost, check.culpritCharged, "paid from its stake");
  });

  it("slashes an operator that signs two answers to one request, reported by an honest node", async () => {
    const check = await equivocation(network, SIZE);
    console.log("    assigned:", check.assignedTo, "slashes:", check.slashes.length);
    assertEveryRequestEndedOnceAndRight(check);
    assert.ok((check.assignedTo.equivocator ?? 0) > 0, "some requests were assigned to the equivocator");
    assert.ok(check.slashes.length > 0, "the equivocator was slashed");
    for (const slash of check.slashes)
      assert.ok(
        ["op-a", "op-b"].includes(slash.reporter),
        `reported by an honest node, not ${slash.reporter}`,
      );
    const first = check.firstSlashOfStake;
    assert.ok(first !== undefined);
    assert.equal(first.amount, first.stake / 2n, "a report takes half the stake it finds");
    assert.equal(check.culpritActive, false, "out of the active set");
    assert.equal(check.culpritStakeLost, check.culpritCharged, "its stake paid every report and penalty");
  });
});

describe("reliability: quorum 2 with a crashed operator and peer traffic dropped", function () {
  this.timeout(600_000);

  it("ends every request once, never wrong: late, or NoConsensus where no co-signer can be reached", async () => {
    const check = await crashAndDroppedPeers(SIZE);
    console.log(
      "    statuses:",
      check.statuses,
      "assigned:",
      check.assignedTo,
      "penalties:",
      check.penaltiesBy,
    );
    assertEveryRequestEndedOnceAndRight(check);
    // op-b's own requests had nobody to co-sign them: op-a unreachable, the third one down.
    if ((check.assignedTo["op-b"] ?? 0) > 0)
      assert.ok((check.statuses[5] ?? 0) > 0, "some ended NoConsensus");
    assert.ok((check.assignedTo["op-crashed"] ?? 0) > 0, "requests were assigned to the crashed operator");
    assert.equal(
      check.penaltiesBy["op-crashed"] ?? 0,
      check.assignedTo["op-crashed"] ?? 0,
      "the crashed operator paid for each request it held: others served them",
    );
    assert.equal(check.culpritStakeLost, check.culpritCharged, "paid from its stake");
  });
});
