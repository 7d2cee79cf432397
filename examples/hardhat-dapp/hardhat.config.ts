import { createRequire } from "node:module";
import hardhatMocha from "@nomicfoundation/hardhat-mocha";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { defineConfig } from "hardhat/config";

// Offline machines cannot download solc: the npm `solc` package carries the same compiler.
const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatViem, hardhatMocha],
  solidity: { version: "0.8.30", path: require.resolve("solc/soljson.js") },
  test: { mocha: { timeout: 120_000 } },
});
