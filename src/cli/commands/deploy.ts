/**
 * `sibyl deploy`: the Ignition modules (log, ledger, verifiers, coordinator, built-in model, examples)
 * to a chain; with --upgrade, a new coordinator version beside the current one.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { type Hex, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { JOURNALS_DIR } from "../../deploy/ignitionFiles.js";
import { deploySibylStack, type SibylDeployment, upgradeCoordinator } from "../../deploy/index.js";
import { signingProvider } from "../../deploy/signingProvider.js";
import { CliError, unreachable } from "../errors.js";
import { connectNamedNetwork } from "../hardhatNetwork.js";
import {
  DEPLOYMENT_FILE,
  readDeploymentRecord,
  resolveTarget,
  TARGET_OPTIONS,
  writeDeploymentRecord,
} from "../target.js";

export const DEPLOY_USAGE = `usage: sibyl deploy --rpc <url> [options]
       sibyl deploy --network <name>
       sibyl deploy --upgrade [--rpc <url> --coordinator <addr>] [options]

Deploys the result log with the Groth16 verifiers, the operators' ledger, the coordinator, the built-in
language-id model and the example dapps with Hardhat Ignition, then writes ${DEPLOYMENT_FILE} for the
other commands.

With --network, the chain and the deployer's key are a network of the project's Hardhat config
(hardhat.config.ts here or above, or HARDHAT_CONFIG), e.g. sepolia with
  url: configVariable("SEPOLIA_RPC_URL"), accounts: [configVariable("SEPOLIA_PRIVATE_KEY")]
whose values come from the environment or from Hardhat's encrypted keystore (npx hardhat keystore set
SEPOLIA_PRIVATE_KEY; its password is asked here). Ignition journals the deployment per chain in
ignition/deployments/chain-<chain id>: a rerun resumes an interrupted deployment and never deploys twice.

With --upgrade, ships a new coordinator version beside the current one: the current one is paused, the
new one continues its request ids and gets its models, and the log authorizes it. New requests go to
the new version from then on; the old one still delivers or refunds what it took. The log, its root
and every operator's stake stay where they are.

Options:
  --rpc <url>             JSON-RPC URL of the chain (e.g. http://127.0.0.1:8545)
  --network <name>        instead of --rpc and --owner-key-env: a network of the Hardhat config
  --coordinator <addr>    --upgrade: the deployment's log or any coordinator (default: from ${DEPLOYMENT_FILE})
  --from-block <n>        --upgrade: the deployment's first block, where model registrations are read
  --upgrade               deploy a new coordinator version instead of a new deployment
  --owner-key-env <NAME>  environment variable with the deployer/owner key (default SIBYL_OWNER_KEY;
                          when unset, the node's own unlocked accounts are used, as on hardhat node)
  -h, --help              show this help
`;

export async function deployCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...TARGET_OPTIONS,
      upgrade: { type: "boolean" },
      network: { type: "string" },
      "owner-key-env": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(DEPLOY_USAGE);
    return 0;
  }
  const ownerKeyEnv = values["owner-key-env"] ?? "SIBYL_OWNER_KEY";
  const alsoGiven = values.rpc !== undefined || values["owner-key-env"] !== undefined || values.upgrade;
  if (values.network !== undefined && alsoGiven) {
    throw new CliError(
      "--network names both the chain and the key, so it goes without --rpc, --owner-key-env and --upgrade",
    );
  }
  if (values.upgrade) return upgrade({ ...values, "owner-key-env": ownerKeyEnv });
  if (values.coordinator !== undefined || values["from-block"] !== undefined) {
    throw new CliError("--coordinator and --from-block are for --upgrade only");
  }
  if (values.network !== undefined) return deployToNamedNetwork(values.network);
  const rpcUrl = values.rpc ?? process.env.SIBYL_RPC_URL;
  if (rpcUrl === undefined) throw new CliError("sibyl deploy needs --rpc <url> or --network <name>");
  if (!/^https?:\/\//.test(rpcUrl)) throw new CliError(`--rpc: not an http(s) URL: ${rpcUrl}`);
  const connection = await connect(rpcUrl, ownerKeyEnv);
  const deployment = await deploySibylStack(connection);
  writeDeploymentRecord({ rpcUrl, ...recordOf(deployment) });
  process.stdout.write(summaryOf(deployment));
  return 0;
}

/**
 * Through the Hardhat config's network, journaled per chain so a rerun resumes. The record names the
 * network, not its URL: a provider's URL often carries its API key, and the config can give it again.
 */
async function deployToNamedNetwork(name: string): Promise<number> {
  const network = await connectNamedNetwork(name);
  try {
    const deploymentId = `chain-${network.chainId}`;
    const deployment = await deploySibylStack(network.connection, { deploymentId });
    writeDeploymentRecord({ network: name, ...recordOf(deployment) });
    process.stdout.write(
      `${summaryOf(deployment)}journal      ${path.join(path.relative(process.cwd(), JOURNALS_DIR), deploymentId)} (a rerun resumes it)\n`,
    );
    return 0;
  } finally {
    await network.close();
  }
}

function recordOf(deployment: SibylDeployment) {
  return {
    chainId: deployment.chainId,
    coordinator: deployment.coordinator,
    deploymentBlock: String(deployment.deploymentBlock),
    promptBoard: deployment.promptBoard,
  };
}

function summaryOf(deployment: SibylDeployment): string {
  return (
    `log          ${deployment.log} (block ${deployment.deploymentBlock}): consumers are built on it\n` +
    `ledger       ${deployment.ledger}\ncoordinator  ${deployment.coordinator}\n` +
    `PromptBoard  ${deployment.promptBoard}\nwritten      ${DEPLOYMENT_FILE}\n`
  );
}

async function upgrade(values: {
  rpc?: string;
  coordinator?: string;
  "owner-key-env"?: string;
}): Promise<number> {
  const target = await resolveTarget(values);
  const connection = await connect(target.rpcUrl, values["owner-key-env"] as string);
  const upgraded = await upgradeCoordinator(connection, {
    coordinator: target.contracts.log,
    fromBlock: target.fromBlock,
  });
  const record = readDeploymentRecord();
  if (
    record !== undefined &&
    target.contracts.coordinators.some((version) => version.address === record.coordinator)
  ) {
    writeDeploymentRecord({ ...record, coordinator: upgraded.coordinator });
  }
  process.stdout.write(
    `coordinator  ${upgraded.coordinator}: takes requests from id ${upgraded.firstRequestId} (block ${upgraded.authorizedAt})\n` +
      `previous     ${upgraded.previous}: retired, finishes or refunds the requests it took\n` +
      `models       ${upgraded.models.length} registered on the new version\n`,
  );
  return 0;
}

/** A connection that signs with the owner's key when one is given, else with the node's unlocked accounts. */
async function connect(rpcUrl: string, keyEnv: string) {
  const key = process.env[keyEnv];
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key)) {
    throw new CliError(`${keyEnv} is not a 0x-prefixed 32-byte hex key`);
  }
  const rpc = http(rpcUrl, { retryCount: 0 })({});
  const connection = { provider: key ? signingProvider(rpc, privateKeyToAccount(key as Hex)) : rpc };
  await connection.provider.request({ method: "eth_chainId" }).catch((error) => {
    throw unreachable(rpcUrl, error);
  });
  return connection;
}
