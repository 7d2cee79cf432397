/** `sibyl node --config <file>`: runs the oracle node daemon until SIGINT/SIGTERM. */
import { parseArgs } from "node:util";
import { loadConfig } from "../../node/config.js";
import { startNode } from "../../node/daemon.js";
import { UsageError } from "../errors.js";

export const NODE_USAGE = `usage: sibyl node --config <file> [--store postgres://…]

Runs the Sibyl oracle node: reads requests from the coordinator, answers them with the configured
models, proves each batch and fulfils it onchain. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

Options:
  -c, --config <file>   JSON config file (see README "Configuration")
  --store <url>         keep state in this PostgreSQL database instead of SQLite: replicas started
                        with the same database share it, one leads and the others stand by
  -h, --help            show this help

Environment: SIBYL_OPERATOR_KEY (operator private key, unless the config names a keystore),
SIBYL_RPC_URL, SIBYL_COORDINATOR, SIBYL_DEPLOYMENT_BLOCK, SIBYL_DATABASE, SIBYL_STORE_URL (as --store),
SIBYL_API_PORT, SIBYL_LOG_LEVEL.
`;

export async function nodeCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c" },
      store: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(NODE_USAGE);
    return 0;
  }
  if (!values.config) throw new UsageError("sibyl node needs --config <file>", NODE_USAGE);
  const env = values.store === undefined ? process.env : { ...process.env, SIBYL_STORE_URL: values.store };
  const node = await startNode(loadConfig(values.config, env));
  const stop = () => void node.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await node.stopped;
  return 0;
}
