import { createRequire } from "node:module";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { defineConfig } from "hardhat/config";
import sibyl from "sibyl/hardhat/plugin";

// Offline machines cannot download solc: the npm `solc` package carries the same compiler.
const require = createRequire(import.meta.url);

export default defineConfig({
  // sibyl: the coordinator's errors decoded in these tests, Sibyl's contracts readable by name.
  plugins: [hardhatViem, hardhatMocha, sibyl],
  solidity: { version: "0.8.30", path: require.resolve("solc/soljson.js") },
  test: { mocha: { timeout: 120_000 } },
});
