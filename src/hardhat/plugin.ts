/**
 * `sibyl/hardhat/plugin`: the Hardhat 3 plugin for a dapp developer's project. Their tests call their
 * own consumer, and a request the coordinator refuses reverts with the coordinator's custom error,
 * which their project never compiled: viem (hardhat-viem) decodes reverts with the called contract's
 * ABI only, so it showed `Unable to decode signature "0xb99e2ab7"`. With the plugin, every artifact of
 * a Sibyl consumer carries the coordinator's errors too (viem then names `InsufficientPayment(paid,
 * required)`), and Sibyl's own contracts (SibylCoordinator, ...) resolve by name where the project has
 * none, so `connection.viem.getContractAt("SibylCoordinator", address)` works.
 *
 * Kept apart from `sibyl/hardhat` (the fixture and the mock, which load the node) so that loading the
 * config, for any Hardhat task, stays light.
 *
 * @example
 * // hardhat.config.ts
 * import sibyl from "sibyl/hardhat/plugin";
 * export default defineConfig({ plugins: [hardhatViem, hardhatMocha, sibyl], ... });
 */
import type { HardhatPlugin } from "hardhat/types/plugins";

const sibylPlugin: HardhatPlugin = {
  id: "sibyl",
  hookHandlers: {
    hre: () => import("./hookHandlers/hre.js"),
  },
};

export default sibylPlugin;
