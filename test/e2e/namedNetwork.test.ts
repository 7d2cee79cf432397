/**
 * The README's public-testnet walk-through, followed against a local chain that has Sepolia's chain id
 * and chain type (`hardhat node --chain-id 11155111 --chain-type l1`): everything but the internet. The
 * deployer's key goes into Hardhat's encrypted keystore (`npx hardhat keystore set`, in a keystore
 * directory of the test's own); `sibyl deploy --network sepolia` takes it from there, the config's
 * chain id checked; the operator signs from a keystore file; no raw key signs anything.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  type Address,
  createPublicClient,
  getAddress,
  type Hex,
  http,
  type PublicClient,
  parseEther,
  toHex,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "../../src/cli/devAccounts.js";
import { operatorLedgerAbi, sibylCoordinatorAbi } from "../../src/shared/abi/generated.js";
import { ChildRun, freePort, REPO_ROOT } from "../helpers/processes.js";
import { answer, hardhatOnPipe, personEnv, sibylOnPipe } from "../helpers/terminal.js";

const SEPOLIA = 11155111;
const KEYSTORE_PASSWORD = "deployer keystore password";
const HARDHAT_CONFIG = path.join(REPO_ROOT, "hardhat.config.ts");

describe("a public testnet walk-through on a local chain with Sepolia's chain id (processes)", function () {
  this.timeout(600_000);
  let chain: ChildRun;
  let url: string;
  let client: PublicClient;
  let project: string;
  let env: NodeJS.ProcessEnv;
  const deployerKey = generatePrivateKey();
  const deployer = privateKeyToAccount(deployerKey).address;
  let coordinator: Address;

  async function run(child: ChildRun) {
    const { code } = await child.exited;
    return { code, output: child.text };
  }

  /** `sibyl <args>` in the project directory, nobody at the terminal. */
  function sibyl(args: string[], extraEnv: NodeJS.ProcessEnv = {}, cwd = project) {
    const child = sibylOnPipe(args, { cwd, env: { ...env, ...extraEnv } });
    child.child.stdin?.end();
    return run(child);
  }

  /** `sibyl deploy --network sepolia`, typing `password` when Hardhat's keystore asks for it. */
  async function deployToSepolia(password: string) {
    const child = sibylOnPipe(["deploy", "--network", "sepolia"], { cwd: project, env });
    await answer(child, "Enter the password", password);
    return run(child);
  }

  async function fund(address: Address) {
    await client.request({
      method: "hardhat_setBalance" as never,
      params: [address, toHex(parseEther("10"))] as never,
    });
  }

  before(async () => {
    const port = await freePort();
    chain = new ChildRun(
      spawn(
        path.join(REPO_ROOT, "node_modules/.bin/hardhat"),
        [
          "node",
          "--port",
          String(port),
          "--hostname",
          "127.0.0.1",
          "--chain-id",
          String(SEPOLIA),
          "--chain-type",
          "l1",
        ],
        { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
      ),
    );
    url = `http://127.0.0.1:${port}`;
    await chain.waitFor(url, 60_000);
    client = createPublicClient({ transport: http(url) }) as PublicClient;
    project = await mkdtemp(path.join(os.tmpdir(), "sibyl-sepolia-"));
    env = personEnv({
      // Hardhat's keystore lives in its config directory: the test's own, not the machine's.
      XDG_CONFIG_HOME: path.join(project, "config"),
      HARDHAT_CONFIG,
      SEPOLIA_RPC_URL: url,
      SIBYL_STATE_DIR: path.join(project, ".sibyl"),
    });
  });

  after(async () => {
    await chain?.stop();
  });

  it("npx hardhat keystore set SEPOLIA_PRIVATE_KEY: the deployer's key, encrypted", async () => {
    assert.equal(await client.getChainId(), SEPOLIA);
    const set = hardhatOnPipe(["keystore", "set", "SEPOLIA_PRIVATE_KEY"], { env });
    await answer(set, "Enter the password", KEYSTORE_PASSWORD);
    await answer(set, "Please confirm your password", KEYSTORE_PASSWORD);
    await answer(set, "Enter secret to store", deployerKey);
    // Hardhat's readline keeps a piped stdin open after the last question; a terminal would be closed.
    set.child.stdin?.end();
    const { code, output } = await run(set);
    assert.equal(code, 0, output);
    assert.match(output, /Key "SEPOLIA_PRIVATE_KEY" set in the production keystore/);
    const keystore = await readFile(path.join(project, "config", "hardhat-nodejs", "keystore.json"), "utf8");
    assert.ok(!keystore.includes(deployerKey.slice(2)), "the key is not in the file in clear");
  });

  it("sibyl deploy --network sepolia: a wrong keystore password is one line, and nothing is sent", async () => {
    const { code, output } = await deployToSepolia("not the password");
    assert.equal(code, 1, output);
    // Hardhat's question, then (a pipe echoes no Enter) the CLI's one line.
    const [question, error] = output.split(/(?=sibyl: )/);
    assert.equal(question, "[hardhat-keystore] Enter the password: ");
    assert.equal(
      error,
      `sibyl: --network sepolia (${HARDHAT_CONFIG}): HHE50000: Invalid password or corrupted keystore file.\n`,
    );
    assert.equal(await client.getTransactionCount({ address: deployer }), 0);
  });

  it("sibyl deploy --network sepolia: deploys with the keystore's key, journaled per chain", async () => {
    await fund(deployer);
    const { code, output } = await deployToSepolia(KEYSTORE_PASSWORD);
    assert.equal(code, 0, output);
    assert.match(output, /^journal {6}ignition\/deployments\/chain-11155111 \(a rerun resumes it\)$/m);
    coordinator = getAddress(output.match(/^coordinator {2}(0x[0-9a-fA-F]{40})$/m)?.[1] ?? "");
    assert.equal(
      await client.readContract({ address: coordinator, abi: sibylCoordinatorAbi, functionName: "owner" }),
      deployer,
      "the keystore's key deployed and owns the coordinator",
    );
    const journal = path.join(
      project,
      "ignition",
      "deployments",
      `chain-${SEPOLIA}`,
      "deployed_addresses.json",
    );
    assert.ok((await stat(journal)).isFile());
    const record = JSON.parse(await readFile(path.join(project, ".sibyl", "deployment.json"), "utf8"));
    assert.equal(record.network, "sepolia");
    assert.equal(record.chainId, SEPOLIA);
    assert.equal(record.coordinator, coordinator);
    assert.equal(record.rpcUrl, undefined, "a provider's URL (and its API key) is not written down");

    const sent = await client.getTransactionCount({ address: deployer });
    const again = await deployToSepolia(KEYSTORE_PASSWORD);
    assert.equal(again.code, 0, again.output);
    assert.match(again.output, new RegExp(`^coordinator {2}${coordinator}$`, "m"));
    assert.equal(await client.getTransactionCount({ address: deployer }), sent, "the rerun sent nothing");
  });

  it("sibyl deploy --network: a URL of another chain is refused before anything is sent", async () => {
    const { code, output } = await sibyl(["deploy", "--network", "baseSepolia"], {
      BASE_SEPOLIA_RPC_URL: url,
      BASE_SEPOLIA_PRIVATE_KEY: hardhatKey(8),
    });
    assert.equal(code, 1, output);
    assert.match(
      output,
      /^sibyl: --network baseSepolia \(.*\): HHE708: Hardhat was set to use chain id "84532", but connected to a chain with id "11155111"\.\n$/,
    );
    assert.equal(
      await client.getTransactionCount({ address: privateKeyToAccount(hardhatKey(8)).address }),
      0,
    );
  });

  it("sibyl deploy --network with --rpc or --owner-key-env: one line, before anything starts", async () => {
    for (const extra of [
      ["--rpc", url],
      ["--owner-key-env", "SIBYL_OWNER_KEY"],
    ]) {
      const { code, output } = await sibyl(["deploy", "--network", "sepolia", ...extra]);
      assert.equal(code, 1, output);
      assert.equal(
        output,
        "sibyl: --network names both the chain and the key, so it goes without --rpc, --owner-key-env and --upgrade\n",
      );
    }
  });

  it("the operator: a raw key is refused off a devnet; a keystore file registers", async () => {
    const chainEnv = { SIBYL_RPC_URL: url };
    const raw = await sibyl(["operator", "register"], { ...chainEnv, SIBYL_OPERATOR_KEY: hardhatKey(5) });
    assert.equal(raw.code, 1, raw.output);
    assert.equal(
      raw.output,
      "sibyl: SIBYL_OPERATOR_KEY holds a raw private key, which only a devnet takes (chain id 31337 or 1337), not chain 11155111: " +
        "pass --keystore <file> (sibyl operator keystore import --out <file> encrypts it), or --allow-raw-key if you mean it\n",
    );

    await writeFile(path.join(project, "operator-password.txt"), "operator keystore password\n");
    const keystoreFlags = ["--keystore", "operator.json", "--password-file", "operator-password.txt"];
    const made = await sibyl([
      "operator",
      "keystore",
      "new",
      "--out",
      "operator.json",
      "--password-file",
      "operator-password.txt",
    ]);
    assert.equal(made.code, 0, made.output);
    const operator = getAddress(made.output.slice(0, 42));
    await fund(operator);
    const registered = await sibyl(["operator", "register", ...keystoreFlags], chainEnv);
    assert.equal(registered.code, 0, registered.output);
    assert.equal(registered.output, `${operator} is now an active operator, stake 1 ETH\n`);
    const ledger = await client.readContract({
      address: coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "ledger",
    });
    const { active } = await client.readContract({
      address: ledger,
      abi: operatorLedgerAbi,
      functionName: "operatorOf",
      args: [operator],
    });
    assert.equal(active, true);
  });

  it("sibyl node --keystore --password-file serves a request on the chain", async () => {
    const record = JSON.parse(await readFile(path.join(project, ".sibyl", "deployment.json"), "utf8"));
    const config = path.join(project, "node.json");
    await writeFile(
      config,
      JSON.stringify({
        chain: { rpcUrl: url, coordinator, deploymentBlock: Number(record.deploymentBlock) },
        models: [{ provider: "builtin", name: "language-id", builtin: "language-id" }],
        database: { path: "node.db" },
        proving: { maxWaitMs: 1_000 },
        api: { port: await freePort() },
        cosigning: { port: 0 },
      }),
    );
    // From the repository: the node's prover process loads its TypeScript through the repository's tsx.
    const node = sibylOnPipe(
      [
        "node",
        "--config",
        config,
        "--keystore",
        path.join(project, "operator.json"),
        "--password-file",
        path.join(project, "operator-password.txt"),
      ],
      { cwd: REPO_ROOT, env },
    );
    try {
      await node.waitFor("sibyl node started", 120_000);
      const asked = await sibyl(
        ["request", "--model", "language-id", "Bonjour tout le monde, comment allez-vous ?"],
        {
          SIBYL_RPC_URL: url,
          SIBYL_USER_KEY: hardhatKey(2) as Hex,
        },
      );
      assert.equal(asked.code, 0, `${asked.output}\n${node.tail()}`);
      assert.match(asked.output, /status {2}Ok/);
      assert.match(asked.output, /output {2}fr 0\.\d{4}/);
    } finally {
      const exit = await node.stop("SIGINT");
      assert.equal(exit.code, 0, node.tail());
    }
  });
});
