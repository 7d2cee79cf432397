import assert from "node:assert/strict";
import { formatGwei } from "viem";
import { type FeesCheck, feeReports, PHASES, runFees } from "./fees.js";

const GWEI = 10n ** 9n;

describe("reliability: fees at a real base fee, with a running daemon", function () {
  this.timeout(400_000);
  let check: FeesCheck;

  before(async () => {
    check = await runFees({ requests: 4, soak: false });
  });

  after(() => {
    if (!check) return;
    console.table(feeReports(check));
    console.table(
      check.phases.flatMap((phase) =>
        phase.margins.map((m) => ({
          phase: m.phase,
          results: m.results,
          "base fee gwei": formatGwei(m.baseFee),
          gasUsed: m.gasUsed,
          "cost gwei": formatGwei(m.cost),
          "earned gwei": formatGwei(m.earned),
          "margin gwei": formatGwei(m.earned - m.cost),
          "gas-only margin gwei": formatGwei(m.earned - m.modelFees - m.cost),
        })),
      ),
    );
  });

  for (const [index, phase] of PHASES.entries()) {
    it(`${phase.name}: SDK requests succeed, each answered once, charged within its escrow`, () => {
      const { report, failedRequests, mismatches, requestBaseFees } = at(index);
      assert.deepEqual(failedRequests, [], "SDK requests that reverted");
      assert.deepEqual(requestBaseFees, [phase.requestedAt], "the requests' blocks' base fee");
      assert.equal(report.lost, 0, `${report.lost} of ${report.sent} lost (log: ${check.log})`);
      assert.equal(report.doubleAnswered, 0, "answered twice");
      assert.equal(report.answeredOk, report.sent, "every answer Ok");
      assert.deepEqual(mismatches, [], "fee above escrow, or refund ≠ escrow − fee");
    });

    it(`${phase.name}: every fulfil pays its operator at least its gas`, () => {
      const { margins } = at(index);
      assert.ok(margins.length > 0, "no fulfil");
      for (const m of margins) {
        assert.equal(m.baseFee, phase.deliveredAt, `fulfil ${m.tx} mined at another base fee`);
        assert.ok(
          m.earned - m.modelFees >= m.cost,
          `fulfil ${m.tx}: gas charged ${m.earned - m.modelFees} < cost ${m.cost} (${m.gasUsed} gas at ${m.effectiveGasPrice})`,
        );
      }
    });
  }

  it("does not deliver at a loss: a request escrowed for 1 gwei waits at 500 gwei, then is refunded whole", () => {
    const u = check.unaffordable;
    assert.ok(u.waitLogged, "no 'waiting: escrow below the going gas price' for the request");
    assert.ok(u.unaffordableGauge >= 1, `sibyl_unaffordable_jobs ${u.unaffordableGauge}`);
    assert.equal(u.deliveries, 0, "delivered although its escrow does not pay the gas");
    assert.equal(u.refund, u.escrow, "RequestCancelled refund");
    assert.equal(u.balanceAfter, u.escrow, "refundTo's coordinator balance");
    assert.ok(u.escrow < 500n * GWEI * 300_000n, `escrow ${u.escrow} would pay at 500 gwei`);
    assert.ok(check.survived, "the daemon exited");
  });

  function at(index: number) {
    const phase = check.phases[index];
    if (phase === undefined) throw new Error(`phase ${index} did not run`);
    return phase;
  }
});
