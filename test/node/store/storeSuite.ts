/**
 * One suite for every JobStore implementation: each test file opens its kind of store and runs it.
 * Leadership and fencing are tested where a store has more than one replica (PostgreSQL).
 */
import assert from "node:assert/strict";
import { type Hex, toHex } from "viem";
import { InvalidTransitionError } from "../../../src/node/store/jobState.js";
import { StoreMismatchError } from "../../../src/node/store/rows.js";
import type { JobStore, NewJob, SentTransaction } from "../../../src/node/store/store.js";
import { ResultStatus } from "../../../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../../../src/shared/merkle.js";

const MODEL = toHex("model", { size: 32 });
const ME = "0x00000000000000000000000000000000000000ee";
const OTHER_OPERATOR = "0x00000000000000000000000000000000000000bb";
/** This operator's turn at chain time 0: only its own assignments. */
const MY_TURN = { operator: ME, chainTime: 0n } as const;
const OTHER_MODEL = toHex("other", { size: 32 });

function newJob(requestId: bigint, block: bigint, modelId: Hex = MODEL, operator: Hex = ME): NewJob {
  return {
    commitment: {
      requestId,
      modelId,
      inputHash: toHex(requestId, { size: 32 }),
      requester: "0x00000000000000000000000000000000000000aa",
      refundTo: "0x00000000000000000000000000000000000000aa",
      operator,
      escrow: 10n ** 15n,
      deadline: 1_000n + requestId,
      exclusiveUntil: 100n,
      callbackGasLimit: 100_000,
      maxOutputBytes: 256,
    },
    input: toHex(`input ${requestId}`),
    requestBlock: block,
  };
}

const answer = { status: ResultStatus.Ok, output: toHex("out"), metadata: toHex("{}") };
const tree = new IncrementalMerkleTree().snapshot();

function commit(
  store: JobStore,
  block: bigint,
  jobs: NewJob[],
  extra: { delivered?: bigint[]; cancelled?: bigint[]; reassigned?: NewJob["commitment"][] } = {},
) {
  return store.commitRange({
    requested: jobs,
    delivered: (extra.delivered ?? []).map((requestId) => ({ requestId, block })),
    cancelled: extra.cancelled ?? [],
    reassigned: extra.reassigned ?? [],
    checkpoint: { block, hash: toHex(block, { size: 32 }), tree },
    keep: 3,
  });
}

export interface StoreUnderTest {
  /** A fresh, empty store, leading (bound to no deployment yet). */
  open(): Promise<JobStore>;
  /** Another handle on the same storage as the last opened (a restart, or a second replica). */
  reopen(): Promise<JobStore>;
}

const tx = (batchId: number, hash: Hex = "0x01"): SentTransaction => ({
  hash,
  batchId,
  nonce: 0,
  raw: "0x02",
  maxFeePerGas: 2n,
  maxPriorityFeePerGas: 1n,
  sentAt: 1,
});

export function describeStore(name: string, target: () => StoreUnderTest | undefined): void {
  describe(name, () => {
    let store: JobStore;
    const opened: JobStore[] = [];
    async function open(): Promise<JobStore> {
      const under = target();
      if (under === undefined) throw new Error("no store to test");
      const fresh = await under.open();
      opened.push(fresh);
      await fresh.tryLead("test", 60_000);
      return fresh;
    }
    async function reopen(): Promise<JobStore> {
      const again = await (target() as StoreUnderTest).reopen();
      opened.push(again);
      return again;
    }
    beforeEach(async function () {
      if (target() === undefined) this.skip();
      store = await open();
    });
    afterEach(async () => {
      for (const each of opened.splice(0)) await each.close();
    });

    it("inserts a request once however often its block is read", async () => {
      assert.equal((await commit(store, 1n, [newJob(1n, 1n)])).inserted, 1);
      assert.equal((await commit(store, 1n, [newJob(1n, 1n)])).inserted, 0);
      assert.equal((await store.countByState()).received, 1);
    });

    it("claims received jobs of served models only, oldest first, once", async () => {
      await commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n, OTHER_MODEL), newJob(3n, 1n)]);
      const claimed = await store.claimForRun([MODEL], 10, MY_TURN);
      assert.deepEqual(
        claimed.map((job) => job.requestId),
        [1n, 3n],
      );
      assert.deepEqual(await store.claimForRun([MODEL], 10, MY_TURN), []);
      assert.equal((await store.job(1n))?.state, "running");
    });

    it("claims another operator's request only once its exclusive window has closed", async () => {
      await commit(store, 1n, [newJob(1n, 1n, MODEL, OTHER_OPERATOR), newJob(2n, 1n)]);
      assert.deepEqual(
        (await store.claimForRun([MODEL], 10, { operator: ME, chainTime: 100n })).map((job) => job.requestId),
        [2n],
        "inside the window (until 100): only this operator's own",
      );
      assert.deepEqual(
        (await store.claimForRun([MODEL], 10, { operator: ME, chainTime: 101n })).map((job) => job.requestId),
        [1n],
        "after it: anyone's",
      );
    });

    it("takes a reassigned request's new commitment, and with it whose turn it is", async () => {
      const other = "0x00000000000000000000000000000000000000bb";
      await commit(store, 1n, [newJob(1n, 1n, MODEL, other)]);
      assert.deepEqual(await store.claimForRun([MODEL], 10, MY_TURN), [], "another operator's, window open");
      const taken = { ...newJob(1n, 1n, MODEL, ME).commitment, exclusiveUntil: 500n };
      await commit(store, 2n, [], { reassigned: [taken] });
      assert.deepEqual((await store.job(1n))?.commitment, taken);
      assert.deepEqual(
        (await store.claimForRun([MODEL], 10, MY_TURN)).map((job) => job.requestId),
        [1n],
        "now this operator's",
      );
    });

    it("counts failed deliveries per job and replaces an answered job's result", async () => {
      await commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n)]);
      for (const job of await store.claimForRun([MODEL], 2, MY_TURN))
        await store.recordAnswer(job.requestId, answer);
      const batch = await store.createBatch({
        requestIds: [1n, 2n],
        oldRoot: 0n,
        newRoot: 1n,
        startIndex: 0n,
        batchSize: 4,
      });
      await store.abandonBatch(
        batch.id,
        new Map([[1n, { state: "answered" as const, note: "InvalidProof", failedAttempt: true }]]),
      );
      assert.equal((await store.job(1n))?.attempts, 1);
      assert.equal((await store.job(2n))?.attempts, 0, "the others of the batch are not blamed");
      const error = {
        status: ResultStatus.ModelError,
        output: toHex("undeliverable"),
        metadata: toHex("{}"),
      };
      await store.reanswer(1n, error, "error result");
      assert.deepEqual((await store.job(1n))?.result, error);
      await assert.rejects(store.reanswer(9n, error, "unknown"), /not in state answered/);
    });

    it("passes over the jobs it is told to skip, and claims them when no longer skipped", async () => {
      await commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n), newJob(3n, 1n)]);
      assert.deepEqual(
        (await store.claimForRun([MODEL], 1, MY_TURN, [1n, 2n])).map((job) => job.requestId),
        [3n],
      );
      assert.deepEqual(await store.claimForRun([MODEL], 1, MY_TURN, [1n, 2n]), []);
      assert.deepEqual(
        (await store.claimForRun([MODEL], 5, MY_TURN)).map((job) => job.requestId),
        [1n, 2n],
      );
    });

    it("keeps no answer for a job that moved while its model ran", async () => {
      await commit(store, 1n, [newJob(1n, 1n)]);
      await store.claimForRun([MODEL], 1, MY_TURN);
      await commit(store, 2n, [], { cancelled: [1n] });
      assert.equal(await store.recordAnswer(1n, answer), false);
      assert.equal((await store.job(1n))?.state, "cancelled");
      assert.equal((await store.job(1n))?.result, undefined);
    });

    it("rejects a transition the state machine does not allow, naming the job", async () => {
      await commit(store, 1n, [newJob(7n, 1n)]);
      await assert.rejects(store.transition(7n, "received", "submitted"), InvalidTransitionError);
      await assert.rejects(store.transition(7n, "running", "answered"), /not in state running/);
    });

    it("moves a batch's jobs proving → submitted with its transaction, and back to answered when abandoned", async () => {
      await commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n)]);
      for (const job of await store.claimForRun([MODEL], 2, MY_TURN))
        await store.recordAnswer(job.requestId, answer);
      const batch = await store.createBatch({
        requestIds: [1n, 2n],
        oldRoot: 0n,
        newRoot: 1n,
        startIndex: 0n,
        batchSize: 4,
      });
      assert.equal((await store.job(1n))?.state, "proving");
      await store.recordTransaction({
        hash: "0x01",
        batchId: batch.id,
        nonce: 0,
        raw: "0x02",
        maxFeePerGas: 2n,
        maxPriorityFeePerGas: 1n,
        sentAt: 1,
      });
      assert.equal((await store.job(2n))?.state, "submitted");
      assert.equal((await store.batch(batch.id))?.state, "submitted");
      await store.abandonBatch(
        batch.id,
        new Map([[2n, { state: "failed" as const, note: "RequestNotPending" }]]),
      );
      assert.equal((await store.job(1n))?.state, "answered");
      assert.equal((await store.job(1n))?.batchId, undefined);
      assert.equal((await store.job(2n))?.state, "failed");
      assert.equal((await store.job(2n))?.note, "RequestNotPending");
    });

    it("expires unsent jobs whose deadline is before the given time", async () => {
      await commit(store, 1n, [newJob(1n, 1n), newJob(50n, 1n)]);
      assert.deepEqual(await store.expireBefore(1_010n), [1n]);
      assert.equal((await store.job(1n))?.state, "expired");
      assert.equal((await store.job(50n))?.state, "received");
    });

    it("on rewind drops later requests (and gives up their batches), reopens later deliveries, keeps few checkpoints", async () => {
      await commit(store, 1n, [newJob(1n, 1n)]);
      await commit(store, 2n, [newJob(2n, 2n), newJob(3n, 2n)]);
      for (const job of await store.claimForRun([MODEL], 3, MY_TURN))
        await store.recordAnswer(job.requestId, answer);
      const batch = await store.createBatch({
        requestIds: [3n],
        oldRoot: 0n,
        newRoot: 1n,
        startIndex: 0n,
        batchSize: 1,
      });
      await store.recordTransaction({
        hash: "0x01",
        batchId: batch.id,
        nonce: 0,
        raw: "0x02",
        maxFeePerGas: 2n,
        maxPriorityFeePerGas: 1n,
        sentAt: 1,
      });
      await commit(store, 3n, [], { delivered: [1n] });
      await commit(store, 4n, []);
      assert.deepEqual(
        (await store.recentCheckpoints(10)).map((c) => c.block),
        [4n, 3n, 2n],
      );

      assert.deepEqual(await store.rewindTo(1n), { dropped: 2, reopened: 1 });
      assert.equal((await store.job(1n))?.state, "answered", "its delivery was rewound; its answer stands");
      assert.equal(await store.job(2n), undefined, "its request vanished");
      assert.equal(
        await store.job(3n),
        undefined,
        "its request vanished, though it was in a sent transaction",
      );
      assert.equal((await store.batch(batch.id))?.state, "abandoned");
      assert.deepEqual(
        (await store.recentCheckpoints(10)).map((c) => c.block),
        [],
      );
    });

    it("tracks a transaction rebuilt byte for byte after a reorg instead of failing on its hash", async () => {
      await commit(store, 1n, [newJob(1n, 1n)]);
      for (const job of await store.claimForRun([MODEL], 1, MY_TURN))
        await store.recordAnswer(job.requestId, answer);
      const first = await store.createBatch({
        requestIds: [1n],
        oldRoot: 0n,
        newRoot: 1n,
        startIndex: 0n,
        batchSize: 1,
      });
      await store.recordTransaction(tx(first.id));
      // The reorg removed the delivery: the batch is given up, the answer batched again...
      await store.abandonBatch(first.id);
      const again = await store.createBatch({
        requestIds: [1n],
        oldRoot: 0n,
        newRoot: 1n,
        startIndex: 0n,
        batchSize: 1,
      });
      // ...into the same transaction (same calldata, nonce and fees): same hash.
      await store.recordTransaction({ ...tx(again.id), sentAt: 2 });
      assert.equal((await store.batch(again.id))?.state, "submitted");
      assert.equal((await store.job(1n))?.state, "submitted");
      assert.deepEqual(
        (await store.transactionsOf(again.id)).map((t) => [t.hash, t.sentAt]),
        [["0x01", 2]],
        "the new batch follows it, as sent now",
      );
      assert.deepEqual(await store.transactionsOf(first.id), []);
    });

    it("signs one answer per request, keeps that through a rewind, and signs nothing at or before its floor", async () => {
      await store.bindDeployment("chain 31337 coordinator 0xabc", 5n);
      await commit(store, 5n, [newJob(1n, 5n)]);
      await commit(store, 6n, [newJob(2n, 6n)]);
      assert.equal(
        await store.markSigned(1n, "a"),
        "unknown",
        "made at the floor: it may have signed it before",
      );
      assert.equal(await store.markSigned(2n, "a"), "signed");
      assert.equal(await store.markSigned(2n, "a"), "signed", "the same answer again");
      assert.equal(await store.markSigned(2n, "b"), "another");
      await store.rewindTo(5n);
      assert.equal(await store.job(2n), undefined, "the request vanished with the reorg");
      await commit(store, 6n, [newJob(2n, 6n)]);
      assert.equal(await store.markSigned(2n, "b"), "another", "the signature was not forgotten");
      assert.equal(await store.markSigned(9n, "a"), "unknown", "a request it never read");
    });

    it("keeps its signing floor when a second replica (or a restart) binds the same deployment later", async () => {
      await store.bindDeployment("chain 31337 coordinator 0xabc", 5n);
      const again = await reopen();
      await again.bindDeployment("chain 31337 coordinator 0xabc", 50n);
      await commit(store, 6n, [newJob(2n, 6n)]);
      assert.equal(await again.markSigned(2n, "a"), "signed", "made after the first binding");
    });

    it("survives closing and reopening, and refuses a database made for another deployment", async () => {
      await store.bindDeployment("chain 31337 coordinator 0xabc", 0n);
      await commit(store, 5n, [newJob(9n, 5n)]);
      await store.close();
      const reopened = await reopen();
      await reopened.bindDeployment("chain 31337 coordinator 0xabc", 0n);
      assert.equal((await reopened.job(9n))?.input, toHex("input 9"));
      assert.equal((await reopened.checkpoint())?.block, 5n);
      await assert.rejects(reopened.bindDeployment("chain 1 coordinator 0xdef", 0n), StoreMismatchError);
    });
  });
}
