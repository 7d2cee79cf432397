import assert from "node:assert/strict";
import { type HostileCheck, runHostileConsumers } from "./hostile.js";

describe("reliability: hostile consumers through the node", function () {
  this.timeout(300_000);
  let check: HostileCheck;

  before(async () => {
    check = await runHostileConsumers({ requests: 10, soak: false });
    console.table([check.report]);
  });

  it("answers every request once, hostile or not", () => {
    assert.equal(check.report.lost, 0);
    assert.equal(check.report.doubleAnswered, 0);
    assert.equal(check.report.answeredOk, check.report.sent);
  });

  it("records the hostile callbacks' outcomes and lets no re-entry through", () => {
    assert.deepEqual(check.outcomes, {
      Revert: 2,
      BurnGas: 2,
      // Expanding memory to 1 MB costs more than its 200k gas: the callback fails, the fulfilment stands.
      ReturnBomb: 2,
      ReenterFulfill: 1,
      ReenterCancel: 1,
      ReenterRequest: 1,
    });
    assert.deepEqual(check.reentered, []);
  });
});
