import assert from "node:assert/strict";
import { network } from "hardhat";
import { type Hex, toHex } from "viem";
import { ChainListener } from "../../../src/node/chain/listener.js";
import { releaseSnarkjsCurve } from "../../../src/node/prover/curve.js";
import { BatchProver } from "../../../src/node/prover/prover.js";
import { SqliteJobStore } from "../../../src/node/store/sqliteStore.js";
import { testContext } from "../../helpers/nodeContext.js";
import {
  ask,
  contractsOf,
  deploySibyl,
  okAnswer,
  type Sibyl,
  TEST_MODEL,
  TestOperator,
} from "../../helpers/sibyl.js";

describe("ChainListener (Hardhat network)", function () {
  this.timeout(120_000);
  let connection: Awaited<ReturnType<typeof network.create>>;
  let sibyl: Sibyl;

  const rpc = (method: string, params: unknown[] = []) => connection.provider.request({ method, params });

  async function listenerOn(store: SqliteJobStore) {
    return new ChainListener(testContext(sibyl.coordinator.address), {
      client: sibyl.publicClient,
      store,
      contracts: await contractsOf(sibyl),
      deploymentBlock: 0n,
      confirmations: 0,
      maxLogRange: 1_000,
      reorgDepth: 64,
      servedModels: new Set<Hex>([TEST_MODEL.id]),
    });
  }

  async function catchUp(listener: ChainListener) {
    let result = await listener.poll();
    while (!result.caughtUp) result = await listener.poll();
    return result;
  }

  beforeEach(async () => {
    connection = await network.create();
    sibyl = await deploySibyl(connection.viem);
  });
  afterEach(async () => {
    await connection.close();
  });

  it("stores each request once, by request id, however often a range is read", async () => {
    const store = new SqliteJobStore(":memory:");
    const listener = await listenerOn(store);
    const { commitment } = await ask(sibyl, "first");
    await catchUp(listener);
    await catchUp(await listenerOn(store));
    assert.equal((await store.job(commitment.requestId))?.state, "received");
    assert.equal((await store.job(commitment.requestId))?.input, toHex("first"));
    assert.equal((await store.countByState()).received, 1);
  });

  it("drops a request that a reorg removed, and reads the replacing chain", async () => {
    const store = new SqliteJobStore(":memory:");
    const listener = await listenerOn(store);
    const snapshot = await rpc("evm_snapshot");
    const { commitment } = await ask(sibyl, "on the losing fork");
    await catchUp(listener);
    assert.equal((await store.job(commitment.requestId))?.state, "received");
    const forkPoint = (await sibyl.publicClient.getBlockNumber()) - 1n;

    await rpc("evm_revert", [snapshot]);
    await rpc("evm_mine");
    const replacement = await ask(sibyl, "on the winning fork");
    assert.equal(
      replacement.commitment.requestId,
      commitment.requestId,
      "the id is reused by another request",
    );

    const result = await catchUp(listener);
    assert.equal(
      result.rewoundTo !== undefined && result.rewoundTo <= forkPoint,
      true,
      `rewound to ${result.rewoundTo}`,
    );
    const job = await store.job(commitment.requestId);
    assert.equal(job?.input, toHex("on the winning fork"), "the vanished request was dropped, not kept");
    assert.deepEqual(job?.commitment, replacement.commitment);
    assert.equal((await store.countByState()).received, 1);
  });

  it("rewinds when the chain gets shorter than its checkpoint (evm_revert), and reads new requests", async () => {
    const store = new SqliteJobStore(":memory:");
    const listener = await listenerOn(store);
    const snapshot = await rpc("evm_snapshot");
    const { commitment } = await ask(sibyl, "reverted away");
    await ask(sibyl, "reverted away too");
    await catchUp(listener);
    const forkPoint = (await sibyl.publicClient.getBlockNumber()) - 2n;

    // No block is mined after the revert: the checkpoint's block no longer exists at all.
    await rpc("evm_revert", [snapshot]);
    assert.ok((await sibyl.publicClient.getBlockNumber()) < listener.lastBlock);
    const rewound = await listener.poll();
    assert.ok(
      rewound.rewoundTo !== undefined && rewound.rewoundTo <= forkPoint,
      `rewound to ${rewound.rewoundTo}`,
    );
    assert.equal(await store.job(commitment.requestId), undefined, "the reverted request is forgotten");

    // A request on the shorter chain is seen at once, not after the chain grows back past the old head.
    const replacement = await ask(sibyl, "after the revert");
    await catchUp(listener);
    assert.equal((await store.job(replacement.commitment.requestId))?.input, toHex("after the revert"));
  });

  it("rebuilds the result log from events into an empty store and matches the contract's root", async () => {
    const prover = new BatchProver();
    try {
      const operator = new TestOperator(sibyl, prover);
      const first = [await ask(sibyl, "a"), await ask(sibyl, "b")].map(({ commitment }) =>
        okAnswer(commitment, "x"),
      );
      await operator.fulfill(first);
      await operator.fulfill([okAnswer((await ask(sibyl, "c")).commitment, "y")]);
      const pending = await ask(sibyl, "still pending");

      const store = new SqliteJobStore(":memory:");
      const listener = await listenerOn(store);
      await catchUp(listener);
      assert.equal(listener.log.tree.root, await sibyl.log.read.root());
      assert.equal(listener.log.tree.nextIndex, await sibyl.log.read.nextIndex());
      assert.equal((await store.countByState()).confirmed, 3);
      assert.equal((await store.job(pending.commitment.requestId))?.state, "received");
    } finally {
      await prover.close();
      await releaseSnarkjsCurve();
    }
  });

  it("reopens a result whose delivery a reorg removed", async () => {
    const prover = new BatchProver();
    try {
      const operator = new TestOperator(sibyl, prover);
      const { commitment } = await ask(sibyl, "answered, then un-answered");
      const store = new SqliteJobStore(":memory:");
      const listener = await listenerOn(store);
      await catchUp(listener);
      const emptyRoot = listener.log.tree.root;
      const snapshot = await rpc("evm_snapshot");
      await operator.fulfill([okAnswer(commitment, "x")]);
      await catchUp(listener);
      assert.equal((await store.job(commitment.requestId))?.state, "confirmed");

      await rpc("evm_revert", [snapshot]);
      await rpc("evm_mine");
      await rpc("evm_mine");
      await catchUp(listener);
      // Confirmed by someone else, so the node has no answer of its own: it runs the model again.
      assert.equal((await store.job(commitment.requestId))?.state, "received");
      assert.equal(listener.log.tree.root, emptyRoot);
      assert.equal(listener.log.tree.root, await sibyl.log.read.root());
    } finally {
      await prover.close();
      await releaseSnarkjsCurve();
    }
  });
});
