import assert from "node:assert/strict";
import type { ScenarioSize } from "./harness.js";
import {
  GIVE_UP_BLOCKS,
  REDELIVERY_BLOCKS,
  type RedeliveryCheck,
  type ReorgChain,
  reorgRedelivery,
  unavailable,
} from "./reorgRedelivery.js";

const SIZE: ScenarioSize = { requests: 3, soak: false };

describe("reliability: a reorg removes a delivery and the node rebuilds the same transaction", function () {
  this.timeout(300_000);

  for (const chain of ["hardhat node", "anvil"] as const satisfies readonly ReorgChain[]) {
    it(`delivers again within ${REDELIVERY_BLOCKS} blocks on ${chain}, once, with no unique-constraint error`, async function () {
      const missing = unavailable(chain);
      if (missing) {
        console.log(`      skipped: ${missing}`);
        this.skip();
      }
      const check = await reorgRedelivery(chain, SIZE);
      console.table([check.report]);
      assertRedelivered(check);
    });
  }
});

function assertRedelivered(check: RedeliveryCheck): void {
  const where = `${check.chain} (daemon log: ${check.log})`;
  assert.ok(check.reorgsLogged > 0, `${where}: the node logged no reorg`);
  for (const [round, blocks] of check.blocksToRedeliver.entries())
    assert.ok(
      blocks !== undefined && blocks <= REDELIVERY_BLOCKS,
      blocks === undefined
        ? `${where}: round ${round} not delivered again within ${GIVE_UP_BLOCKS} blocks`
        : `${where}: round ${round} delivered again after ${blocks} blocks`,
    );
  assert.equal(check.report.lost, 0, `${where}: ${check.report.lost} of ${check.report.sent} lost`);
  assert.equal(check.report.doubleAnswered, 0, `${where}: ${check.report.doubleAnswered} delivered twice`);
  assert.deepEqual(check.uniqueErrors, [], `${where}: unique-constraint errors in the log`);
  assert.deepEqual(
    check.sameTransaction,
    check.sameTransaction.map(() => true),
    `${where}: the delivery came back under another hash, so the byte-identical rebuild was not exercised`,
  );
  assert.ok(check.survived, `${where}: the daemon exited`);
}
