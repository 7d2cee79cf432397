import assert from "node:assert/strict";
import { toHex } from "viem";
import { batchWitness, selectBatch } from "../../../src/node/pipeline/batch.js";
import type { Job } from "../../../src/node/store/store.js";
import { EMPTY_LEAF, ResultStatus, resultLeaf } from "../../../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../../../src/shared/merkle.js";

function answeredJob(requestId: bigint): Job {
  return {
    requestId,
    commitment: {
      requestId,
      modelId: toHex("model", { size: 32 }),
      inputHash: toHex(requestId, { size: 32 }),
      requester: "0x00000000000000000000000000000000000000aa",
      fee: 1n,
      deadline: 10_000n,
      callbackGasLimit: 0,
      maxOutputBytes: 64,
    },
    input: "0x",
    requestBlock: 1n,
    state: "answered",
    result: { status: ResultStatus.Ok, output: toHex(`answer ${requestId}`), metadata: toHex("{}") },
    batchId: undefined,
    receivedAt: 0,
    note: undefined,
  };
}

const jobs = (count: number) => Array.from({ length: count }, (_, i) => answeredJob(BigInt(i + 1)));

describe("batch selection", () => {
  const policy = { maxSize: 16, maxWaitMs: 200 };
  const at = (time: number) => () => time;

  it("waits for nothing when nothing is answered", () => {
    assert.equal(selectBatch([], at(0), policy, 1_000), undefined);
  });

  it("sends a full batch at once, oldest first, never more than maxSize", () => {
    const choice = selectBatch(jobs(20), at(1_000), policy, 1_000);
    assert.ok(choice && "jobs" in choice);
    assert.deepEqual(
      choice.jobs.map((job) => job.requestId),
      jobs(16).map((job) => job.requestId),
    );
  });

  it("holds a partial batch until its oldest answer has waited maxWaitMs, then sends it", () => {
    assert.deepEqual(selectBatch(jobs(3), at(1_000), policy, 1_050), { waitMs: 150 });
    const choice = selectBatch(jobs(3), at(1_000), policy, 1_200);
    assert.ok(choice && "jobs" in choice);
    assert.equal(choice.jobs.length, 3);
  });
});

describe("batch witness", () => {
  it("uses the smallest circuit that fits and pads with empty leaves, leaving the tree unchanged", () => {
    const tree = new IncrementalMerkleTree();
    tree.appendSubtree([7n]);
    const before = tree.root;
    const five = jobs(5);
    const witness = batchWitness(five, tree);
    assert.equal(witness.leaves.length, 16);
    assert.equal(witness.startIndex, 16n, "aligned to the batch size");
    assert.deepEqual(
      witness.leaves.slice(0, 5),
      five.map((job) => resultLeaf(job.commitment, job.result as NonNullable<Job["result"]>)),
    );
    assert.ok(witness.leaves.slice(5).every((leaf) => leaf === EMPTY_LEAF));
    assert.equal(witness.oldRoot, before);
    assert.equal(tree.root, before);
  });

  it("refuses a job without an answer", () => {
    const [job] = jobs(1);
    assert.throws(
      () => batchWitness([{ ...(job as Job), result: undefined }], new IncrementalMerkleTree()),
      /no answer/,
    );
  });
});
