/**
 * Encrypted JSON keystores (Web3 Secret Storage v3, as geth, ethers and Foundry's cast write them) and
 * password files: what the node and the CLI read a key from when it must not sit in plain text. Errors
 * name the file and the setting (`label`) that pointed at it, never the password or the key.
 */
import { readFileSync } from "node:fs";
import { decryptKeystoreJson } from "ethers";
import type { Hex, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ConfigError } from "./config.js";

export async function readKeystoreAccount(
  file: string,
  password: string,
  label: string,
): Promise<LocalAccount> {
  let json: string;
  try {
    json = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${label}: cannot read ${file}`, { cause: error });
  }
  try {
    const { privateKey } = await decryptKeystoreJson(json, password);
    return privateKeyToAccount(privateKey as Hex);
  } catch {
    // The cause may quote key material; say only what failed.
    throw new ConfigError(`${label}: cannot decrypt ${file} (wrong password or not a keystore file)`);
  }
}

/**
 * The password in `file`: its whole content but one final line break, which `echo pw > file` and
 * editors add and nobody means as part of it.
 */
export function readPasswordFile(file: string, label: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${label}: cannot read ${file}`, { cause: error });
  }
  const password = text.replace(/\r?\n$/, "");
  if (password === "") throw new ConfigError(`${label}: ${file} is empty`);
  return password;
}
