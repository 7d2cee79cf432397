/** `sibyl explorer`: serves the explorer page for any chain and coordinator, and a read-only proxy to the RPC. */
import { parseArgs } from "node:util";
import { startExplorerServer } from "../../explorer/server.js";
import { redactUrl } from "../../node/observe/redact.js";
import { UsageError } from "../errors.js";
import { resolveTarget, TARGET_HELP, TARGET_OPTIONS } from "../target.js";

export const EXPLORER_USAGE = `usage: sibyl explorer [options]

Serves a web page that shows the coordinator's requests, results, proofs, operators and models live,
and verifies any result in the browser against the onchain root. The page reads the chain through a
read-only proxy on this server: the RPC URL, and any API key in it, never reaches a browser.

Options:
${TARGET_HELP}
  --port <n>              port of the page (default 5174; 0 picks a free one)
  --host <addr>           address to listen on (default 127.0.0.1)
  -h, --help              show this help
`;

export async function explorerCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      port: { type: "string", default: "5174" },
      host: { type: "string", default: "127.0.0.1" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(EXPLORER_USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new UsageError(`--port: not a port: ${values.port}`, EXPLORER_USAGE);
  const target = await resolveTarget(values);
  const server = await startExplorerServer({
    config: { rpcUrl: target.rpcUrl, coordinator: target.coordinator, fromBlock: String(target.fromBlock) },
    port,
    host: values.host,
  });
  process.stdout.write(
    `Sibyl explorer on ${server.url} (chain ${redactUrl(target.rpcUrl)}, coordinator ${target.coordinator}). Ctrl-C to stop.\n`,
  );
  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.close();
  return 0;
}
