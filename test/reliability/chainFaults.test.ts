import assert from "node:assert/strict";
import { type Devnet, startDevnet } from "../helpers/devnet.js";
import { type DaemonCheck, deepReorg, LANGUAGE_ID, rpcOutage, stuckTransaction } from "./chainFaults.js";
import type { ScenarioReport, ScenarioSize } from "./harness.js";

const SIZE: ScenarioSize = { requests: 20, soak: false };

describe("reliability: the chain fails under a running daemon", function () {
  this.timeout(300_000);
  let devnet: Devnet;
  const reports: ScenarioReport[] = [];

  before(async () => {
    devnet = await startDevnet([LANGUAGE_ID]);
  });

  after(async () => {
    if (reports.length > 0) console.table(reports);
    await devnet?.stop();
  });

  it("keeps running while its RPC is gone, then answers every request once", async () => {
    const check = await rpcOutage(devnet, SIZE);
    reports.push(check.report);
    assertEachAnsweredOnce(check);
    assert.ok(check.survived, "the daemon exited during the outage");
    assert.ok(check.errorsDuringOutage > 0, "the daemon logged no error while its RPC was down");
  });

  it("rewinds a reorg deeper than its confirmations and answers only the final chain's requests", async () => {
    const check = await deepReorg(devnet, SIZE);
    reports.push(check.report);
    assert.ok(check.depth > 2, `reorg depth ${check.depth}`);
    assert.ok(check.answeredOnLosingFork > 0, "nothing was answered on the losing fork");
    assert.ok(check.reorgLogged, "no 'chain reorganised' in the log");
    assert.deepEqual(check.wrongAnswers, [], "answers computed for another input");
    assertEachAnsweredOnce(check);
    assert.ok(check.survived, "the daemon exited");
  });

  it("replaces a fulfil stuck in the mempool with a higher fee, and exactly one lands", async () => {
    const check = await stuckTransaction(devnet, SIZE);
    reports.push(check.report);
    assertEachAnsweredOnce(check);
    assert.ok(check.replacements > 0, "no replacement logged");
    assert.equal(check.minedForNonce, 1, "transactions mined for the stuck nonce");
    assert.ok(check.sameNonce, "the mined transaction has another nonce");
    if (check.minedIsReplacement) {
      assert.ok(
        (check.minedMaxFeePerGas ?? 0n) > check.firstMaxFeePerGas,
        `mined maxFeePerGas ${check.minedMaxFeePerGas} ≤ first ${check.firstMaxFeePerGas}`,
      );
    } else {
      console.log("    the original transaction was mined, not its replacement");
    }
    assert.ok(check.survived, "the daemon exited");
  });
});

function assertEachAnsweredOnce({ report, log }: DaemonCheck): void {
  const where = `${report.scenario} (daemon log: ${log})`;
  assert.equal(report.lost, 0, `${where}: ${report.lost} of ${report.sent} lost`);
  assert.equal(report.doubleAnswered, 0, `${where}: ${report.doubleAnswered} answered twice`);
  assert.equal(report.answeredOk, report.sent, `${where}: every answer Ok`);
}
