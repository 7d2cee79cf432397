/**
 * A hostile operator's published co-signing endpoint against the node that asks it (the real collector,
 * a real coordinator on the in-process Hardhat network, real HTTP servers): a reply that never ends, a
 * gzip bomb, a reply dripped forever, a redirect to an internal listener, and an endpoint that is an
 * internal listener. The asking node's memory stays bounded, the round ends by its deadline, and
 * nothing reaches what the attacker pointed it at.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { type Account, toHex, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "../../../src/cli/devAccounts.js";
import { CosignatureCollector } from "../../../src/node/cosign/collector.js";
import { signStatement, statementOf } from "../../../src/node/cosign/statement.js";
import { createLogger } from "../../../src/node/observe/logger.js";
import { SqliteJobStore } from "../../../src/node/store/sqliteStore.js";
import { ResultStatus } from "../../../src/shared/encoding.js";
import { gzipBomb, type HostilePeer, startHostilePeer } from "../../helpers/hostilePeers.js";
import { deploySibyl, type Sibyl, stakeOperator, TEST_MODEL } from "../../helpers/sibyl.js";

const MiB = 1 << 20;
/** What a bounded ask may add to the process; each attack below would take several times this. */
const MEMORY_BOUND = 64 * MiB;
const ROUND_MS = 1_500;
/** Long enough that an unbounded reader would take all an attacker sends before the round ends. */
const LONG_ROUND_MS = 20_000;

describe("asking a hostile peer to co-sign: it costs the asker at most its timeout", function () {
  this.timeout(180_000);
  let connection: Awaited<ReturnType<typeof network.create>>;
  let sibyl: Sibyl;
  let attacker: WalletClient & { account: Account };
  const asker = privateKeyToAccount(hardhatKey(1));
  const peers: HostilePeer[] = [];

  before(async () => {
    connection = await network.create();
    sibyl = await deploySibyl(connection.viem);
    attacker = (await connection.viem.getWalletClients())[2] as WalletClient & { account: Account };
    await stakeOperator(sibyl, attacker.account);
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) await peer.close();
  });
  after(async () => {
    await connection?.close();
  });

  async function hostile(attack: Parameters<typeof startHostilePeer>[0]): Promise<HostilePeer> {
    const peer = await startHostilePeer(attack);
    peers.push(peer);
    return peer;
  }

  /** The attacker publishes `endpoint`; the operator at account 1 asks its peers for one co-signature. */
  async function askThrough(endpoint: string, allowPrivatePeers: boolean, roundMs = ROUND_MS) {
    await sibyl.publicClient.waitForTransactionReceipt({
      hash: await sibyl.ledger.write.setOperatorEndpoint([endpoint], { account: attacker.account }),
    });
    const domain = {
      chainId: await sibyl.publicClient.getChainId(),
      coordinatorOf: () => sibyl.coordinator.address,
      ledger: () => sibyl.ledger.address,
    };
    const collector = new CosignatureCollector({
      client: sibyl.publicClient,
      domain,
      self: asker.address,
      timeoutMs: roundMs,
      maxReplyBytes: 16_384,
      policy: { allowPrivatePeers, ownPorts: () => [] },
      logger: createLogger({ level: "silent", format: "json" }),
      store: new SqliteJobStore(":memory:"),
    });
    const statement = statementOf(1n, { status: ResultStatus.Ok, output: toHex("yes") });
    const signature = await signStatement(asker, domain, statement);
    return measured(() => collector.collect(TEST_MODEL.id, statement, signature, 1));
  }

  it("stops reading a reply at its byte cap: 256 MiB sent, memory bounded", async () => {
    const peer = await hostile({ kind: "huge-body", bytes: 256 * MiB });
    const { value, growth, ms } = await askThrough(peer.url, true, LONG_ROUND_MS);
    console.log(`    the asker grew by ${mib(growth)} MiB; ${mib(peer.bytesSent)} MiB left the attacker`);
    assert.deepEqual(value, []);
    assert.ok(growth < MEMORY_BOUND, `the asker grew by ${mib(growth)} MiB`);
    assert.ok(ms < LONG_ROUND_MS, `the round took ${ms} ms`);
    assert.ok(peer.bytesSent < 64 * MiB, `the attacker got ${mib(peer.bytesSent)} MiB out before the cut`);
  });

  it("never inflates a compressed reply: a 256 MiB gzip bomb costs its raw bytes at most", async () => {
    const body = await gzipBomb(256 * MiB);
    const peer = await hostile({ kind: "gzip-bomb", body });
    const { value, growth, ms } = await askThrough(peer.url, true, LONG_ROUND_MS);
    console.log(`    the asker grew by ${mib(growth)} MiB for a ${mib(body.length)} MiB bomb`);
    assert.deepEqual(value, []);
    assert.equal(peer.requests, 1, "the peer was asked");
    assert.ok(growth < MEMORY_BOUND, `the asker grew by ${mib(growth)} MiB`);
    assert.ok(ms < LONG_ROUND_MS, `the round took ${ms} ms`);
  });

  it("ends a round at its deadline however slowly a reply drips", async () => {
    const peer = await hostile({ kind: "slow-drip", everyMs: 20 });
    const { value, ms } = await askThrough(peer.url, true);
    assert.deepEqual(value, []);
    assert.equal(peer.requests, 1, "the peer was asked");
    assert.ok(ms >= ROUND_MS - 50 && ms < ROUND_MS + 3_000, `the round took ${ms} ms`);
  });

  for (const status of [303, 307]) {
    it(`follows no redirect (${status}): the internal listener it points at gets nothing`, async () => {
      const internal = await hostile({ kind: "listener" });
      const peer = await hostile({ kind: "redirect", to: `${internal.url}/admin?drop=all`, status });
      const { value } = await askThrough(peer.url, true);
      assert.deepEqual(value, []);
      assert.equal(peer.requests, 1, "the peer was asked");
      assert.equal(internal.connections, 0, "the redirect target was never reached");
    });
  }

  it("calls no endpoint on a loopback address unless private peers are allowed", async () => {
    const internal = await hostile({ kind: "listener" });
    const { value } = await askThrough(internal.url, false);
    assert.deepEqual(value, []);
    assert.equal(internal.connections, 0, "the internal listener was never reached");
    // The same endpoint with private peers allowed is asked: the refusal above was the policy's.
    await askThrough(internal.url, true);
    assert.equal(internal.requests, 1);
  });

  it("posts to the co-signing path it means: a query or fragment in the endpoint is refused", async () => {
    const internal = await hostile({ kind: "listener" });
    for (const endpoint of [`${internal.url}/admin?x=`, `${internal.url}/admin#`])
      assert.deepEqual((await askThrough(endpoint, true)).value, []);
    assert.equal(internal.connections, 0);
  });
});

/** Runs `work`, sampling the process's RSS: its peak growth over the run, and the time taken. */
async function measured<T>(work: () => Promise<T>): Promise<{ value: T; growth: number; ms: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const started = performance.now();
  try {
    const value = await work();
    const ms = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, growth: peak - before, ms };
  } finally {
    clearInterval(sample);
  }
}

function mib(bytes: number): string {
  return (bytes / MiB).toFixed(1);
}
