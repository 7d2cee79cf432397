import { createRequire } from "node:module";
import hardhatIgnitionViem from "@nomicfoundation/hardhat-ignition-viem";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { defineConfig } from "hardhat/config";

// Hardhat cannot download solc on every machine; the npm `solc` package carries the same compiler as
// WebAssembly, so builds work offline and everyone compiles with the exact same version.
const require = createRequire(import.meta.url);
const solcVersion: string = require("solc/package.json").version;

export default defineConfig({
  plugins: [hardhatViem, hardhatIgnitionViem, hardhatMocha, hardhatNetworkHelpers],
  solidity: {
    version: solcVersion,
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 1000 },
      evmVersion: "cancun",
      viaIR: true,
    },
  },
  paths: {
    tests: { mocha: "test", solidity: "test/contracts" },
  },
  test: {
    mocha: { timeout: 300_000 },
    solidity: {
      // Fixed seed: a failing fuzz case reproduces on every machine.
      fuzz: { runs: 1000, seed: "0x5379626c" },
      invariant: { runs: 1000, depth: 40, failOnRevert: false },
    },
  },
});
