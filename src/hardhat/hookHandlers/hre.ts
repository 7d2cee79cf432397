/** Puts Sibyl's errors and artifacts in reach of the project's artifact manager, as it is created. */
import type { HardhatRuntimeEnvironmentHooks } from "hardhat/types/hooks";
import { withSibylArtifacts } from "../consumerArtifacts.js";

export default async (): Promise<Partial<HardhatRuntimeEnvironmentHooks>> => ({
  async created(_context, hre) {
    hre.artifacts = withSibylArtifacts(hre.artifacts);
  },
});
