import assert from "node:assert/strict";
import type { ScenarioSize } from "./harness.js";
import {
  FARMING_BASE_FEES_GWEI,
  type FarmingNetwork,
  farmingMisses,
  farmingRows,
  startFarming,
} from "./penaltyFarming.js";

const SIZE: ScenarioSize = { requests: 1, soak: false };

describe("reliability: penalty farming against a daemon", function () {
  this.timeout(600_000);
  let network: FarmingNetwork | undefined;

  before(async () => {
    network = await startFarming(20n);
    process.stdout.write(`    penalty farming: daemon logs in ${network.devnet.dir}\n`);
  });

  after(async () => {
    await network?.stop();
  });

  for (const baseFee of FARMING_BASE_FEES_GWEI) {
    it(`at ${baseFee} gwei: no route gains the attacker anything or costs the victim stake`, async () => {
      const cell = await (network as FarmingNetwork).at(baseFee, SIZE);
      console.table(farmingRows(cell));
      assert.deepEqual(farmingMisses(cell), []);
    });
  }
});
