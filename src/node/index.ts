/** `sibyl/node`: run and embed the oracle node. */
export {
  ConfigError,
  configSchema,
  loadConfig,
  type NodeConfig,
  type NodeConfigInput,
  parseConfig,
} from "./config.js";
export { type RunningNode, type StartNodeOptions, StartupError, startNode } from "./daemon.js";
export { configHashOf } from "./models/configHash.js";
export type { ModelAnswer, ModelProvider } from "./models/provider.js";
export { createProvider, type ModelSpec, type ModelSpecInput, modelSpecSchema } from "./models/registry.js";
