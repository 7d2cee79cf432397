/**
 * The operator's private key signs every fulfilment, so it must never be written anywhere: not in the
 * daemon's logs (at debug level), not in its errors (even with SIBYL_DEBUG stacks), not in its HTTP
 * API, not in its database. Config mistakes end as one line naming the field, without the key.
 *
 * The same holds for the RPC provider's key, which providers put in the URL path
 * (`https://eth.example/v2/KEY`): the daemon here reaches its chain through such a URL (a proxy that
 * accepts any path), and viem quotes the whole URL in every error while the RPC is down.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { type Hex, hexToBytes, toHex } from "viem";
import type { ModelSpecInput } from "../../src/node/models/registry.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, OPERATOR_KEY, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import { type ChildRun, startSibyl } from "../helpers/processes.js";
import { RpcProxy } from "../helpers/rpcProxy.js";
import { until } from "../helpers/wait.js";
import { settle } from "./harness.js";

const KEY_HEX = OPERATOR_KEY.slice(2).toLowerCase();
const KEY_BYTES = Buffer.from(KEY_HEX, "hex");
/** The RPC provider's key, in the path of the node's RPC URL. */
const RPC_KEY = "RpcSecretKey123456";

/**
 * Fails if `data` holds the operator key as hex (any case, with or without 0x), raw bytes or base64,
 * or the RPC key in any case.
 */
function assertNoKey(where: string, data: string | Buffer): void {
  const buffer = typeof data === "string" ? Buffer.from(data) : data;
  const text = buffer.toString("latin1").toLowerCase();
  assert.ok(!text.includes(KEY_HEX), `${where} holds the key as hex`);
  assert.ok(!buffer.includes(KEY_BYTES), `${where} holds the key as raw bytes`);
  assert.ok(!buffer.includes(KEY_BYTES.toString("base64")), `${where} holds the key as base64`);
  assert.ok(!text.includes(RPC_KEY.toLowerCase()), `${where} holds the RPC key`);
}

/** Every SIBYL_* override blanked, so the runner's own environment cannot change a config. */
const NO_OVERRIDES = Object.fromEntries(
  ["SIBYL_RPC_URL", "SIBYL_COORDINATOR", "SIBYL_DEPLOYMENT_BLOCK", "SIBYL_DATABASE", "SIBYL_API_PORT"]
    .concat("SIBYL_LOG_LEVEL", "SIBYL_CRASH_AT")
    .map((name) => [name, ""]),
);

/** A CLI run to its end, with stdout and stderr kept apart. */
async function runToEnd(run: ChildRun) {
  let stdout = "";
  let stderr = "";
  run.child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  run.child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const { code } = await run.exited;
  return { code, stdout, stderr };
}

describe("reliability: the operator key never leaks", function () {
  this.timeout(300_000);
  const server = new FakeOpenAIServer();
  let closeServer: () => Promise<void>;
  let devnet: Devnet;
  let node: ChildRun;
  let models: ModelSpecInput[];
  let proxy: RpcProxy;
  let api: string;

  before(async () => {
    const { url, close } = await server.start();
    closeServer = close;
    models = [
      { provider: "openai", name: "chat-echo", model: "echo-1", baseURL: url, maxAttempts: 1 },
      { provider: "builtin", name: "language-id", builtin: "language-id" },
    ];
    devnet = await startDevnet(models);
    proxy = await RpcProxy.start(devnet.chain.url);
    node = devnet.startNode(
      await devnet.writeConfig({
        chain: {
          rpcUrl: `${proxy.url}/v2/${RPC_KEY}`,
          coordinator: devnet.sibyl.coordinator.address,
          pollIntervalMs: 100,
        },
        log: { level: "debug", format: "json" },
        batching: { maxSize: 16, maxWaitMs: 300 },
      }),
      { ...NO_OVERRIDES, SIBYL_OPERATOR_KEY: OPERATOR_KEY },
    );
    await node.waitFor("sibyl node started", 120_000);
  });

  after(async () => {
    if (node?.running) await node.stop("SIGTERM");
    await proxy?.stop();
    await devnet?.stop();
    await closeServer?.();
  });

  it("finds the key in any of the forms it looks for (the detector works)", () => {
    const forms = [OPERATOR_KEY, OPERATOR_KEY.toUpperCase(), KEY_HEX, KEY_BYTES.toString("base64"), RPC_KEY];
    for (const form of [...forms, RPC_KEY.toLowerCase()])
      assert.throws(() => assertNoKey("probe", `before ${form} after`), /holds the (RPC )?key/);
    assert.throws(() => assertNoKey("probe", Buffer.concat([Buffer.from([1, 2]), KEY_BYTES])));
  });

  it("serves requests at debug level, one of them failing, and its API shows no key", async () => {
    server.failNext({ kind: "status", status: 400 });
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const chat = await sendRequests(devnet, 4, modelIdFromName("chat-echo"), (i) => toHex(`secret? ${i}`));
    const language = await sendRequests(devnet, 2, modelIdFromName("language-id"), () =>
      toHex("Where is the key?"),
    );
    const result = await settle(devnet, [...chat, ...language], fromBlock, 120_000);
    assert.equal(result.lost, 0, node.tail());
    assert.equal(result.answeredError, 1, "the scripted 400");
    const failed = [...result.deliveries.values()].flat().find((d) => d.status !== ResultStatus.Ok);
    assert.equal(failed?.status, ResultStatus.InvalidInput);
    await assertNothingOnchain(fromBlock);

    const started = node.text
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; api?: string })
      .find((line) => line.msg === "sibyl node started");
    assert.ok(started?.api, "the started line names the API url");
    api = started.api;
    const metrics = await (await fetch(`${started.api}/metrics`)).text();
    assert.match(metrics, /sibyl_requests_total\{model="chat-echo"\} 4/);
    assertNoKey("/metrics", metrics);
    const ready = await fetch(`${started.api}/readyz`);
    assert.equal(ready.status, 200);
    assertNoKey("/readyz", await ready.text());
    for (const probe of ["/config", "/env", "/debug"]) {
      assertNoKey(probe, await (await fetch(`${started.api}${probe}`)).text());
    }
  });

  it("keeps the RPC key out of /readyz, /metrics, the log and the chain while the RPC is down", async () => {
    await proxy.down("refuse");
    // The listener fails against the keyed URL; /readyz says what failed, in a fixed category.
    const { status, body: ready } = await until(async () => {
      const response = await fetch(`${api}/readyz`);
      const body = await response.text();
      return body.includes("listener: rpc unreachable") ? { status: response.status, body } : undefined;
    }, 60_000);
    assert.equal(status, 503, `a failing pipeline is not ready: ${ready}`);
    assert.equal((JSON.parse(ready) as { ready: boolean }).ready, false);
    assertNoKey("/readyz during the outage", ready);
    assertNoKey("/metrics during the outage", await (await fetch(`${api}/metrics`)).text());
    await until(() => (node.text.includes('"msg":"listener error"') ? true : undefined), 30_000);
    assert.match(node.text, /HTTP request failed/, "viem's error, with its URL, reached the log");
    assert.match(node.text, new RegExp(`${proxy.url.replace(/[.]/g, "\\.")}[^/]`), "cut to the host");
    assertNoKey("daemon output during the outage", node.text);

    await proxy.up();
    // The listener's next success clears its failure: ready again without a restart.
    await until(async () => ((await fetch(`${api}/readyz`)).status === 200 ? true : undefined), 30_000);
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const ids = await sendRequests(devnet, 2, modelIdFromName("chat-echo"), (i) => toHex(`after ${i}`));
    const result = await settle(devnet, ids, fromBlock, 120_000);
    assert.equal(result.answeredOk, 2, node.tail());
    await assertNothingOnchain(fromBlock);
  });

  /** No result since `fromBlock` holds a key in its output or metadata. */
  async function assertNothingOnchain(fromBlock: bigint): Promise<void> {
    const events = await devnet.sibyl.coordinator.getEvents.ResultDelivered({}, { fromBlock });
    assert.ok(events.length > 0);
    for (const { args } of events) {
      assertNoKey("an onchain output", Buffer.from(hexToBytes(args.output as Hex)));
      assertNoKey("onchain metadata", Buffer.from(hexToBytes(args.metadata as Hex)));
    }
  }

  it("leaves no key in the database files, while running and after a clean stop", async () => {
    const databaseFiles = async () =>
      (await readdir(devnet.dir)).filter((name) => name.startsWith("node.db")).sort();
    const running = await databaseFiles();
    assert.ok(running.includes("node.db") && running.includes("node.db-wal"), running.join(", "));
    for (const name of running) assertNoKey(name, await readFile(path.join(devnet.dir, name)));

    const exit = await node.stop("SIGTERM");
    assert.equal(exit.code, 0, node.tail());
    for (const name of await databaseFiles())
      assertNoKey(`${name} after stop`, await readFile(path.join(devnet.dir, name)));
  });

  it("leaves no key in the daemon's stdout and stderr", () => {
    assert.match(node.text, /"level":20/, "debug lines were written");
    assert.match(node.text, /"msg":"stopped"/);
    assertNoKey("daemon output", node.text);
  });

  it("leaves no key in startup failures, even with SIBYL_DEBUG stack traces", async () => {
    // Each output is collected from the moment its process starts, so no early line is missed.
    const debug = { ...NO_OVERRIDES, SIBYL_DEBUG: "1" };
    const mismatchedConfig = await devnet.writeConfig(
      {
        models: [{ ...(models[0] as ModelSpecInput), temperature: 0.7 } as ModelSpecInput],
        database: { path: "refused.db" },
      },
      "refused.json",
    );
    const unreachableConfig = await devnet.writeConfig(
      {
        chain: { rpcUrl: `http://127.0.0.1:9/v2/${RPC_KEY}`, coordinator: devnet.sibyl.coordinator.address },
      },
      "unreachable.json",
    );
    const valid = await devnet.writeConfig({}, "valid.json");
    const malformedKeys = [KEY_HEX, `${OPERATOR_KEY}00`, `0x${KEY_HEX.slice(1)}`, ` ${OPERATOR_KEY}`];
    const [refused, down, ...badKeys] = await Promise.all([
      runToEnd(devnet.startNode(mismatchedConfig, debug)),
      runToEnd(devnet.startNode(unreachableConfig, debug)),
      ...malformedKeys.map((key) =>
        runToEnd(startSibyl(["node", "--config", valid], { ...debug, SIBYL_OPERATOR_KEY: key })),
      ),
    ]);

    assert.equal(refused?.code, 1);
    assert.match(refused?.stderr ?? "", /^sibyl: models\.0: the config of "chat-echo" hashes to 0x/);
    assertNoKey("config hash mismatch", `${refused?.stdout}${refused?.stderr}`);
    assert.equal(down?.code, 1);
    assert.match(down?.stderr ?? "", /^sibyl: chain\.rpcUrl: cannot reach http:\/\/127\.0\.0\.1:9\n/);
    assertNoKey("unreachable chain", `${down?.stdout}${down?.stderr}`);
    for (const badKey of badKeys) {
      assert.equal(badKey.code, 1);
      assert.match(
        badKey.stderr,
        /^sibyl: operator\.privateKeyEnv: SIBYL_OPERATOR_KEY is not a 0x-prefixed 32-byte hex key\n/,
      );
      assertNoKey("malformed key", `${badKey.stdout}${badKey.stderr}`);
    }

    // The RPC answers the chain id, then fails while the deployment is read: viem's error, URL and all.
    const cutConfig = await devnet.writeConfig(
      {
        chain: { rpcUrl: `${proxy.url}/v2/${RPC_KEY}`, coordinator: devnet.sibyl.coordinator.address },
        database: { path: "cut.db" },
      },
      "cut.json",
    );
    const cut = proxy.downOn("eth_getCode");
    const cutRun = await runToEnd(devnet.startNode(cutConfig, debug));
    await cut;
    await proxy.up();
    assert.equal(cutRun.code, 1);
    assert.equal(
      cutRun.stderr.split("\n", 1)[0],
      `sibyl: chain.rpcUrl: cannot read the deployment through ${proxy.url} (rpc unreachable)`,
    );
    assert.match(cutRun.stderr, /HTTP request failed/, "the debug stack carries viem's message");
    assertNoKey("deployment read failure", `${cutRun.stdout}${cutRun.stderr}`);
  });

  it("names each invalid config field in one line, exit 1, without the key", async () => {
    const base: unknown = JSON.parse(await readFile(await devnet.writeConfig({}, "base.json"), "utf8"));
    const cases: Array<{ field: string; set?: [string, unknown]; env?: NodeJS.ProcessEnv }> = [
      { field: "chain.rpcUrl", set: ["chain.rpcUrl", "not a url"] },
      { field: "chain.coordinator", set: ["chain.coordinator", "0x1234"] },
      { field: "chain.confirmations", set: ["chain.confirmations", -1] },
      { field: "models", set: ["models", []] },
      { field: "models.0.provider", set: ["models.0.provider", "gpt"] },
      { field: "models.0.name", set: ["models.0.name", "m".repeat(33)] },
      { field: "batching.maxSize", set: ["batching.maxSize", 65] },
      { field: "submission.feeBumpPercent", set: ["submission.feeBumpPercent", 5] },
      { field: "api.port", set: ["api.port", 70_000] },
      { field: "log.level", set: ["log.level", "loud"] },
      { field: "(root)", set: ["extra", true] },
      // The key pasted into the config itself: refused, and not echoed back.
      { field: "operator", set: ["operator.privateKey", OPERATOR_KEY] },
      { field: "operator.privateKeyEnv", env: { SIBYL_OPERATOR_KEY: "" } },
    ];
    const runs = await Promise.all(
      cases.map(async ({ field, set, env }, index) => {
        const file = path.join(devnet.dir, `invalid-${index}.json`);
        await writeFile(file, JSON.stringify(set ? withValue(base, ...set) : base));
        const environment = {
          ...NO_OVERRIDES,
          SIBYL_OPERATOR_KEY: OPERATOR_KEY,
          OPENAI_API_KEY: "test-key",
          ...env,
        };
        return { field, ...(await runToEnd(startSibyl(["node", "--config", file], environment))) };
      }),
    );
    console.table(runs.map(({ field, code, stderr }) => ({ field, code, stderr: stderr.trimEnd() })));
    for (const { field, code, stdout, stderr } of runs) {
      const prefix = field === "operator.privateKeyEnv" ? "" : "invalid config: ";
      assert.equal(code, 1, `${field}: ${stderr}`);
      assert.equal(stdout, "", field);
      assert.match(stderr, /^sibyl: [^\n]+\n$/, `${field}: one line, got ${JSON.stringify(stderr)}`);
      assert.ok(stderr.startsWith(`sibyl: ${prefix}${field}: `), `${field}: ${stderr}`);
      assertNoKey(`${field} error`, stderr);
    }
    const unknown = runs.find((run) => run.field === "(root)");
    assert.match(unknown?.stderr ?? "", /'extra'/, "an unknown key is named");
    const pasted = runs.find((run) => run.field === "operator");
    assert.match(pasted?.stderr ?? "", /'privateKey'/);
  });

  it("does not echo a key pasted where the config wants the name of its environment variable", async () => {
    const config = withValue(
      JSON.parse(await readFile(await devnet.writeConfig({}, "pasted.json"), "utf8")),
      "operator.privateKeyEnv",
      OPERATOR_KEY,
    );
    const file = path.join(devnet.dir, "pasted-key.json");
    await writeFile(file, JSON.stringify(config));
    const { code, stderr } = await runToEnd(
      startSibyl(["node", "--config", file], { ...NO_OVERRIDES, SIBYL_OPERATOR_KEY: OPERATOR_KEY }),
    );
    assert.equal(code, 1);
    assert.match(stderr, /^sibyl: (invalid config: )?operator\.privateKeyEnv: [^\n]+\n$/);
    assertNoKey("the error for a key pasted into operator.privateKeyEnv", stderr);
  });
});

/** A copy of `config` with the value at a dotted path (`models.0.name`) replaced. */
function withValue(config: unknown, dotted: string, value: unknown): unknown {
  const copy = structuredClone(config) as Record<string, unknown>;
  const keys = dotted.split(".");
  let target = copy;
  for (const key of keys.slice(0, -1)) {
    target[key] ??= {};
    target = target[key] as Record<string, unknown>;
  }
  target[keys.at(-1) as string] = value;
  return copy;
}
