import assert from "node:assert/strict";
import type { ScenarioSize } from "./harness.js";
import { bombPeer, type HostilePeerCheck, RSS_BOUND_MIB, ssrfEndpoint } from "./hostilePeer.js";

const SIZE: ScenarioSize = { requests: 6, soak: false };

function assertEndedOnceRightAndUnprofitable(check: HostilePeerCheck): void {
  const { report } = check;
  console.log(
    `    peak RSS MiB ${JSON.stringify(check.peakRssMiB)}, latency ms ${JSON.stringify(check.latencyMs)},`,
    `penalties ${JSON.stringify(check.penaltiesBy)}, attacker's gain ${check.attackerGainWei} wei`,
  );
  assert.equal(report.lost, 0, `${report.lost} of ${report.sent} unanswered`);
  assert.equal(report.doubleAnswered, 0, "answered twice");
  assert.deepEqual(check.wrong, [], "wrong answers");
  assert.ok(check.attackerGainWei <= 0n, `the attacker gained ${check.attackerGainWei} wei`);
  for (const [name, peak] of Object.entries(check.peakRssMiB))
    assert.ok(peak < RSS_BOUND_MIB, `${name} peaked at ${peak} MiB`);
  assert.equal(check.honestLateOnOwn, 0, "an honest operator was late with its own request");
}

describe("reliability: hostile co-signing endpoints against daemons", function () {
  this.timeout(600_000);

  it("a gzip-bomb peer, asked for every answer, costs the honest nodes neither memory nor time", async () => {
    const check = await bombPeer(SIZE);
    assertEndedOnceRightAndUnprofitable(check);
    assert.ok(check.targetRequests > 0, "the honest nodes asked the bomb");
    assert.equal(check.report.answeredOk, SIZE.requests, "every request answered Ok, co-signed");
  });

  it("an endpoint at a loopback service is never called by a node that calls only public peers", async () => {
    const check = await ssrfEndpoint(SIZE);
    assertEndedOnceRightAndUnprofitable(check);
    assert.equal(check.targetConnections, 0, "the loopback service got a connection");
    assert.ok(check.refusals > 0, "the node said why it does not call that peer");
  });
});
