import assert from "node:assert/strict";
import { type LostDatabaseCheck, lostDatabaseCosigner } from "./lostDatabase.js";

describe("reliability: a co-signer that lost its database never signs a second answer", function () {
  this.timeout(600_000);
  let check: LostDatabaseCheck;

  before(async () => {
    check = await lostDatabaseCosigner();
    console.table([{ ...check, attackerNetGain: String(check.attackerNetGain) }]);
  });

  it("signed the request once before the wipe (the model really answers differently on a re-run)", () => {
    assert.ok(check.answersSigned >= 1, "no first signature: the scenario proves nothing");
  });

  it("refuses to sign it again after the wipe: no second signature, nothing to slash, no gain", () => {
    assert.equal(check.answersSigned, 1, `${check.answersSigned} different answers signed`);
    assert.deepEqual(check.askedAgain, [409, 409]);
    assert.ok(check.attackerNetGain <= 0n, `the reporter gained ${check.attackerNetGain} wei`);
    assert.equal(check.victimStakeChange, 0n, "the honest operator was slashed");
  });
});
