/**
 * Keys as an operator meets them, every command a process: an encrypted keystore made by `sibyl
 * operator keystore`, its password from a file or typed at a real terminal (never echoed), and every
 * mistake answered with one line naming what to fix, no stack trace.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { decryptKeystoreJson } from "ethers";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "../../src/cli/devAccounts.js";
import { answer, personEnv, SCRIPT_BINARY, sibylOnPipe, sibylOnTerminal } from "../helpers/terminal.js";

const ONE_LINE_ERROR = /^sibyl: [^\n]+\n$/;
const COORDINATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("keys: sibyl operator keystore and sibyl node's key options (processes)", function () {
  this.timeout(120_000);
  let dir: string;
  let env: NodeJS.ProcessEnv;

  /** Runs `sibyl <args>` with stdin a pipe that is closed at once: nobody at a terminal. */
  async function sibyl(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
    const run = sibylOnPipe(args, { env: { ...env, ...extraEnv } });
    run.child.stdin?.end();
    const { code } = await run.exited;
    return { code, output: run.text };
  }

  async function keystoreOf(file: string, password: string) {
    return decryptKeystoreJson(await readFile(file, "utf8"), password);
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-keys-"));
    env = personEnv({ SIBYL_STATE_DIR: path.join(dir, ".sibyl") });
    await writeFile(path.join(dir, "password.txt"), "correct horse battery\n");
    await writeFile(path.join(dir, "short.txt"), "1234567\n");
  });

  describe("sibyl operator keystore", () => {
    it("new: a fresh key encrypted into a file only its owner can read, never overwritten", async () => {
      const out = path.join(dir, "new.json");
      const made = await sibyl([
        "operator",
        "keystore",
        "new",
        "--out",
        out,
        "--password-file",
        path.join(dir, "password.txt"),
      ]);
      assert.equal(made.code, 0, made.output);
      const address = made.output.match(/^(0x[0-9a-fA-F]{40}) {2}encrypted into (.+)$/m);
      assert.ok(address, made.output);
      assert.equal(address[2], out);
      const keystore = await keystoreOf(out, "correct horse battery");
      assert.equal(keystore.address, address[1]);
      assert.equal((await stat(out)).mode & 0o777, 0o600);

      const before = await readFile(out, "utf8");
      const again = await sibyl([
        "operator",
        "keystore",
        "new",
        "--out",
        out,
        "--password-file",
        path.join(dir, "password.txt"),
      ]);
      assert.equal(again.code, 1);
      assert.match(again.output, ONE_LINE_ERROR);
      assert.match(
        again.output,
        /--out: .*new\.json exists; a keystore is never overwritten: choose another file/,
      );
      assert.equal(await readFile(out, "utf8"), before, "the first key is still there");
    });

    it("import: the raw key of an environment variable, encrypted", async () => {
      const key = hardhatKey(9);
      const out = path.join(dir, "imported.json");
      const imported = await sibyl(
        [
          "operator",
          "keystore",
          "import",
          "--key-env",
          "MY_KEY",
          "--out",
          out,
          "--password-file",
          path.join(dir, "password.txt"),
        ],
        { MY_KEY: key },
      );
      assert.equal(imported.code, 0, imported.output);
      assert.ok(imported.output.startsWith(privateKeyToAccount(key).address), imported.output);
      assert.ok(!imported.output.includes(key.slice(2)), "the key is not printed");
      assert.equal((await keystoreOf(out, "correct horse battery")).privateKey, key);
    });

    it("user mistakes: one line each, nothing written", async () => {
      const out = path.join(dir, "mistake.json");
      const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
        [
          ["new", "--out", out, "--password-file", path.join(dir, "short.txt")],
          {},
          /^sibyl: the password must have at least 8 characters: nothing was written\n$/,
        ],
        [
          ["new", "--out", out],
          {},
          /^sibyl: pass --password-file <file> \(stdin is not a terminal to ask on\)\n$/,
        ],
        [
          ["import", "--out", out, "--password-file", path.join(dir, "password.txt")],
          {},
          /^sibyl: SIBYL_OPERATOR_KEY is not set: export the key to import \(0x \+ 64 hex digits\)\n$/,
        ],
        [
          ["new", "--out", out, "--password-file", path.join(dir, "missing.txt")],
          {},
          /^sibyl: --password-file: cannot read .*missing\.txt\n$/,
        ],
      ];
      for (const [args, extraEnv, message] of cases) {
        const run = await sibyl(["operator", "keystore", ...args], extraEnv);
        assert.equal(run.code, 1, run.output);
        assert.match(run.output, message);
      }
      await assert.rejects(stat(out), { code: "ENOENT" });
      const noOut = await sibyl(["operator", "keystore", "new"]);
      assert.equal(noOut.code, 2);
      assert.match(
        noOut.output,
        /^sibyl: sibyl operator keystore new needs --out <file>\n\nusage: sibyl operator keystore/,
      );
    });

    it("on a terminal: asks twice without echoing, and writes nothing when the two differ", async function () {
      if (SCRIPT_BINARY === undefined) this.skip();
      const out = path.join(dir, "typed.json");
      const differ = sibylOnTerminal(["operator", "keystore", "new", "--out", out], { env });
      await answer(differ, "Password for the new keystore: ", "typed-password-1");
      await answer(differ, "The same password again: ", "typed-password-2");
      assert.equal((await differ.exited).code, 1, differ.text);
      assert.match(differ.text, /sibyl: the two passwords differ: nothing was written/);
      await assert.rejects(stat(out), { code: "ENOENT" });

      const typed = sibylOnTerminal(["operator", "keystore", "new", "--out", out], { env });
      await answer(typed, "Password for the new keystore: ", "typed-password-1");
      await answer(typed, "The same password again: ", "typed-password-1");
      assert.equal((await typed.exited).code, 0, typed.text);
      assert.ok(!typed.text.includes("typed-password"), `echoed: ${typed.text}`);
      assert.match((await keystoreOf(out, "typed-password-1")).address, /^0x[0-9a-fA-F]{40}$/);
    });
  });

  describe("sibyl node: the keystore and its password", () => {
    let keystore: string;
    let address: string;
    const config = (operator: unknown) => ({
      // Nothing listens on port 1: a node that got its key stops at the chain, saying so.
      chain: { rpcUrl: "http://127.0.0.1:1", coordinator: COORDINATOR },
      models: [{ provider: "builtin", name: "language-id", builtin: "language-id" }],
      operator,
      api: { enabled: false },
    });
    const writeConfig = async (name: string, operator: unknown) => {
      const file = path.join(dir, name);
      await writeFile(file, JSON.stringify(config(operator)));
      return file;
    };

    before(async () => {
      keystore = path.join(dir, "node-operator.json");
      const made = await sibyl([
        "operator",
        "keystore",
        "new",
        "--out",
        keystore,
        "--password-file",
        path.join(dir, "password.txt"),
      ]);
      address = made.output.slice(0, 42);
    });

    it("reads the keystore with the password file named in the config (relative to it), or by --password-file", async () => {
      const inConfig = await writeConfig("node-file.json", {
        keystore: { path: "node-operator.json", passwordFile: "password.txt" },
      });
      const fromConfig = await sibyl(["node", "--config", inConfig]);
      assert.equal(fromConfig.code, 1);
      // Past the key, at the chain: the keystore was decrypted.
      assert.equal(fromConfig.output, "sibyl: chain.rpcUrl: cannot reach http://127.0.0.1:1\n");

      const bare = await writeConfig("node-bare.json", undefined);
      const byFlags = await sibyl([
        "node",
        "--config",
        bare,
        "--keystore",
        keystore,
        "--password-file",
        path.join(dir, "password.txt"),
      ]);
      assert.equal(byFlags.output, "sibyl: chain.rpcUrl: cannot reach http://127.0.0.1:1\n");
      const wrong = await sibyl([
        "node",
        "--config",
        bare,
        "--keystore",
        keystore,
        "--password-file",
        path.join(dir, "short.txt"),
      ]);
      assert.equal(wrong.code, 1);
      assert.equal(
        wrong.output,
        `sibyl: operator.keystore: cannot decrypt ${keystore} (wrong password or not a keystore file)\n`,
      );
    });

    it("user mistakes in the key's settings: one line naming the field, before anything starts", async () => {
      const both = await writeConfig("node-both.json", {
        keystore: { path: "node-operator.json", passwordFile: "password.txt", passwordEnv: "PW" },
      });
      const ambiguous = await sibyl(["node", "--config", both]);
      assert.equal(ambiguous.code, 1);
      assert.equal(
        ambiguous.output,
        "sibyl: invalid config: operator.keystore.passwordFile: give passwordFile or passwordEnv, not both\n",
      );

      const none = await writeConfig("node-none.json", { keystore: { path: "node-operator.json" } });
      const nobodyToAsk = await sibyl(["node", "--config", none]);
      assert.equal(nobodyToAsk.code, 1);
      assert.equal(
        nobodyToAsk.output,
        "sibyl: operator.keystore: set operator.keystore.passwordFile or passwordEnv, or start the node on a terminal to type the password\n",
      );

      const bare = await writeConfig("node-bare.json", undefined);
      const strayPassword = await sibyl([
        "node",
        "--config",
        bare,
        "--password-file",
        path.join(dir, "password.txt"),
      ]);
      assert.equal(strayPassword.code, 2);
      assert.match(
        strayPassword.output,
        /^sibyl: --password-file goes with --keystore <file> \(or operator\.keystore in the config\)\n\nusage: sibyl node/,
      );
      for (const run of [ambiguous, nobodyToAsk]) assert.ok(!/\n\s+at /.test(run.output), "no stack trace");
    });

    it("on a terminal with no password configured: asks for it, echoing nothing", async function () {
      if (SCRIPT_BINARY === undefined) this.skip();
      const none = await writeConfig("node-none.json", { keystore: { path: "node-operator.json" } });
      const typed = sibylOnTerminal(["node", "--config", none], { env });
      await answer(typed, `Password of the operator keystore ${keystore}: `, "correct horse battery");
      assert.equal((await typed.exited).code, 1, typed.text);
      assert.match(typed.text, /sibyl: chain\.rpcUrl: cannot reach http:\/\/127\.0\.0\.1:1/);
      assert.ok(!typed.text.includes("horse"), `echoed: ${typed.text}`);

      const mistyped = sibylOnTerminal(["node", "--config", none], { env });
      await answer(mistyped, "Password of the operator keystore", "correct horse batery");
      assert.equal((await mistyped.exited).code, 1, mistyped.text);
      assert.match(
        mistyped.text,
        /sibyl: operator\.keystore: cannot decrypt .* \(wrong password or not a keystore file\)/,
      );
      assert.ok(address.startsWith("0x"));
    });
  });
});
