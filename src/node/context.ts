/** What every part of the node is handed by the composition root (src/node/daemon.ts). */
import type { NodeConfig } from "./config.js";
import type { CrashAt } from "./crashPoints.js";
import type { Logger } from "./observe/logger.js";
import type { Metrics } from "./observe/metrics.js";

export interface NodeContext {
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Aborted when the node is asked to stop. */
  readonly shutdown: AbortSignal;
  /** Fault tests' kill -9 at a pipeline step; a no-op in normal runs. */
  readonly crashAt: CrashAt;
}
