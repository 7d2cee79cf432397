import { createRequire } from "node:module";
import hardhatIgnitionViem from "@nomicfoundation/hardhat-ignition-viem";
import hardhatKeystore from "@nomicfoundation/hardhat-keystore";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { configVariable, defineConfig } from "hardhat/config";

// Hardhat cannot download solc on every machine; the npm `solc` package carries the same compiler as
// WebAssembly, so builds work offline and everyone compiles with the exact same version.
const require = createRequire(import.meta.url);
const solcVersion: string = require("solc/package.json").version;
const soljson = require.resolve("solc/soljson.js");

function settings(runs: number) {
  return { optimizer: { enabled: true, runs }, evmVersion: "cancun" };
}

export default defineConfig({
  plugins: [hardhatViem, hardhatIgnitionViem, hardhatMocha, hardhatNetworkHelpers, hardhatKeystore],
  // Public testnets for `sibyl deploy --network <name>`. Each value is read when the network is used:
  // from the environment if set, else from Hardhat's encrypted keystore (`npx hardhat keystore set
  // SEPOLIA_PRIVATE_KEY`), so no deployer key sits in a file or a shell. The chain id is checked
  // before anything is sent: a URL of another chain is refused.
  networks: {
    sepolia: {
      type: "http",
      chainType: "l1",
      chainId: 11155111,
      url: configVariable("SEPOLIA_RPC_URL"),
      accounts: [configVariable("SEPOLIA_PRIVATE_KEY")],
    },
    baseSepolia: {
      type: "http",
      chainType: "op",
      chainId: 84532,
      url: configVariable("BASE_SEPOLIA_RPC_URL"),
      accounts: [configVariable("BASE_SEPOLIA_PRIVATE_KEY")],
    },
  },
  solidity: {
    // The classic pipeline for everything but the coordinator: the IR pipeline's compile of the Solidity
    // tests took minutes of every CI run. The coordinator alone goes through IR (19 s): its per-result
    // code costs ~2,100 gas a request more compiled classically (the gas snapshot's 64-result fulfil), which every
    // request would pay forever. It fits in 75% of EIP-170 (18,432 bytes) either way: 17,060 bytes through
    // IR, 17,378 compiled classically at 200 optimizer runs.
    compilers: [{ version: solcVersion, path: soljson, settings: settings(1000) }],
    overrides: {
      "contracts/SibylCoordinator.sol": {
        version: solcVersion,
        path: soljson,
        settings: { ...settings(1000), viaIR: true },
      },
    },
  },
  paths: {
    tests: { mocha: "test", solidity: "test/contracts" },
  },
  test: {
    mocha: { timeout: 300_000 },
    solidity: {
      // Fixed seed: a failing fuzz case reproduces on every machine.
      fuzz: { runs: 2_000, seed: "0x5379626c" },
      invariant: { runs: 64, depth: 40, failOnRevert: false },
    },
  },
});
