/**
 * The operator's signing key, from an environment variable or an encrypted keystore file. The key
 * never enters the config object, logs or the database: only the account derived from it leaves here.
 */
import { readFileSync } from "node:fs";
import { decryptKeystoreJson } from "ethers";
import type { LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { NodeConfig } from "./config.js";
import { ConfigError } from "./config.js";

const PRIVATE_KEY = /^0x[0-9a-fA-F]{64}$/;

export async function loadOperatorAccount(
  operator: NodeConfig["operator"],
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalAccount> {
  if (operator.keystore) {
    const { path, passwordEnv } = operator.keystore;
    const password = env[passwordEnv];
    if (!password)
      throw new ConfigError(`operator.keystore.passwordEnv: environment variable ${passwordEnv} is not set`);
    let json: string;
    try {
      json = readFileSync(path, "utf8");
    } catch (error) {
      throw new ConfigError(`operator.keystore.path: cannot read ${path}`, { cause: error });
    }
    try {
      const { privateKey } = await decryptKeystoreJson(json, password);
      return privateKeyToAccount(privateKey as `0x${string}`);
    } catch {
      // The cause may quote key material; say only what failed.
      throw new ConfigError(
        `operator.keystore: cannot decrypt ${path} (wrong password or not a keystore file)`,
      );
    }
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
  return privateKeyToAccount(key as `0x${string}`);
}
