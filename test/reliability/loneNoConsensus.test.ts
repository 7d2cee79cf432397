import assert from "node:assert/strict";
import { loneNoConsensus, loneNoConsensusMisses } from "./loneNoConsensus.js";

describe("reliability: a betting operator drawn for its market's resolution", function () {
  this.timeout(600_000);

  it("cannot end it NoConsensus at once, cannot void the market, and loses its bet", async () => {
    const check = await loneNoConsensus();
    console.log("    lone NoConsensus:", { ...check, report: undefined });
    assert.equal(check.report.lost, 0, "a request never ended");
    assert.equal(check.report.doubleAnswered, 0, "a request answered twice");
    assert.deepEqual(loneNoConsensusMisses(check), []);
  });
});
