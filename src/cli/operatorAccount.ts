/**
 * The key `sibyl operator` signs with: an encrypted keystore (its password from a file or typed at the
 * terminal), or a raw key from an environment variable, which only a devnet takes without
 * --allow-raw-key: the rule `sibyl node` applies, worded for the command line.
 */
import path from "node:path";
import type { Hex, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readHiddenLine } from "../node/hiddenPrompt.js";
import { readKeystoreAccount, readPasswordFile } from "../node/keystoreFile.js";
import { DEVNET_CHAIN_IDS, isDevnetChain } from "../node/operatorKey.js";
import { CliError } from "./errors.js";

export interface OperatorKeyFlags {
  "key-env"?: string | undefined;
  keystore?: string | undefined;
  "password-file"?: string | undefined;
  "allow-raw-key"?: boolean | undefined;
}

export const OPERATOR_KEY_OPTIONS = {
  "key-env": { type: "string", default: "SIBYL_OPERATOR_KEY" },
  keystore: { type: "string" },
  "password-file": { type: "string" },
  "allow-raw-key": { type: "boolean" },
} as const;

export const OPERATOR_KEY_HELP = `  --keystore <file>       the operator's encrypted JSON keystore (sibyl operator keystore new|import)
  --password-file <file>  its password (else asked on the terminal)
  --key-env <NAME>        or a raw key in this environment variable (default SIBYL_OPERATOR_KEY):
                          devnets only (chain id ${DEVNET_CHAIN_IDS.join(" or ")}) unless --allow-raw-key`;

export async function operatorAccountFor(flags: OperatorKeyFlags, chainId: number): Promise<LocalAccount> {
  const passwordFile = flags["password-file"];
  if (flags.keystore !== undefined) {
    const keystore = path.resolve(flags.keystore);
    const password =
      passwordFile !== undefined
        ? readPasswordFile(path.resolve(passwordFile), "--password-file")
        : await askPassword(keystore);
    return readKeystoreAccount(keystore, password, "--keystore");
  }
  if (passwordFile !== undefined) throw new CliError("--password-file goes with --keystore <file>");
  const keyEnv = flags["key-env"] ?? "SIBYL_OPERATOR_KEY";
  const key = process.env[keyEnv];
  if (!key) {
    throw new CliError(
      `${keyEnv} is not set: pass --keystore <file>, or export the operator's private key (0x + 64 hex digits)`,
    );
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new CliError(`${keyEnv} is not a 0x-prefixed 32-byte hex key`);
  if (!isDevnetChain(chainId) && flags["allow-raw-key"] !== true) {
    throw new CliError(
      `${keyEnv} holds a raw private key, which only a devnet takes (chain id ${DEVNET_CHAIN_IDS.join(" or ")}), not chain ${chainId}: ` +
        `pass --keystore <file> (sibyl operator keystore import --out <file> encrypts it), or --allow-raw-key if you mean it`,
    );
  }
  return privateKeyToAccount(key as Hex);
}

function askPassword(keystore: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new CliError("--keystore: pass --password-file <file> (stdin is not a terminal to ask on)");
  }
  return readHiddenLine(`Password of ${keystore}: `);
}
