import type { NodeConfig } from "../config.js";
import type { ModelProvider } from "./provider.js";

/** A model this node serves: its started provider, its config, and its terms read onchain at start. */
export interface Served {
  provider: ModelProvider;
  spec: NodeConfig["models"][number];
  /** The model fee registered onchain, read at start. */
  modelFee: bigint;
  /** Operators that must give the same answer, read at start. */
  quorum: number;
}
