/** `sibyl node --config <file>`: runs the oracle node daemon until SIGINT/SIGTERM. */
import { parseArgs } from "node:util";
import { loadConfig } from "../../node/config.js";
import { startNode } from "../../node/daemon.js";
import { UsageError } from "../errors.js";
import { withKeyFlags } from "../nodeKeyFlags.js";

export const NODE_USAGE = `usage: sibyl node --config <file> [--store postgres://…] [--keystore <file> [--password-file <file>]]

Runs the Sibyl oracle node: reads requests from the coordinator, answers them with the configured
models, proves each batch and fulfils it onchain. Stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

Options:
  -c, --config <file>   JSON config file (see README "Configuration")
  --store <url>         keep state in this PostgreSQL database instead of SQLite: replicas started
                        with the same database share it, one leads and the others stand by
  --keystore <file>     the operator's encrypted JSON keystore (as operator.keystore.path; made by
                        sibyl operator keystore new|import)
  --password-file <file>
                        its password (as operator.keystore.passwordFile); without one, and without
                        operator.keystore.passwordEnv, the password is asked on the terminal
  --allow-raw-key       sign with a raw key (SIBYL_OPERATOR_KEY) on a chain that is not a devnet
                        (as operator.allowRawKey); a devnet (chain id 31337 or 1337) needs no flag
  -h, --help            show this help

Environment: SIBYL_OPERATOR_KEY (operator private key, unless a keystore is given; devnets only),
SIBYL_RPC_URL, SIBYL_COORDINATOR, SIBYL_DEPLOYMENT_BLOCK, SIBYL_DATABASE, SIBYL_STORE_URL (as --store),
SIBYL_API_PORT, SIBYL_LOG_LEVEL.
`;

export async function nodeCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: "string", short: "c" },
      store: { type: "string" },
      keystore: { type: "string" },
      "password-file": { type: "string" },
      "allow-raw-key": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(NODE_USAGE);
    return 0;
  }
  if (!values.config) throw new UsageError("sibyl node needs --config <file>", NODE_USAGE);
  const env = values.store === undefined ? process.env : { ...process.env, SIBYL_STORE_URL: values.store };
  const node = await startNode(withKeyFlags(loadConfig(values.config, env), values, NODE_USAGE));
  const stop = () => void node.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await node.stopped;
  return 0;
}
