/** A node context for tests of single node parts: silent logs, fresh metrics, a shutdown switch. */
import { parseConfig } from "../../src/node/config.js";
import type { NodeContext } from "../../src/node/context.js";
import { createLogger } from "../../src/node/observe/logger.js";
import { createMetrics } from "../../src/node/observe/metrics.js";

export function testContext(coordinator: `0x${string}`): NodeContext & { abort: AbortController } {
  const abort = new AbortController();
  const config = parseConfig({
    chain: { rpcUrl: "http://127.0.0.1:8545", coordinator },
    models: [{ provider: "builtin", name: "language-id", builtin: "language-id" }],
  });
  return {
    config,
    logger: createLogger({ level: "silent", format: "json" }),
    metrics: createMetrics(),
    shutdown: abort.signal,
    crashAt: () => undefined,
    abort,
  };
}
