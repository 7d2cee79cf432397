import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ConfigError, loadConfig, parseConfig, storeSpecOf } from "../../src/node/config.js";

const COORDINATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

const valid = () => ({
  chain: { rpcUrl: "http://127.0.0.1:8545", coordinator: COORDINATOR },
  models: [{ provider: "builtin", name: "language-id", builtin: "language-id" }],
});

function errorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    return error;
  }
  assert.fail("no error");
}

describe("node config", () => {
  it("takes a PostgreSQL store from the config or SIBYL_STORE_URL, SQLite otherwise, never echoing the URL", () => {
    assert.equal(storeSpecOf(parseConfig(valid())).kind, "sqlite");
    const url = "postgres://sibyl:hunter2@db.internal:5432/sibyl";
    assert.deepEqual(storeSpecOf(parseConfig(valid(), { SIBYL_STORE_URL: url })), {
      kind: "postgres",
      url,
      leaseMs: 5_000,
    });
    const error = errorOf(() => parseConfig(valid(), { SIBYL_STORE_URL: "sibyl:hunter2@db" }));
    assert.match(error.message, /store\.url/);
    assert.ok(!error.message.includes("hunter2"), error.message);
  });

  it("fills defaults and checksums the coordinator address", () => {
    const config = parseConfig({
      ...valid(),
      chain: { ...valid().chain, coordinator: COORDINATOR.toLowerCase() },
    });
    assert.equal(config.chain.coordinator, COORDINATOR);
    assert.equal(config.chain.confirmations, 0);
    assert.equal(config.batching.maxSize, 64);
    assert.equal(config.database.path, "sibyl-node.db");
    assert.equal(config.cosigning.allowPrivatePeers, false, "peers on private addresses are not called");
    assert.equal(config.cosigning.maxReplyBytes, 16_384);
    assert.ok(Object.isFrozen(config));
  });

  const cases: Array<[string, (input: ReturnType<typeof valid>) => unknown, RegExp]> = [
    [
      "a bad RPC URL",
      (c) => ({ ...c, chain: { ...c.chain, rpcUrl: "localhost" } }),
      /chain\.rpcUrl: must be a URL/,
    ],
    [
      "a bad address",
      (c) => ({ ...c, chain: { ...c.chain, coordinator: "0x1234" } }),
      /chain\.coordinator: must be a 0x/,
    ],
    [
      "negative confirmations",
      (c) => ({ ...c, chain: { ...c.chain, confirmations: -1 } }),
      /chain\.confirmations/,
    ],
    ["a batch above the largest circuit", (c) => ({ ...c, batching: { maxSize: 65 } }), /batching\.maxSize/],
    ["no models", (c) => ({ ...c, models: [] }), /models: serve at least one model/],
    [
      "a store of no known kind",
      (c) => ({ ...c, store: { kind: "mysql", url: "mysql://x" } }),
      /store\.kind/,
    ],
    [
      "a postgres store with a non-postgres URL",
      (c) => ({ ...c, store: { kind: "postgres", url: "http://user:hunter2@db/x" } }),
      /store\.url: must be a postgres:\/\/ or postgresql:\/\/ URL/,
    ],
    [
      "a lease too short to renew",
      (c) => ({ ...c, store: { kind: "postgres", url: "postgres://db/x", leaseMs: 10 } }),
      /store\.leaseMs/,
    ],
    [
      "a duplicate model",
      (c) => ({ ...c, models: [c.models[0], c.models[0]] }),
      /models\.1\.name: duplicate model/,
    ],
    [
      "an unknown provider",
      (c) => ({ ...c, models: [{ provider: "magic", name: "x" }] }),
      /models\.0\.provider/,
    ],
    [
      "a model name over 32 bytes",
      (c) => ({ ...c, models: [{ ...c.models[0], name: "n".repeat(33) }] }),
      /models\.0\.name/,
    ],
    [
      "an unknown field",
      (c) => ({ ...c, chain: { ...c.chain, rpcURL: "x" } }),
      /chain: Unrecognized key.*rpcURL/,
    ],
    [
      "a co-signing URL with a query peers would refuse",
      (c) => ({ ...c, cosigning: { publicUrl: "https://peer.example/x?path=/admin" } }),
      /cosigning\.publicUrl: must be a plain http\(s\) URL/,
    ],
    [
      "a co-signing URL with credentials",
      (c) => ({ ...c, cosigning: { publicUrl: "https://user:pass@peer.example" } }),
      /cosigning\.publicUrl/,
    ],
    [
      "a reply cap under a reply's size",
      (c) => ({ ...c, cosigning: { maxReplyBytes: 100 } }),
      /cosigning\.maxReplyBytes/,
    ],
    [
      "a fee bump nodes would refuse",
      (c) => ({ ...c, submission: { feeBumpPercent: 5 } }),
      /submission\.feeBumpPercent/,
    ],
  ];
  for (const [what, mutate, message] of cases) {
    it(`names the field for ${what}`, () => {
      const error = errorOf(() => parseConfig(mutate(valid())));
      assert.match(error.shortMessage, /^invalid config: /);
      assert.match(error.shortMessage, message);
      assert.ok(!error.shortMessage.includes("\n"), "one line");
    });
  }

  it("takes SIBYL_* environment overrides, and validates them like the file", () => {
    const config = parseConfig(valid(), { SIBYL_RPC_URL: "http://10.0.0.1:8545", SIBYL_API_PORT: "9999" });
    assert.equal(config.chain.rpcUrl, "http://10.0.0.1:8545");
    assert.equal(config.api.port, 9999);
    assert.match(errorOf(() => parseConfig(valid(), { SIBYL_API_PORT: "abc" })).shortMessage, /api\.port/);
  });

  it("reads a file, placing a relative database next to it, and names unreadable or non-JSON files", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-config-"));
    const file = path.join(dir, "node.json");
    await writeFile(file, JSON.stringify({ ...valid(), database: { path: "data/node.db" } }));
    assert.equal(loadConfig(file, {}).database.path, path.join(dir, "data/node.db"));
    await writeFile(file, "{ not json");
    assert.match(errorOf(() => loadConfig(file, {})).shortMessage, /is not valid JSON/);
    assert.match(
      errorOf(() => loadConfig(path.join(dir, "missing.json"), {})).shortMessage,
      /cannot read config file/,
    );
  });
});
