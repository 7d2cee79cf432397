/**
 * The operator's signing key: an encrypted keystore file, or a raw hex key in an environment variable,
 * which only a devnet accepts unless the operator says they mean it. The key never enters the config
 * object, logs or the database: only the account derived from it leaves here.
 */
import type { Hex, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { NodeConfig } from "./config.js";
import { ConfigError } from "./config.js";
import { readHiddenLine } from "./hiddenPrompt.js";
import { readKeystoreAccount, readPasswordFile } from "./keystoreFile.js";

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

type OperatorConfig = NodeConfig["operator"];
type KeystoreConfig = NonNullable<OperatorConfig["keystore"]>;

/**
 * Local development chains: Hardhat's and Anvil's (31337, what `sibyl dev` runs), Ganache's and
 * `geth --dev`'s (1337). Their keys are public test keys or throwaway ones.
 */
export const DEVNET_CHAIN_IDS: readonly number[] = [31337, 1337];

export function isDevnetChain(chainId: number): boolean {
  return DEVNET_CHAIN_IDS.includes(chainId);
}

export interface LoadOperatorAccountOptions {
  /**
   * Asks a person for the keystore's password when the config names neither a file nor a variable for
   * it. Default: a prompt without echo when stdin is a terminal, else none (and the config is refused).
   */
  askPassword?: ((question: string) => Promise<string>) | undefined;
}

export async function loadOperatorAccount(
  operator: OperatorConfig,
  env: NodeJS.ProcessEnv = process.env,
  options: LoadOperatorAccountOptions = {},
): Promise<LocalAccount> {
  if (operator.keystore) {
    const askPassword =
      "askPassword" in options ? options.askPassword : process.stdin.isTTY ? readHiddenLine : undefined;
    const password = await keystorePassword(operator.keystore, env, askPassword);
    return readKeystoreAccount(operator.keystore.path, password, "operator.keystore");
  }
  const key = env[operator.privateKeyEnv];
  if (!key) {
    throw new ConfigError(
      `operator.privateKeyEnv: environment variable ${operator.privateKeyEnv} is not set (or configure operator.keystore)`,
    );
  }
  if (!PRIVATE_KEY.test(key)) {
    throw new ConfigError(
      `operator.privateKeyEnv: ${operator.privateKeyEnv} is not a 0x-prefixed 32-byte hex key`,
    );
  }
  return privateKeyToAccount(key as Hex);
}

/**
 * Refuses to sign on `chainId` with a raw key unless it is a devnet or `operator.allowRawKey` is set: a
 * key in an environment variable leaks through shell history, process listings and crash reports.
 * Call it as soon as the chain id is known, before anything is sent.
 */
export function assertKeyAllowedOnChain(operator: OperatorConfig, chainId: number): void {
  if (operator.keystore || operator.allowRawKey || isDevnetChain(chainId)) return;
  throw new ConfigError(
    `operator.privateKeyEnv: a raw private key is for devnets (chain ids ${DEVNET_CHAIN_IDS.join(", ")}), not chain ${chainId}: ` +
      "use an encrypted keystore (operator.keystore, made by `sibyl operator keystore new`), " +
      "or set operator.allowRawKey (sibyl node --allow-raw-key) if you mean it",
  );
}

async function keystorePassword(
  keystore: KeystoreConfig,
  env: NodeJS.ProcessEnv,
  askPassword: LoadOperatorAccountOptions["askPassword"],
): Promise<string> {
  if (keystore.passwordEnv !== undefined) {
    const password = env[keystore.passwordEnv];
    if (!password) {
      throw new ConfigError(
        `operator.keystore.passwordEnv: environment variable ${keystore.passwordEnv} is not set`,
      );
    }
    return password;
  }
  if (keystore.passwordFile !== undefined) {
    return readPasswordFile(keystore.passwordFile, "operator.keystore.passwordFile");
  }
  if (askPassword === undefined) {
    throw new ConfigError(
      "operator.keystore: set operator.keystore.passwordFile or passwordEnv, or start the node on a terminal to type the password",
    );
  }
  return askPassword(`Password of the operator keystore ${keystore.path}: `);
}
