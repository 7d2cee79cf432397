/**
 * Where the operator's key comes from and when it may sign: a raw key from an environment variable
 * (devnets, or when the operator says so), or an encrypted keystore whose password comes from exactly
 * one place (a file, a variable, or a person at the terminal). Every refusal names the field to fix.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { encryptKeystoreJson } from "ethers";
import { privateKeyToAccount } from "viem/accounts";
import { ConfigError, loadConfig, parseConfig } from "../../src/node/config.js";
import { assertKeyAllowedOnChain, loadOperatorAccount } from "../../src/node/operatorKey.js";

const COORDINATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const ADDRESS = privateKeyToAccount(KEY).address;
const SEPOLIA = 11155111;

const valid = (operator?: unknown) => ({
  chain: { rpcUrl: "http://127.0.0.1:8545", coordinator: COORDINATOR },
  models: [{ provider: "builtin", name: "language-id", builtin: "language-id" }],
  ...(operator === undefined ? {} : { operator }),
});

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error;
  }
  assert.fail("no error");
}

/** A keystore of KEY in a fresh directory; light scrypt parameters keep the test fast. */
async function keystoreDir(password: string): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-keystore-"));
  const file = path.join(dir, "operator.json");
  await writeFile(
    file,
    await encryptKeystoreJson({ address: ADDRESS, privateKey: KEY }, password, { scrypt: { N: 1024 } }),
  );
  return { dir, file };
}

describe("operator key: where it comes from", () => {
  const operator = parseConfig(valid()).operator;

  it("comes from the named environment variable", async () => {
    const account = await loadOperatorAccount(operator, { SIBYL_OPERATOR_KEY: KEY });
    assert.equal(account.address, ADDRESS);
  });

  it("is refused with the variable's name when missing or malformed, without echoing it", async () => {
    await assert.rejects(
      loadOperatorAccount(operator, {}),
      /operator\.privateKeyEnv: environment variable SIBYL_OPERATOR_KEY is not set/,
    );
    const malformed = `${KEY.slice(0, -2)}zz`;
    await assert.rejects(loadOperatorAccount(operator, { SIBYL_OPERATOR_KEY: malformed }), (error: Error) => {
      assert.match(error.message, /not a 0x-prefixed 32-byte hex key/);
      assert.ok(!error.message.includes(malformed.slice(2, 20)));
      return true;
    });
  });

  it("comes from an encrypted keystore with its password in a variable; a wrong one is one clear error", async () => {
    const { file } = await keystoreDir("s3cret-pass");
    const withKeystore = { ...operator, keystore: { path: file, passwordEnv: "SIBYL_KEYSTORE_PASSWORD" } };
    const account = await loadOperatorAccount(withKeystore, { SIBYL_KEYSTORE_PASSWORD: "s3cret-pass" });
    assert.equal(account.address, ADDRESS);
    await assert.rejects(
      loadOperatorAccount(withKeystore, { SIBYL_KEYSTORE_PASSWORD: "wrong" }),
      /operator\.keystore: cannot decrypt .* \(wrong password or not a keystore file\)/,
    );
    await assert.rejects(
      loadOperatorAccount(withKeystore, {}),
      /operator\.keystore\.passwordEnv: environment variable SIBYL_KEYSTORE_PASSWORD is not set/,
    );
  });

  it("comes from a keystore with its password in a file, both found next to the config file", async () => {
    const { dir } = await keystoreDir("s3cret-pass");
    // `echo s3cret-pass > password.txt`: the final line break is not part of the password.
    await mkdir(path.join(dir, "secrets"));
    await writeFile(path.join(dir, "secrets", "password.txt"), "s3cret-pass\n");
    const configFile = path.join(dir, "node.json");
    await writeFile(
      configFile,
      JSON.stringify(valid({ keystore: { path: "operator.json", passwordFile: "secrets/password.txt" } })),
    );
    const config = loadConfig(configFile, {});
    assert.equal(config.operator.keystore?.path, path.join(dir, "operator.json"));
    assert.equal(config.operator.keystore?.passwordFile, path.join(dir, "secrets", "password.txt"));
    const account = await loadOperatorAccount(config.operator, {}, { askPassword: undefined });
    assert.equal(account.address, ADDRESS);

    await writeFile(path.join(dir, "secrets", "password.txt"), "s3cret-pass-2\n");
    await assert.rejects(loadOperatorAccount(config.operator, {}), /operator\.keystore: cannot decrypt/);
    await writeFile(path.join(dir, "secrets", "password.txt"), "\n");
    await assert.rejects(
      loadOperatorAccount(config.operator, {}),
      /^ConfigError: operator\.keystore\.passwordFile: .*password\.txt is empty$/,
    );
    const missing = {
      ...config.operator,
      keystore: { path: config.operator.keystore?.path ?? "", passwordFile: "/no/such/file" },
    };
    await assert.rejects(
      loadOperatorAccount(missing, {}),
      /^ConfigError: operator\.keystore\.passwordFile: cannot read \/no\/such\/file/,
    );
  });

  it("asks for the password when the config names no source, and refuses to start when nobody can answer", async () => {
    const { file } = await keystoreDir("typed-at-the-prompt");
    const keystoreOnly = parseConfig(valid({ keystore: { path: file } })).operator;
    const questions: string[] = [];
    const account = await loadOperatorAccount(
      keystoreOnly,
      {},
      {
        askPassword: async (question) => {
          questions.push(question);
          return "typed-at-the-prompt";
        },
      },
    );
    assert.equal(account.address, ADDRESS);
    assert.deepEqual(questions, [`Password of the operator keystore ${file}: `]);
    await assert.rejects(
      loadOperatorAccount(keystoreOnly, {}, { askPassword: undefined }),
      /^ConfigError: operator\.keystore: set operator\.keystore\.passwordFile or passwordEnv, or start the node on a terminal to type the password$/,
    );
  });

  it("takes exactly one password source, naming the field when given two", () => {
    const both = { keystore: { path: "k.json", passwordEnv: "PW", passwordFile: "pw.txt" } };
    assert.equal(
      configErrorOf(() => parseConfig(valid(both))).shortMessage,
      "invalid config: operator.keystore.passwordFile: give passwordFile or passwordEnv, not both",
    );
    assert.match(
      configErrorOf(() => parseConfig(valid({ keystore: { path: "k.json", passwordFile: "" } })))
        .shortMessage,
      /^invalid config: operator\.keystore\.passwordFile: /,
    );
    assert.match(
      configErrorOf(() => parseConfig(valid({ keystore: { passwordFile: "pw.txt" } }))).shortMessage,
      /^invalid config: operator\.keystore\.path: Required$/,
    );
    assert.match(
      configErrorOf(() => parseConfig(valid({ keystore: { path: "k.json", password: "hunter22" } })))
        .shortMessage,
      /^invalid config: operator\.keystore: Unrecognized key\(s\) in object: 'password'$/,
    );
    assert.match(
      configErrorOf(() => parseConfig(valid({ allowRawKey: "yes" }))).shortMessage,
      /^invalid config: operator\.allowRawKey: Expected boolean, received string$/,
    );
  });
});

describe("operator key: when a raw key may sign", () => {
  const raw = parseConfig(valid()).operator;

  it("signs on a devnet: Hardhat's and Anvil's 31337, Ganache's and geth --dev's 1337", () => {
    assertKeyAllowedOnChain(raw, 31337);
    assertKeyAllowedOnChain(raw, 1337);
  });

  it("is refused on any other chain with one line naming the remedy", () => {
    for (const chainId of [SEPOLIA, 1, 8453, 84532, 31338]) {
      const error = configErrorOf(() => assertKeyAllowedOnChain(raw, chainId));
      assert.equal(
        error.shortMessage,
        `operator.privateKeyEnv: a raw private key is for devnets (chain ids 31337, 1337), not chain ${chainId}: ` +
          "use an encrypted keystore (operator.keystore, made by `sibyl operator keystore new`), " +
          "or set operator.allowRawKey (sibyl node --allow-raw-key) if you mean it",
      );
      assert.ok(!error.message.includes("\n"), "one line");
    }
  });

  it("signs anywhere when the operator says they mean it (operator.allowRawKey)", () => {
    const meant = parseConfig(valid({ allowRawKey: true })).operator;
    assert.equal(meant.allowRawKey, true);
    assertKeyAllowedOnChain(meant, SEPOLIA);
    assert.equal(raw.allowRawKey, false, "off unless set");
  });

  it("never stands in the way of a keystore, on any chain", () => {
    const keystore = parseConfig(valid({ keystore: { path: "k.json", passwordFile: "pw.txt" } })).operator;
    assertKeyAllowedOnChain(keystore, SEPOLIA);
    assertKeyAllowedOnChain(keystore, 1);
  });
});
