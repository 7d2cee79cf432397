/**
 * Which chain and coordinator a command talks to: explicit flags, else the file `sibyl dev` / `sibyl
 * deploy` wrote (.sibyl/deployment.json in the working directory), validated into one object.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  type Address,
  createPublicClient,
  getAddress,
  type Hex,
  http,
  isAddress,
  type PublicClient,
} from "viem";
import { resolveSibylContracts, type SibylContracts } from "../shared/contracts.js";
import { CliError, unreachable } from "./errors.js";

/** Where the CLI keeps the devnet's files; SIBYL_STATE_DIR moves it (tests use a temporary one). */
export const STATE_DIR = process.env.SIBYL_STATE_DIR ?? ".sibyl";
export const DEPLOYMENT_FILE = path.join(STATE_DIR, "deployment.json");

/** What the CLI remembers about a deployment between commands. */
export interface DeploymentRecord {
  /** Absent for a deployment to a named network (its URL may carry an API key): see `network`. */
  rpcUrl?: string;
  /** The Hardhat config's network `sibyl deploy --network` deployed to. */
  network?: string;
  chainId: number;
  coordinator: Address;
  deploymentBlock: string;
  promptBoard?: Address;
  /** Node API (health, metrics) of the node `sibyl dev` runs. */
  nodeApiUrl?: string;
  operator?: Address;
  /** Development only: Hardhat's publicly known test keys, so `sibyl request` works on the devnet. */
  devKeys?: { owner: Hex; user: Hex };
}

export function writeDeploymentRecord(record: DeploymentRecord, file = DEPLOYMENT_FILE): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

export function readDeploymentRecord(file = DEPLOYMENT_FILE): DeploymentRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as DeploymentRecord;
  } catch (error) {
    throw new CliError(`${file} is not valid JSON; delete it or pass --rpc and --coordinator`, {
      cause: error,
    });
  }
}

export const TARGET_OPTIONS = {
  rpc: { type: "string" },
  coordinator: { type: "string" },
  "from-block": { type: "string" },
} as const;

export const TARGET_HELP = `  --rpc <url>             JSON-RPC URL (default: from ${DEPLOYMENT_FILE}, written by sibyl dev/deploy)
  --coordinator <addr>    the deployment's log or any of its coordinators (default: from ${DEPLOYMENT_FILE})
  --from-block <n>        the deployment's first block, where event scans start`;

export interface Target {
  rpcUrl: string;
  /** The coordinator taking requests now (the log names it, whichever address was given). */
  coordinator: Address;
  contracts: SibylContracts;
  fromBlock: bigint;
  client: PublicClient;
  record: DeploymentRecord | undefined;
}

export async function resolveTarget(flags: {
  rpc?: string | undefined;
  coordinator?: string | undefined;
  "from-block"?: string | undefined;
}): Promise<Target> {
  const record = readDeploymentRecord();
  const rpcUrl = flags.rpc ?? process.env.SIBYL_RPC_URL ?? record?.rpcUrl;
  const coordinatorText = flags.coordinator ?? process.env.SIBYL_COORDINATOR ?? record?.coordinator;
  if (rpcUrl === undefined && record?.network !== undefined) {
    throw new CliError(
      `${DEPLOYMENT_FILE} is a deployment to network ${record.network}, whose URL is not written down (it may carry an API key): pass --rpc <url> or set SIBYL_RPC_URL`,
    );
  }
  if (rpcUrl === undefined || coordinatorText === undefined) {
    throw new CliError(`no deployment: pass --rpc and --coordinator, or start one with \`sibyl dev\``);
  }
  if (!/^https?:\/\//.test(rpcUrl)) throw new CliError(`--rpc: not an http(s) URL: ${rpcUrl}`);
  if (!isAddress(coordinatorText, { strict: false })) {
    throw new CliError(`--coordinator: not an address: ${coordinatorText}`);
  }
  const fromText = flags["from-block"] ?? (flags.coordinator ? "0" : (record?.deploymentBlock ?? "0"));
  if (!/^\d+$/.test(fromText)) throw new CliError(`--from-block: not a block number: ${fromText}`);
  const client = createPublicClient({
    transport: http(rpcUrl, { retryCount: 0, timeout: 10_000 }),
  }) as PublicClient;
  const given = getAddress(coordinatorText);
  const code = await client.getCode({ address: given }).catch((error) => {
    throw unreachable(rpcUrl, error);
  });
  if (code === undefined || code === "0x") throw new CliError(`no contract at ${given} on ${rpcUrl}`);
  const contracts = await resolveSibylContracts(client, given).catch((error) => {
    throw new CliError(`--coordinator: ${given} is neither a Sibyl log nor a Sibyl coordinator`, {
      cause: error,
    });
  });
  return { rpcUrl, coordinator: contracts.current, contracts, fromBlock: BigInt(fromText), client, record };
}
