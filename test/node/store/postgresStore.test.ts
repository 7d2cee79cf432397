/**
 * The store suite on a real PostgreSQL server (a throwaway cluster), plus what only a shared store
 * has: replicas that share it, one leading at a time, and schema versions.
 */
import assert from "node:assert/strict";
import { toHex } from "viem";
import { LogMirror } from "../../../src/node/chain/logMirror.js";
import { SchemaVersionError } from "../../../src/node/store/postgres/migrations.js";
import { FencedError, PostgresJobStore } from "../../../src/node/store/postgres/pgStore.js";
import { findPostgres, PostgresCluster } from "../../helpers/postgres.js";
import { describeStore } from "./storeSuite.js";

const binaries = findPostgres();
let cluster: PostgresCluster | undefined;
let url = "";

describe("PostgresJobStore", function () {
  this.timeout(60_000);
  before(async function () {
    if ("missing" in binaries) {
      console.log(`      skipped: ${binaries.missing}`);
      this.skip();
    }
    cluster = await PostgresCluster.start(binaries);
  });
  after(async () => {
    await cluster?.stop();
  });

  describeStore("the shared store suite", () =>
    cluster === undefined
      ? undefined
      : {
          async open() {
            url = await (cluster as PostgresCluster).createDatabase();
            return PostgresJobStore.open(url);
          },
          reopen: () => PostgresJobStore.open(url),
        },
  );

  describe("replicas sharing one database", () => {
    const opened: PostgresJobStore[] = [];
    async function replica(at: string): Promise<PostgresJobStore> {
      const store = await PostgresJobStore.open(at);
      opened.push(store);
      return store;
    }
    beforeEach(async function () {
      if (cluster === undefined) this.skip();
      url = await cluster.createDatabase();
    });
    afterEach(async () => {
      for (const store of opened.splice(0)) await store.close();
    });

    it("lets exactly one of two replicas started at once lead", async () => {
      const [a, b] = await Promise.all([replica(url), replica(url)]);
      const epochs = await Promise.all([a.tryLead("a", 5_000), b.tryLead("b", 5_000)]);
      assert.equal(epochs.filter((epoch) => epoch !== undefined).length, 1, `epochs ${epochs}`);
      assert.equal((await a.leader())?.holder, epochs[0] !== undefined ? "a" : "b");
    });

    it("refuses a standby's writes, and the deposed leader's once another took over", async () => {
      const a = await replica(url);
      const b = await replica(url);
      assert.equal(await a.tryLead("a", 1_000), 1);
      assert.equal(await b.tryLead("b", 1_000), undefined, "the lease is held");
      await assert.rejects(b.expireBefore(0n), FencedError, "a standby does not write");
      assert.equal(await a.tryLead("a", 1_000), 1, "renewed under the same epoch");
      await a.expireBefore(0n);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.equal(await b.tryLead("b", 5_000), 2, "taken over once expired, with a new epoch");
      await assert.rejects(a.expireBefore(0n), FencedError, "the deposed leader cannot write");
      assert.equal(await a.tryLead("a", 5_000), undefined, "nor take the lease back while it runs");
      await b.expireBefore(0n);
      await b.resign("b");
      assert.equal(await a.tryLead("a", 5_000), 3, "a resigned lease is free at once");
    });

    it("shares the never-sign-twice record: two replicas never sign two answers", async () => {
      const a = await replica(url);
      const b = await replica(url);
      await a.tryLead("a", 60_000);
      await a.bindDeployment("d", 1n);
      await b.bindDeployment("d", 1n);
      await a.commitRange({
        requested: [
          {
            commitment: {
              requestId: 7n,
              modelId: toHex("m", { size: 32 }),
              inputHash: toHex(7n, { size: 32 }),
              requester: "0x00000000000000000000000000000000000000aa",
              refundTo: "0x00000000000000000000000000000000000000aa",
              operator: "0x00000000000000000000000000000000000000bb",
              escrow: 1n,
              deadline: 1_000n,
              exclusiveUntil: 100n,
              callbackGasLimit: 100_000,
              maxOutputBytes: 256,
            },
            input: "0x",
            requestBlock: 2n,
          },
        ],
        delivered: [],
        cancelled: [],
        reassigned: [],
        checkpoint: { block: 2n, hash: toHex(2n, { size: 32 }), tree: new LogMirror().snapshot() },
        keep: 3,
      });
      const verdicts = await Promise.all([a.markSigned(7n, "x"), b.markSigned(7n, "y")]);
      assert.deepEqual([...verdicts].sort(), ["another", "signed"]);
    });

    it("refuses to start a replica whose code is older than the database's schema", async () => {
      await (await replica(url)).close();
      await assert.rejects(
        PostgresJobStore.open(url, { schemaVersion: 0 }),
        (error: unknown) =>
          error instanceof SchemaVersionError &&
          /schema is version 1, newer than this node's 0: upgrade this node/.test(error.shortMessage),
      );
    });

    it("names an unreachable server by host only, never with its password", async () => {
      const port = (cluster as PostgresCluster).port + 1;
      await assert.rejects(
        PostgresJobStore.open(`postgres://sibyl:hunter2@127.0.0.1:${port}/x`),
        (error: Error) => {
          assert.match(error.message, /store\.url: cannot open the database at postgres:\/\/127\.0\.0\.1/);
          assert.ok(!error.message.includes("hunter2"), error.message);
          return true;
        },
      );
    });
  });
});
