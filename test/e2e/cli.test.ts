/**
 * The CLI as a user meets it: `sibyl dev` as a process (chain, contracts, node, examples), then
 * `sibyl request`, `verify`, `status`, `models` against it from other processes, and every user
 * mistake answered with one line and a non-zero exit.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createPublicClient, createWalletClient, getAddress, type Hex, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "../../src/cli/devAccounts.js";
import { operatorLedgerAbi, sibylCoordinatorAbi } from "../../src/shared/abi/generated.js";
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

  it("sibyl dev answers its example requests, verifies each, then verifies each proven under the onchain root", () => {
    const answered =
      dev.text.match(
        /→ \w+ 0\.\d{4} .*verified: (proven under the onchain root|in the log, proof pending)/g,
      ) ?? [];
    assert.equal(answered.length, 3, dev.tail(30));
    const proven = dev.text.match(/#\d+: verified: proven under the onchain root, leaf \d+/g) ?? [];
    assert.equal(proven.length, 3, dev.tail(30));
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
    assert.match(
      sent.stdout,
      /^leaf {4}(\d+|proof pending) \(sequence \d+, delivered in 0x[0-9a-f]{64} by 0x[0-9a-fA-F]{40}\)$/m,
    );
    assert.match(
      sent.stdout,
      /^proof {3}(in the delivering transaction|later, in 0x[0-9a-f]{64}|pending: )/m,
    );
    const requestId = sent.stdout.match(/^request (\d+) sent/m)?.[1];
    assert.ok(requestId, sent.stdout);

    const valid = await runSibyl(["verify", requestId], env);
    assert.equal(valid.code, 0, valid.stderr + valid.stdout);
    // Proven under the root, or, delivered without a proof yet, committed in the queue of pending leaves.
    assert.match(
      valid.stdout,
      /^valid, (proven: leaf \d+ of request \d+ \(sequence \d+\) is in the onchain root \d+|in the log, proof pending: request \d+'s leaf \(sequence \d+\) is committed in the onchain queue)/,
    );
    assert.match(valid.stdout, /\n {2}what this means: (proven|in the log, proof pending): /);

    const claimed = await runSibyl(
      ["verify", requestId, "--output", sent.stdout.match(/^output {2}(.*)$/m)?.[1] ?? ""],
      env,
    );
    assert.equal(claimed.code, 0, claimed.stderr + claimed.stdout);
    assert.match(
      claimed.stdout,
      /^matches: "fr 0\.\d{4}" is the answer recorded for request \d+: (proven: leaf \d+|in the log, proof pending)/,
    );

    const tampered = await runSibyl(["verify", requestId, "--output", "en 0.9999"], env);
    assert.equal(tampered.code, 1, tampered.stderr + tampered.stdout);
    assert.match(
      tampered.stdout,
      /^does NOT match: "en 0\.9999" is not the answer recorded for request \d+ /,
    );
  });

  it("sibyl status and sibyl models describe the running devnet", async () => {
    const status = await runSibyl(["status"], env);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /result log {3}root \d+, next index [1-9]\d*, \d+ results proven/);
    assert.match(status.stdout, /^pending {6}(none|\d+ delivered, proof pending).*$/m);
    assert.match(status.stdout, /operator {5}0x[0-9a-fA-F]{40}: active, stake 1 ETH/);
    assert.match(status.stdout, /^operators {4}1 registered, 1 active /m);
    assert.match(
      status.stdout,
      /^ {2}0x[0-9a-fA-F]{40} {2}active, stake 1 ETH, served [1-9]\d*, missed 0, penalties 0 \(0 ETH\), slashes 0 \(0 ETH\), endpoint \S+$/m,
    );
    assert.match(status.stdout, /node {9}http:\/\/127\.0\.0\.1:\d+: jobs /);
    const models = await runSibyl(["models"], env);
    assert.equal(models.code, 0, models.stderr);
    assert.match(models.stdout, /^language-id {2}fee .* quorum 1, enabled, config 0x[0-9a-f]{64}$/m);
  });

  it("sibyl models register --quorum registers a quorum model, and sets a registered one's quorum", async () => {
    const config = path.join(stateDir, "quorum-node.json");
    const chain = { rpcUrl: deployment.rpcUrl, coordinator: deployment.coordinator };
    const models = [{ provider: "builtin", name: "language-id-q2", builtin: "language-id" }];
    await writeFile(config, JSON.stringify({ chain, models }));
    const registered = await runSibyl(["models", "register", "--node-config", config, "--quorum", "2"], env);
    assert.equal(registered.code, 0, registered.stderr);
    assert.match(registered.stdout, /^language-id-q2: registered, quorum 2 \(config 0x[0-9a-f]{64}\)$/m);
    const again = await runSibyl(["models", "register", "--node-config", config, "--quorum", "2"], env);
    assert.match(again.stdout, /^language-id-q2: already registered with this config and quorum 2$/m);
    const raised = await runSibyl(["models", "register", "--node-config", config, "--quorum", "3"], env);
    assert.match(raised.stdout, /^language-id-q2: updated, quorum 3 /m);
    const listed = await runSibyl(["models"], env);
    assert.match(listed.stdout, /^language-id-q2 {2}fee .* quorum 3, enabled, config 0x[0-9a-f]{64}$/m);
  });

  it("sibyl status off the devnet says what it cannot show instead of leaving lines out", async () => {
    const status = await runSibyl(
      ["status", "--rpc", deployment.rpcUrl, "--coordinator", deployment.coordinator],
      { ...env, SIBYL_STATE_DIR: path.join(stateDir, "empty") },
    );
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^operator {5}unknown: pass --operator <addr>/m);
    assert.match(status.stdout, /^node {9}unknown: pass --node-api <url>/m);
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
      [
        "an input the coordinator rejects, named by its custom error",
        () => ["request", "--model", "language-id", ""],
        () => env,
        /^sibyl: request reverted: EmptyInput\(model: "language-id"\)$/m,
        1,
      ],
      ["a bad request id", () => ["verify", "abc"], () => env, /not a request id: abc/, 1],
      ...["0", "17", "2.5", "two"].map((quorum): (typeof cases)[number] => [
        `a quorum of ${quorum}`,
        () => ["models", "register", "--node-config", "node.json", "--quorum", quorum],
        () => env,
        new RegExp(`--quorum: must be a whole number from 1 to 16: ${quorum.replace(".", "\\.")}$`, "m"),
        1,
      ]),
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
      // Checked before anything starts: no chain, no compile.
      const quorumAboveOperators = await runSibyl(["dev", "--operators", "2", "--quorum", "3"], env);
      assert.equal(quorumAboveOperators.code, 2);
      assert.match(
        quorumAboveOperators.stderr,
        /^sibyl: --quorum: 3 is not a whole number from 1 to 2\n\nusage: sibyl dev/,
      );
      const tooMany = await runSibyl(["dev", "--operators", "9"], env);
      assert.equal(tooMany.code, 2);
      assert.match(tooMany.stderr, /^sibyl: --operators: 9 is not a whole number from 1 to 5\n/);
    });

    it("every command has --help", async () => {
      const commands = [
        "dev",
        "deploy",
        "node",
        "request",
        "status",
        "verify",
        "models",
        "operator",
        "explorer",
      ];
      for (const command of commands) {
        const help = await runSibyl([command, "--help"], env);
        assert.equal(help.code, 0, `${command}: ${help.stderr}`);
        assert.match(help.stdout, new RegExp(`^usage: sibyl ${command}`));
      }
    });
  });

  // Last: a second operator joins and leaves again, so the devnet's own operator serves the tests above.
  describe("sibyl operator: stake, exit, withdraw from the operator's own key", () => {
    const operatorEnv = () => ({ ...env, SIBYL_OPERATOR_KEY: hardhatKey(7) });

    it("refuses a stake under minStake, naming the custom error and its values", async () => {
      const run = await runSibyl(["operator", "register", "--amount", "0.5"], operatorEnv());
      assert.equal(run.code, 1, run.stdout);
      assert.match(run.stderr, ONE_LINE_ERROR);
      assert.match(
        run.stderr,
        /registerOperator reverted: StakeTooLow\(stake: 500000000000000000, minStake: 1000000000000000000\)/,
      );
    });

    it("registers, declares and withdraws a model, exits, and keeps the stake locked through the unbonding delay", async () => {
      const registered = await runSibyl(["operator", "register"], operatorEnv());
      assert.equal(registered.code, 0, registered.stderr);
      assert.match(registered.stdout, /^0x[0-9a-fA-F]{40} is now an active operator, stake 1 ETH/);
      const served = await runSibyl(["operator", "serve", "--model", "language-id"], operatorEnv());
      assert.equal(served.code, 0, served.stderr);
      assert.match(served.stdout, /serves language-id \(1 newly declared\)/);
      const unserved = await runSibyl(["operator", "unserve", "--model", "language-id"], operatorEnv());
      assert.equal(unserved.code, 0, unserved.stderr);
      assert.match(unserved.stdout, /no longer serves language-id/);
      const again = await runSibyl(["operator", "unserve", "--model", "language-id"], operatorEnv());
      assert.equal(again.code, 1, again.stdout);
      assert.match(again.stderr, ONE_LINE_ERROR);
      assert.match(
        again.stderr,
        /withdrawModel reverted: ModelNotDeclared\(operator: 0x[0-9a-fA-F]{40}, modelId: /,
      );
      const exited = await runSibyl(["operator", "exit"], operatorEnv());
      assert.equal(exited.code, 0, exited.stderr);
      assert.match(exited.stdout, /left the active set; its stake unlocks at \d{4}-/);
      const early = await runSibyl(["operator", "withdraw", "--stake"], operatorEnv());
      assert.equal(early.code, 1, early.stdout);
      assert.match(
        early.stderr,
        /^sibyl: withdrawStake reverted: StakeLocked\(operator: 0x[0-9a-fA-F]{40}, unlockAt: \d+\)\n$/,
      );
      const noFees = await runSibyl(["operator", "withdraw"], operatorEnv());
      assert.match(noFees.stderr, /^sibyl: withdraw reverted: NothingToWithdraw\(account: 0x/);
    });

    it("sibyl status lists it as exiting, its published endpoint's control characters escaped", async () => {
      const account = privateKeyToAccount(hardhatKey(7));
      const transport = http(deployment.rpcUrl);
      const wallet = createWalletClient({ account, transport });
      // An endpoint is any text its operator chose: this one would clear the reader's terminal.
      const client = createPublicClient({ transport });
      const ledger = await client.readContract({
        address: deployment.coordinator as Hex,
        abi: sibylCoordinatorAbi,
        functionName: "ledger",
      });
      const hash = await wallet.writeContract({
        address: ledger,
        abi: operatorLedgerAbi,
        functionName: "setOperatorEndpoint",
        args: ["http://10.0.0.7:9470\u001b[2J"],
        chain: null,
      });
      await client.waitForTransactionReceipt({ hash });
      const status = await runSibyl(["status"], env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^operators {4}2 registered, 1 active /m);
      const line = status.stdout
        .split("\n")
        .find((text) => text.startsWith(`  ${getAddress(account.address)}`));
      assert.match(
        line ?? status.stdout,
        /exiting \(stake unlocks \d{4}-\d\d-\d\dT[\d:.]+Z\), stake 1 ETH, served 0, missed 0, penalties 0 \(0 ETH\), slashes 0 \(0 ETH\), endpoint http:\/\/10\.0\.0\.7:9470\\u001b\[2J$/,
      );
      assert.ok(!status.stdout.includes("\u001b"), "no escape character reaches the terminal");
    });
  });
});
