/**
 * A network of the project's Hardhat config, connected as `hardhat --network <name>` would: its URL and
 * accounts, resolved through the config's plugins, so a `configVariable` comes from the environment or
 * Hardhat's encrypted keystore (which asks for its password here). Hardhat is loaded only when a network
 * is named: `sibyl deploy --rpc` and an installed package without Hardhat never pay for it.
 */
import { createRequire } from "node:module";
import path from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { SibylConnection } from "../deploy/index.js";
import { CliError } from "./errors.js";

type HardhatConnection = Awaited<ReturnType<HardhatRuntimeEnvironment["network"]["create"]>>;

export interface NamedNetwork {
  connection: SibylConnection;
  chainId: number;
  /** The Hardhat config the network comes from. */
  configPath: string;
  close(): Promise<void>;
}

/** Connects to `name` from the closest hardhat.config.ts above the working directory (or HARDHAT_CONFIG). */
export async function connectNamedNetwork(name: string): Promise<NamedNetwork> {
  const hardhat = await importHardhat();
  const configPath = await hardhat.resolveHardhatConfigPath().catch((error: unknown) => {
    throw new CliError(
      `--network ${name}: no hardhat.config.ts here or above (or in HARDHAT_CONFIG) to read it from`,
      { cause: error },
    );
  });
  let connection: HardhatConnection;
  try {
    const userConfig = await hardhat.importUserConfig(configPath);
    const hre = await hardhat.createHardhatRuntimeEnvironment(userConfig, { config: configPath }, configPath);
    connection = await hre.network.create(name);
  } catch (error) {
    releaseStdin();
    throw hardhatFailure(name, configPath, error);
  }
  try {
    const chainId = Number(await connection.provider.request({ method: "eth_chainId" }));
    // Any other request makes Hardhat check the chain's id against the config's, before anything is sent.
    await connection.provider.request({ method: "eth_blockNumber" });
    return { connection, chainId, configPath, close: () => closeConnection(connection) };
  } catch (error) {
    await closeConnection(connection).catch(() => undefined);
    throw hardhatFailure(name, configPath, error);
  }
}

async function closeConnection(connection: HardhatConnection): Promise<void> {
  await connection.close();
  releaseStdin();
}

/**
 * Hardhat's keystore asks for its password with readline on stdin, which leaves a piped stdin (a
 * script, CI) holding the process open after the command is done: let go of it.
 */
function releaseStdin(): void {
  (process.stdin as { unref?: () => void }).unref?.();
}

async function importHardhat(): Promise<typeof import("hardhat/hre")> {
  try {
    createRequire(import.meta.url).resolve("hardhat/package.json");
  } catch {
    throw new CliError("--network needs Hardhat 3 in the project: npm install --save-dev hardhat@^3");
  }
  return import("hardhat/hre");
}

/**
 * One line for what Hardhat refused (an unknown network, a variable neither set nor in the keystore, a
 * wrong keystore password, a chain id that is not the config's) or an unreachable RPC. Hardhat's own
 * message is kept, first line only; its URL, which may carry an API key, is not repeated.
 */
function hardhatFailure(name: string, configPath: string, error: unknown): CliError {
  const message = error instanceof Error ? error.message : String(error);
  const relative = path.relative(process.cwd(), configPath);
  const where = relative.startsWith("..") || path.isAbsolute(relative) ? configPath : relative;
  return new CliError(`--network ${name} (${where}): ${message.split("\n")[0]}`, { cause: error });
}
