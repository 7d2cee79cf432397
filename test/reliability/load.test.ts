import assert from "node:assert/strict";
import { type LoadCheck, runLoad } from "./load.js";

describe("reliability: a burst across models against one node", function () {
  this.timeout(600_000);
  let check: LoadCheck;

  before(async () => {
    check = await runLoad({ requests: 120, soak: false });
    console.table([{ ...check.report, ...check.latencyMs, peakRssMiB: check.peakRssMiB.join(" / ") }]);
  });

  it("answers every request exactly once", () => {
    assert.equal(check.report.lost, 0);
    assert.equal(check.report.doubleAnswered, 0);
    assert.equal(check.report.answeredOk, check.report.sent);
  });

  it("measures every request's latency and samples memory in both bursts", () => {
    assert.ok(Number.isFinite(check.latencyMs.p95), JSON.stringify(check.latencyMs));
    assert.equal(check.peakRssMiB.length, 2);
    assert.ok(
      check.peakRssMiB.every((mib) => mib > 50),
      `sampled ${check.peakRssMiB}`,
    );
  });
});
