/**
 * The CLI as a user meets it: `sibyl dev` as a process (chain, contracts, node, examples), then
 * `sibyl request`, `verify`, `status`, `models` against it from other processes, and every user
 * mistake answered with one line and a non-zero exit.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type ChildRun, freePort, runSibyl, startSibyl } from "../helpers/processes.js";

const ONE_LINE_ERROR = /^sibyl: [^\n]+\n$/;

describe("sibyl CLI end to end (sibyl dev as a process)", function () {
  this.timeout(300_000);
  let dev: ChildRun;
  let stateDir: string;
  let env: NodeJS.ProcessEnv;
  let deployment: { rpcUrl: string; coordinator: string };

  before(async () => {
    stateDir = await mkdtemp(path.join(os.tmpdir(), "sibyl-dev-"));
    // No OpenAI model on the devnet, whatever the machine's environment says.
    env = { SIBYL_STATE_DIR: stateDir, OPENAI_API_KEY: "" };
    const [port, apiPort] = [await freePort(), await freePort()];
    dev = startSibyl(["dev", "--port", String(port), "--api-port", String(apiPort)], env);
    await dev.waitFor("Sibyl devnet is running", 240_000);
    deployment = JSON.parse(await readFile(path.join(stateDir, "deployment.json"), "utf8"));
  });

  after(async () => {
    if (dev) {
      const exit = await dev.stop("SIGINT");
      assert.equal(exit.code, 0, `sibyl dev exit ${JSON.stringify(exit)}:\n${dev.tail()}`);
      assert.match(dev.text, /Stopping/);
    }
  });

  it("sibyl dev answers its example requests with proofs and verifies each against the onchain root", () => {
    const verified = dev.text.match(/verified against the onchain root/g) ?? [];
    assert.equal(verified.length, 3, dev.tail(30));
    assert.match(dev.text, /→ en 0\.\d{4}/);
    assert.match(dev.text, /→ fr 0\.\d{4}/);
    assert.match(dev.text, /→ de 0\.\d{4}/);
  });

  it("sibyl request sends, waits and prints the answer; sibyl verify accepts it and rejects a tampered one", async () => {
    const sent = await runSibyl(
      ["request", "--model", "language-id", "Bonjour tout le monde, comment allez-vous ?"],
      env,
    );
    assert.equal(sent.code, 0, sent.stderr + sent.stdout);
    assert.match(sent.stdout, /status {2}Ok/);
    assert.match(sent.stdout, /output {2}fr 0\.\d{4}/);
    const requestId = sent.stdout.match(/^request (\d+) sent/m)?.[1];
    assert.ok(requestId, sent.stdout);

    const valid = await runSibyl(["verify", requestId], env);
    assert.equal(valid.code, 0, valid.stderr + valid.stdout);
    assert.match(valid.stdout, /^valid: leaf \d+ of request \d+ is in the onchain root \d+/);

    const tampered = await runSibyl(["verify", requestId, "--output", "en 0.9999"], env);
    assert.equal(tampered.code, 1, tampered.stderr + tampered.stdout);
    assert.match(tampered.stdout, /^INVALID: /);
  });

  it("sibyl status and sibyl models describe the running devnet", async () => {
    const status = await runSibyl(["status"], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /result log {3}root \d+, next index [1-9]\d*/);
    assert.match(status.stdout, /operator {5}0x[0-9a-fA-F]{40}: active, stake 1 ETH/);
    assert.match(status.stdout, /node {9}http:\/\/127\.0\.0\.1:\d+: jobs /);
    const models = await runSibyl(["models"], env);
    assert.equal(models.code, 0, models.stderr);
    assert.match(models.stdout, /^language-id {2}fee .* enabled, config 0x[0-9a-f]{64}$/m);
  });

  describe("user mistakes: one line, non-zero exit, no stack trace", () => {
    const cases: Array<[string, () => string[], () => NodeJS.ProcessEnv, RegExp, number]> = [
      [
        "a bad address",
        () => ["status", "--rpc", deployment.rpcUrl, "--coordinator", "0x1234"],
        () => env,
        /--coordinator: not an address: 0x1234/,
        1,
      ],
      [
        "an unknown model",
        () => ["request", "--model", "no-such-model", "hi"],
        () => env,
        /unknown model "no-such-model" on coordinator 0x/,
        1,
      ],
      [
        "an RPC that is down",
        () => ["status", "--rpc", "http://127.0.0.1:1", "--coordinator", deployment.coordinator],
        () => env,
        /cannot reach the chain at http:\/\/127\.0\.0\.1:1/,
        1,
      ],
      [
        "a missing key",
        () => [
          "request",
          "--model",
          "language-id",
          "hi",
          "--rpc",
          deployment.rpcUrl,
          "--coordinator",
          deployment.coordinator,
        ],
        () => ({ ...env, SIBYL_STATE_DIR: path.join(stateDir, "empty") }),
        /SIBYL_USER_KEY is not set/,
        1,
      ],
      [
        "no deployment",
        () => ["status"],
        () => ({ ...env, SIBYL_STATE_DIR: path.join(stateDir, "empty") }),
        /no deployment: pass --rpc and --coordinator/,
        1,
      ],
      ["a bad request id", () => ["verify", "abc"], () => env, /not a request id: abc/, 1],
      ["an unknown option", () => ["status", "--bogus"], () => env, /Unknown option '--bogus'/, 2],
    ];
    for (const [what, args, envOf, message, code] of cases) {
      it(what, async () => {
        const run = await runSibyl(args(), envOf());
        assert.equal(run.code, code, run.stderr);
        assert.match(run.stderr, ONE_LINE_ERROR);
        assert.match(run.stderr, message);
      });
    }

    it("an unknown command or a missing required option prints the usage and exits 2", async () => {
      const unknown = await runSibyl(["frobnicate"], env);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^sibyl: unknown command: frobnicate\n\nusage: sibyl <command>/);
      const noModel = await runSibyl(["request", "hi"], env);
      assert.equal(noModel.code, 2);
      assert.match(noModel.stderr, /^sibyl: sibyl request needs --model <name>\n\nusage: sibyl request/);
    });

    it("every command has --help", async () => {
      for (const command of ["dev", "deploy", "node", "request", "status", "verify", "models", "explorer"]) {
        const help = await runSibyl([command, "--help"], env);
        assert.equal(help.code, 0, `${command}: ${help.stderr}`);
        assert.match(help.stdout, new RegExp(`^usage: sibyl ${command}`));
      }
    });
  });
});
