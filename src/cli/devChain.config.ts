/**
 * The Hardhat config `sibyl dev` starts its chain with: Hardhat's defaults (chain id 31337, its public
 * test accounts), independent of the project `sibyl dev` runs in, whose own config may be anything.
 */
import type { HardhatUserConfig } from "hardhat/config";

const config: HardhatUserConfig = {};

export default config;
