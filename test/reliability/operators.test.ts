import assert from "node:assert/strict";
import { type Devnet, startDevnet } from "../helpers/devnet.js";
import { LANGUAGE_ID } from "./chainFaults.js";
import type { ScenarioSize } from "./harness.js";
import { competeThenLoseDatabase, type OperatorsCheck } from "./operators.js";

const SIZE: ScenarioSize = { requests: 24, soak: false };

describe("reliability: three operators race, then one loses its database", function () {
  this.timeout(600_000);
  let devnet: Devnet;
  let competing: OperatorsCheck;
  let lostDatabase: OperatorsCheck;

  before(async () => {
    devnet = await startDevnet([LANGUAGE_ID]);
    [competing, lostDatabase] = await competeThenLoseDatabase(devnet, SIZE);
    console.table([competing, lostDatabase].map((check) => check.report));
    for (const check of [competing, lostDatabase])
      console.log(`    ${check.report.scenario}:`, {
        batches: check.batchesBy,
        reverted: check.revertedBy,
        errors: check.errorsBy,
      });
  });

  after(async () => {
    await devnet?.stop();
  });

  for (const scenario of ["competing operators", "lost database"] as const) {
    describe(scenario, () => {
      const check = () => (scenario === "competing operators" ? competing : lostDatabase);

      it("answers every request exactly once", () => {
        const { report, logs } = check();
        const where = `${scenario} (daemon logs: ${logs.join(", ")})`;
        assert.equal(report.lost, 0, `${where}: ${report.lost} of ${report.sent} lost`);
        assert.equal(report.doubleAnswered, 0, `${where}: ${report.doubleAnswered} answered twice`);
        assert.equal(report.answeredOk, report.sent, `${where}: every answer Ok`);
      });

      it("keeps every daemon running and in step with the chain, with no nonce stuck", () => {
        const { exited, rootMismatches, unconfirmed, unfinishedBatches, stuckNonces, logs } = check();
        assert.deepEqual(exited, [], "daemons that exited");
        assert.deepEqual(rootMismatches, [], "daemons whose tree is not the contract's");
        assert.deepEqual(unconfirmed, [], "requests a daemon's store does not have as confirmed");
        assert.deepEqual(unfinishedBatches, [], `batches left in flight (daemon logs: ${logs.join(", ")})`);
        assert.deepEqual(stuckNonces, [], "operators with a transaction stuck behind their nonce");
      });
    });
  }

  it("shares the work: more than one operator lands batches", () => {
    const landed = Object.entries(competing.batchesBy).filter(([, batches]) => batches > 0);
    assert.ok(landed.length > 1, `only ${landed.map(([name]) => name).join(", ")} landed batches`);
  });
});
