/**
 * `sibyl operator keystore new|import`: an operator's key in an encrypted JSON keystore (Web3 Secret
 * Storage v3, scrypt), the file `sibyl node --keystore` and `sibyl operator --keystore` read, so no raw
 * key has to sit in an environment variable off a devnet.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { encryptKeystoreJson, Wallet } from "ethers";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { readHiddenLine } from "../../node/hiddenPrompt.js";
import { readPasswordFile } from "../../node/keystoreFile.js";
import { CliError, UsageError } from "../errors.js";

const MIN_PASSWORD_LENGTH = 8;

export const KEYSTORE_USAGE = `usage: sibyl operator keystore new --out <file> [--password-file <file>]
       sibyl operator keystore import --out <file> [--key-env <NAME>] [--password-file <file>]

  new       a fresh random key, encrypted into <file>; prints its address (fund it, then register)
  import    the raw key in --key-env (default SIBYL_OPERATOR_KEY), encrypted into <file>

Options:
  --out <file>            where to write the keystore; an existing file is never overwritten
  --password-file <file>  the password (at least ${MIN_PASSWORD_LENGTH} characters; one final line break is ignored);
                          without it, the password is asked twice on the terminal
  --key-env <NAME>        import: the environment variable that holds the key
  -h, --help              show this help

Then: sibyl node --config node.json --keystore <file> --password-file <file>
`;

export async function operatorKeystoreCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      "password-file": { type: "string" },
      "key-env": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    process.stdout.write(KEYSTORE_USAGE);
    return 0;
  }
  const [action] = positionals;
  if (positionals.length !== 1 || (action !== "new" && action !== "import")) {
    throw new UsageError("sibyl operator keystore takes one of: new, import", KEYSTORE_USAGE);
  }
  if (values.out === undefined)
    throw new UsageError(`sibyl operator keystore ${action} needs --out <file>`, KEYSTORE_USAGE);
  if (action === "new" && values["key-env"] !== undefined) {
    throw new UsageError("--key-env is for import: new makes a fresh key", KEYSTORE_USAGE);
  }
  const privateKey =
    action === "new" ? (Wallet.createRandom().privateKey as Hex) : keyFromEnv(values["key-env"]);
  const password = await newPassword(values["password-file"]);
  const { address } = privateKeyToAccount(privateKey);
  const json = await encryptKeystoreJson({ address, privateKey }, password);
  const out = path.resolve(values.out);
  try {
    // Readable by its owner only; "wx": a keystore already there may be the only copy of a funded key.
    writeFileSync(out, `${json}\n`, { flag: "wx", mode: 0o600 });
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === "EEXIST";
    throw new CliError(
      exists
        ? `--out: ${out} exists; a keystore is never overwritten: choose another file`
        : `--out: cannot write ${out}`,
      { cause: error },
    );
  }
  process.stdout.write(`${address}  encrypted into ${out}\n`);
  return 0;
}

function keyFromEnv(keyEnv = "SIBYL_OPERATOR_KEY"): Hex {
  const key = process.env[keyEnv];
  if (!key) throw new CliError(`${keyEnv} is not set: export the key to import (0x + 64 hex digits)`);
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new CliError(`${keyEnv} is not a 0x-prefixed 32-byte hex key`);
  return key as Hex;
}

async function newPassword(passwordFile: string | undefined): Promise<string> {
  let password: string;
  if (passwordFile !== undefined) {
    password = readPasswordFile(path.resolve(passwordFile), "--password-file");
  } else {
    if (!process.stdin.isTTY) {
      throw new CliError("pass --password-file <file> (stdin is not a terminal to ask on)");
    }
    password = await readHiddenLine("Password for the new keystore: ");
    if (
      password.length >= MIN_PASSWORD_LENGTH &&
      (await readHiddenLine("The same password again: ")) !== password
    ) {
      throw new CliError("the two passwords differ: nothing was written");
    }
  }
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new CliError(
      `the password must have at least ${MIN_PASSWORD_LENGTH} characters: nothing was written`,
    );
  }
  return password;
}
