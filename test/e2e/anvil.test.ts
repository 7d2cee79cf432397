/**
 * Sibyl on Foundry's anvil (automine), the other local chain users run: deploy, stake, the node as it
 * runs in production (over HTTP), requests sent by a plain JSON-RPC client (no viem wallet, no SDK),
 * and a burst on automine, where anvil moves an account's nonce before it serves the receipt.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import {
  type Address,
  createPublicClient,
  encodeFunctionData,
  type Hex,
  http,
  type PublicClient,
  toHex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "../../src/cli/devAccounts.js";
import { deploySibylStack, registerOperator, type SibylDeployment } from "../../src/deploy/index.js";
import { parseConfig } from "../../src/node/config.js";
import { type RunningNode, startNode } from "../../src/node/daemon.js";
import { createLogger } from "../../src/node/observe/logger.js";
import { verifyResult, waitForResult } from "../../src/sdk/index.js";
import { sibylCoordinatorAbi } from "../../src/shared/abi/generated.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { ChildRun, freePort } from "../helpers/processes.js";

const MODEL = modelIdFromName("language-id");

/** The anvil binary from npm, or undefined on a platform it does not ship for. */
function anvilBinary(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return undefined;
  return createRequire(import.meta.url).resolve("@foundry-rs/anvil-linux-amd64/bin/anvil");
}

describe("on Foundry's anvil, with a plain JSON-RPC client", function () {
  this.timeout(240_000);
  let anvil: ChildRun;
  let url: string;
  let deployment: SibylDeployment;
  let node: RunningNode;
  let client: PublicClient;
  let dir: string;
  const warnings: string[] = [];
  let user: Address;

  /** One JSON-RPC call over fetch: the kind of client `cast` is. */
  async function rpc<T>(method: string, params: unknown[] = []): Promise<T> {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await response.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  }

  /**
   * Sends `request(language-id, input, 0, user)` from an unlocked account, escrowing the fee quoted at
   * twice the latest base fee plus a 1 gwei tip (what a `cast` user would pass); its request id.
   */
  async function request(input: string): Promise<bigint> {
    const block = await rpc<{ baseFeePerGas: Hex }>("eth_getBlockByNumber", ["latest", false]);
    const gasPrice = 2n * BigInt(block.baseFeePerGas) + 10n ** 9n;
    const fee = await rpc<Hex>("eth_call", [
      {
        to: deployment.coordinator,
        data: encodeFunctionData({
          abi: sibylCoordinatorAbi,
          functionName: "estimateFee",
          args: [MODEL, 0, gasPrice],
        }),
      },
      "latest",
    ]);
    const hash = await rpc<Hex>("eth_sendTransaction", [
      {
        from: user,
        to: deployment.coordinator,
        value: fee,
        data: encodeFunctionData({
          abi: sibylCoordinatorAbi,
          functionName: "request",
          args: [MODEL, toHex(input), 0, user],
        }),
      },
    ]);
    // anvil may answer null for a moment after mining, as a plain client sees it: poll like `cast` does.
    let receipt: { status: Hex; logs: Array<{ address: string; topics: Hex[] }> } | null = null;
    for (let attempt = 0; receipt === null && attempt < 100; attempt++) {
      receipt = await rpc("eth_getTransactionReceipt", [hash]);
      if (receipt === null) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(receipt, `no receipt for ${hash}`);
    assert.equal(receipt.status, "0x1");
    const requested = receipt.logs.find(
      (log) => log.address.toLowerCase() === deployment.coordinator.toLowerCase(),
    );
    assert.ok(requested?.topics[1], "no InferenceRequested event");
    return BigInt(requested.topics[1]);
  }

  async function answered(requestId: bigint) {
    const result = await waitForResult(client, {
      coordinator: deployment.coordinator,
      requestId,
      timeoutMs: 60_000,
      fromBlock: deployment.deploymentBlock,
    });
    assert.equal(result.status, ResultStatus.Ok, `request ${requestId}: status ${result.status}`);
    return result;
  }

  before(async function () {
    const binary = anvilBinary();
    if (binary === undefined) this.skip();
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    anvil = new ChildRun(
      spawn(binary as string, ["--port", String(port)], { stdio: ["ignore", "pipe", "pipe"] }),
    );
    await anvil.waitFor("Listening on", 30_000);
    // anvil's unlocked accounts are Hardhat's (the same public test mnemonic): #0 deploys, #1 operates.
    const connection = { provider: http(url)({}) };
    deployment = await deploySibylStack(connection);
    await registerOperator(connection, { coordinator: deployment.coordinator, operator: 1 });
    user = privateKeyToAccount(hardhatKey(2)).address;
    client = createPublicClient({ transport: http(url), pollingInterval: 100 }) as PublicClient;
    dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-anvil-"));
    const config = parseConfig({
      chain: {
        rpcUrl: url,
        coordinator: deployment.coordinator,
        deploymentBlock: deployment.deploymentBlock,
        pollIntervalMs: 100,
      },
      database: { path: path.join(dir, "node.db") },
      models: [{ provider: "builtin", name: "language-id", builtin: "language-id" }],
      batching: { maxSize: 4, maxWaitMs: 50 },
      api: { enabled: false },
    });
    const destination = new Writable({
      write(chunk, _encoding, done) {
        warnings.push(String(chunk));
        done();
      },
    });
    node = await startNode(config, {
      env: { SIBYL_OPERATOR_KEY: hardhatKey(1) },
      logger: createLogger({ level: "warn", format: "json", destination }),
    });
  });

  after(async () => {
    await node?.stop();
    await anvil?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("answers a request sent by a plain JSON-RPC client, and the answer verifies", async () => {
    const requestId = await request("Il fait très beau aujourd'hui.");
    const result = await answered(requestId);
    assert.match(result.outputText ?? "", /^fr 0\.\d{4}$/);
    const audit = await verifyResult(client, {
      coordinator: deployment.coordinator,
      requestId,
      fromBlock: deployment.deploymentBlock,
    });
    assert.equal(audit.valid, true, audit.reason);
  });

  it("answers a burst on automine without calling any fulfil dropped", async () => {
    const ids: bigint[] = [];
    for (let index = 0; index < 12; index++) ids.push(await request(`Guten Morgen, Nummer ${index}`));
    for (const id of ids) assert.match((await answered(id)).outputText ?? "", /^de 0\.\d{4}$/);
    assert.deepEqual(
      warnings.filter((line) => line.includes("dropped")),
      [],
      "a mined fulfil was taken for a dropped one",
    );
  });

  it("answers again after a snapshot is reverted under it, as loadFixture does between tests", async () => {
    const snapshot = await rpc<Hex>("evm_snapshot", []);
    const before = await request("Buenos días a todos.");
    assert.match((await answered(before)).outputText ?? "", /^es 0\.\d{4}$/);
    await rpc("evm_revert", [snapshot]);
    // The chain is shorter now, and the same request id comes back for another question.
    const after = await request("Buongiorno a tutti.");
    assert.equal(after, before, "the reverted request's id is reused");
    assert.match((await answered(after)).outputText ?? "", /^it 0\.\d{4}$/);
    const audit = await verifyResult(client, {
      coordinator: deployment.coordinator,
      requestId: after,
      fromBlock: deployment.deploymentBlock,
    });
    assert.equal(audit.valid, true, audit.reason);
  });
});
