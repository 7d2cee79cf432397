import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Hex, toHex } from "viem";
import {
  canTransition,
  InvalidTransitionError,
  JOB_STATES,
  TERMINAL_STATES,
} from "../../../src/node/store/jobState.js";
import { SqliteJobStore, StoreMismatchError } from "../../../src/node/store/sqliteStore.js";
import type { NewJob } from "../../../src/node/store/store.js";
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
  store: SqliteJobStore,
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

describe("job state machine", () => {
  it("lets only the chain move a job out of a terminal state, and never out of cancelled", () => {
    for (const state of TERMINAL_STATES) {
      for (const to of JOB_STATES) {
        const allowed = canTransition(state, to);
        if (state === "cancelled") assert.equal(allowed, false, `cancelled → ${to}`);
        else if (state === "confirmed") assert.equal(allowed, to === "answered", `confirmed → ${to}`);
        else assert.equal(allowed, to === "confirmed" || to === "cancelled", `${state} → ${to}`);
      }
    }
  });

  it("walks the happy path and refuses skipping a step", () => {
    const path = ["received", "running", "answered", "proving", "submitted", "confirmed"] as const;
    for (let i = 0; i + 1 < path.length; i++)
      assert.ok(canTransition(path[i] as never, path[i + 1] as never));
    assert.equal(canTransition("received", "answered"), false);
    assert.equal(canTransition("answered", "submitted"), false);
    assert.equal(canTransition("running", "proving"), false);
  });
});

describe("SqliteJobStore", () => {
  let store: SqliteJobStore;
  beforeEach(() => {
    store = new SqliteJobStore(":memory:");
  });
  afterEach(() => store.close());

  it("inserts a request once however often its block is read", () => {
    assert.equal(commit(store, 1n, [newJob(1n, 1n)]).inserted, 1);
    assert.equal(commit(store, 1n, [newJob(1n, 1n)]).inserted, 0);
    assert.equal(store.countByState().received, 1);
  });

  it("claims received jobs of served models only, oldest first, once", () => {
    commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n, OTHER_MODEL), newJob(3n, 1n)]);
    const claimed = store.claimForRun([MODEL], 10, MY_TURN);
    assert.deepEqual(
      claimed.map((job) => job.requestId),
      [1n, 3n],
    );
    assert.deepEqual(store.claimForRun([MODEL], 10, MY_TURN), []);
    assert.equal(store.job(1n)?.state, "running");
  });

  it("claims another operator's request only once its exclusive window has closed", () => {
    commit(store, 1n, [newJob(1n, 1n, MODEL, OTHER_OPERATOR), newJob(2n, 1n)]);
    assert.deepEqual(
      store.claimForRun([MODEL], 10, { operator: ME, chainTime: 100n }).map((job) => job.requestId),
      [2n],
      "inside the window (until 100): only this operator's own",
    );
    assert.deepEqual(
      store.claimForRun([MODEL], 10, { operator: ME, chainTime: 101n }).map((job) => job.requestId),
      [1n],
      "after it: anyone's",
    );
  });

  it("takes a reassigned request's new commitment, and with it whose turn it is", () => {
    const other = "0x00000000000000000000000000000000000000bb";
    commit(store, 1n, [newJob(1n, 1n, MODEL, other)]);
    assert.deepEqual(store.claimForRun([MODEL], 10, MY_TURN), [], "another operator's, window open");
    const taken = { ...newJob(1n, 1n, MODEL, ME).commitment, exclusiveUntil: 500n };
    commit(store, 2n, [], { reassigned: [taken] });
    assert.deepEqual(store.job(1n)?.commitment, taken);
    assert.deepEqual(
      store.claimForRun([MODEL], 10, MY_TURN).map((job) => job.requestId),
      [1n],
      "now this operator's",
    );
  });

  it("counts failed deliveries per job and replaces an answered job's result", () => {
    commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n)]);
    for (const job of store.claimForRun([MODEL], 2, MY_TURN)) store.recordAnswer(job.requestId, answer);
    const batch = store.createBatch({
      requestIds: [1n, 2n],
      oldRoot: 0n,
      newRoot: 1n,
      startIndex: 0n,
      batchSize: 4,
    });
    store.abandonBatch(
      batch.id,
      new Map([[1n, { state: "answered" as const, note: "InvalidProof", failedAttempt: true }]]),
    );
    assert.equal(store.job(1n)?.attempts, 1);
    assert.equal(store.job(2n)?.attempts, 0, "the others of the batch are not blamed");
    const error = { status: ResultStatus.ModelError, output: toHex("undeliverable"), metadata: toHex("{}") };
    store.reanswer(1n, error, "error result");
    assert.deepEqual(store.job(1n)?.result, error);
    assert.throws(() => store.reanswer(9n, error, "unknown"), /not in state answered/);
  });

  it("passes over the jobs it is told to skip, and claims them when no longer skipped", () => {
    commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n), newJob(3n, 1n)]);
    assert.deepEqual(
      store.claimForRun([MODEL], 1, MY_TURN, [1n, 2n]).map((job) => job.requestId),
      [3n],
    );
    assert.deepEqual(store.claimForRun([MODEL], 1, MY_TURN, [1n, 2n]), []);
    assert.deepEqual(
      store.claimForRun([MODEL], 5, MY_TURN).map((job) => job.requestId),
      [1n, 2n],
    );
  });

  it("keeps no answer for a job that moved while its model ran", () => {
    commit(store, 1n, [newJob(1n, 1n)]);
    store.claimForRun([MODEL], 1, MY_TURN);
    commit(store, 2n, [], { cancelled: [1n] });
    assert.equal(store.recordAnswer(1n, answer), false);
    assert.equal(store.job(1n)?.state, "cancelled");
    assert.equal(store.job(1n)?.result, undefined);
  });

  it("rejects a transition the state machine does not allow, naming the job", () => {
    commit(store, 1n, [newJob(7n, 1n)]);
    assert.throws(() => store.transition(7n, "received", "submitted"), InvalidTransitionError);
    assert.throws(() => store.transition(7n, "running", "answered"), /not in state running/);
  });

  it("moves a batch's jobs proving → submitted with its transaction, and back to answered when abandoned", () => {
    commit(store, 1n, [newJob(1n, 1n), newJob(2n, 1n)]);
    for (const job of store.claimForRun([MODEL], 2, MY_TURN)) store.recordAnswer(job.requestId, answer);
    const batch = store.createBatch({
      requestIds: [1n, 2n],
      oldRoot: 0n,
      newRoot: 1n,
      startIndex: 0n,
      batchSize: 4,
    });
    assert.equal(store.job(1n)?.state, "proving");
    store.recordTransaction({
      hash: "0x01",
      batchId: batch.id,
      nonce: 0,
      raw: "0x02",
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
      sentAt: 1,
    });
    assert.equal(store.job(2n)?.state, "submitted");
    assert.equal(store.batch(batch.id)?.state, "submitted");
    store.abandonBatch(batch.id, new Map([[2n, { state: "failed" as const, note: "RequestNotPending" }]]));
    assert.equal(store.job(1n)?.state, "answered");
    assert.equal(store.job(1n)?.batchId, undefined);
    assert.equal(store.job(2n)?.state, "failed");
    assert.equal(store.job(2n)?.note, "RequestNotPending");
  });

  it("expires unsent jobs whose deadline is before the given time", () => {
    commit(store, 1n, [newJob(1n, 1n), newJob(50n, 1n)]);
    assert.deepEqual(store.expireBefore(1_010n), [1n]);
    assert.equal(store.job(1n)?.state, "expired");
    assert.equal(store.job(50n)?.state, "received");
  });

  it("on rewind drops later requests (and gives up their batches), reopens later deliveries, keeps few checkpoints", () => {
    commit(store, 1n, [newJob(1n, 1n)]);
    commit(store, 2n, [newJob(2n, 2n), newJob(3n, 2n)]);
    for (const job of store.claimForRun([MODEL], 3, MY_TURN)) store.recordAnswer(job.requestId, answer);
    const batch = store.createBatch({
      requestIds: [3n],
      oldRoot: 0n,
      newRoot: 1n,
      startIndex: 0n,
      batchSize: 1,
    });
    store.recordTransaction({
      hash: "0x01",
      batchId: batch.id,
      nonce: 0,
      raw: "0x02",
      maxFeePerGas: 2n,
      maxPriorityFeePerGas: 1n,
      sentAt: 1,
    });
    commit(store, 3n, [], { delivered: [1n] });
    commit(store, 4n, []);
    assert.deepEqual(
      store.recentCheckpoints(10).map((c) => c.block),
      [4n, 3n, 2n],
    );

    assert.deepEqual(store.rewindTo(1n), { dropped: 2, reopened: 1 });
    assert.equal(store.job(1n)?.state, "answered", "its delivery was rewound; its answer stands");
    assert.equal(store.job(2n), undefined, "its request vanished");
    assert.equal(store.job(3n), undefined, "its request vanished, though it was in a sent transaction");
    assert.equal(store.batch(batch.id)?.state, "abandoned");
    assert.deepEqual(
      store.recentCheckpoints(10).map((c) => c.block),
      [],
    );
  });

  it("survives closing and reopening the file, and refuses a database made for another deployment", async () => {
    const file = path.join(await mkdtemp(path.join(os.tmpdir(), "sibyl-store-")), "node.db");
    const first = new SqliteJobStore(file);
    first.bindDeployment("chain 31337 coordinator 0xabc");
    commit(first, 5n, [newJob(9n, 5n)]);
    first.close();
    const reopened = new SqliteJobStore(file);
    try {
      reopened.bindDeployment("chain 31337 coordinator 0xabc");
      assert.equal(reopened.job(9n)?.input, toHex("input 9"));
      assert.equal(reopened.checkpoint()?.block, 5n);
      assert.throws(() => reopened.bindDeployment("chain 1 coordinator 0xdef"), StoreMismatchError);
    } finally {
      reopened.close();
    }
  });
});
