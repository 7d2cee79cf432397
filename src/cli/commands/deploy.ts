/** `sibyl deploy`: the Ignition modules (verifiers, coordinator, built-in model, examples) to a chain. */
import { parseArgs } from "node:util";
import { type Hex, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { deploySibylStack } from "../../deploy/index.js";
import { signingProvider } from "../../deploy/signingProvider.js";
import { CliError, unreachable } from "../errors.js";
import { DEPLOYMENT_FILE, writeDeploymentRecord } from "../target.js";

export const DEPLOY_USAGE = `usage: sibyl deploy --rpc <url> [options]

Deploys the Groth16 verifiers, the coordinator (wired to them), the built-in language-id model and the
example dapps with Hardhat Ignition, then writes ${DEPLOYMENT_FILE} for the other commands.

Options:
  --rpc <url>             JSON-RPC URL of the chain (e.g. http://127.0.0.1:8545)
  --owner-key-env <NAME>  environment variable with the deployer/owner key (default SIBYL_OWNER_KEY;
                          when unset, the node's own unlocked accounts are used, as on hardhat node)
  -h, --help              show this help
`;

export async function deployCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      rpc: { type: "string" },
      "owner-key-env": { type: "string", default: "SIBYL_OWNER_KEY" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(DEPLOY_USAGE);
    return 0;
  }
  const rpcUrl = values.rpc ?? process.env.SIBYL_RPC_URL;
  if (rpcUrl === undefined) throw new CliError("sibyl deploy needs --rpc <url>");
  if (!/^https?:\/\//.test(rpcUrl)) throw new CliError(`--rpc: not an http(s) URL: ${rpcUrl}`);
  const key = process.env[values["owner-key-env"] as string];
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new CliError(`${values["owner-key-env"]} is not a 0x-prefixed 32-byte hex key`);
  }
  const rpc = http(rpcUrl, { retryCount: 0 })({});
  const connection = { provider: key ? signingProvider(rpc, privateKeyToAccount(key as Hex)) : rpc };
  await connection.provider.request({ method: "eth_chainId" }).catch((error) => {
    throw unreachable(rpcUrl, error);
  });
  const deployment = await deploySibylStack(connection);
  writeDeploymentRecord({
    rpcUrl,
    chainId: deployment.chainId,
    coordinator: deployment.coordinator,
    deploymentBlock: String(deployment.deploymentBlock),
    promptBoard: deployment.promptBoard,
  });
  process.stdout.write(
    `coordinator  ${deployment.coordinator} (block ${deployment.deploymentBlock})\nPromptBoard  ${deployment.promptBoard}\nwritten      ${DEPLOYMENT_FILE}\n`,
  );
  return 0;
}
