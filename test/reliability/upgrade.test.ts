import assert from "node:assert/strict";
import { runUpgrade, type UpgradeCheck } from "./upgrade.js";

describe("reliability: a coordinator upgrade under a running node (processes)", function () {
  this.timeout(600_000);
  let check: UpgradeCheck;

  before(async () => {
    check = await runUpgrade({ requests: 8, soak: false });
    console.table([{ ...check.report, refusedDuringSwitch: check.refusedDuringSwitch }]);
  });

  it("answers every request exactly once, each by the version that took it", () => {
    assert.equal(check.report.lost, 0);
    assert.equal(check.report.doubleAnswered, 0);
    assert.ok(
      check.ids.previous.length >= 4 && check.ids.current.length >= 4,
      JSON.stringify(check.ids, String),
    );
    for (const id of check.ids.previous)
      assert.equal(check.answeredBy.get(id), check.previous, `request ${id}`);
    for (const id of check.ids.current)
      assert.equal(check.answeredBy.get(id), check.current, `request ${id}`);
  });

  it("continues request ids and the log's sequence across the switch", () => {
    const ids = [...check.ids.previous, ...check.ids.current];
    const first = ids[0] as bigint;
    for (const [i, id] of ids.entries()) assert.equal(id, first + BigInt(i), "ids without a gap or a repeat");
    const sequences = [...check.sequences].sort((a, b) => (a < b ? -1 : 1));
    for (const [i, sequence] of sequences.entries())
      assert.equal(sequence, BigInt(i), "sequences 0..n-1, each once");
  });

  it("proves everything, and the node's tree is the log's root", () => {
    assert.equal(check.unprovenAfter, 0n);
    assert.equal(check.nodeRoot, check.logRoot);
  });

  it("verifies results from both sides of the switch, with the SDK and with sibyl verify", () => {
    for (const verdict of check.verified) {
      assert.equal(verdict.valid, true, verdict.reason);
      assert.equal(verdict.state, "proven");
    }
    assert.equal(check.cliVerify.code, 0, check.cliVerify.stdout);
    assert.match(check.cliVerify.stdout, /proven/);
  });

  it("is done by sibyl deploy --upgrade, followed by the same node process without a restart", () => {
    assert.match(check.upgradeOutput, /retired/);
    assert.equal(check.nodeRanThrough, true);
    assert.equal(check.followed, true);
  });
});
