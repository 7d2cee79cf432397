import assert from "node:assert/strict";
import { toHex } from "viem";
import { affordable, batchWitness, selectBatch } from "../../../src/node/pipeline/batch.js";
import { fulfilGasLimit, TRANSACTION_GAS_CAP } from "../../../src/node/pipeline/deliveryGas.js";
import type { Job } from "../../../src/node/store/store.js";
import { EMPTY_LEAF, ResultStatus, resultLeaf } from "../../../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../../../src/shared/merkle.js";

const OPERATOR = "0x00000000000000000000000000000000000000ee";
/** Room for any batch, and every job pays. */
const ROOMY = { maxGas: TRANSACTION_GAS_CAP, affordable: () => true };
/** The devnet's escrow terms. */
const TERMS = { deliveryGas: 350_000, gasPerOutputByte: 48, proofGasPerLeaf: 12_000 };
const GWEI = 10n ** 9n;

function answeredJob(requestId: bigint): Job {
  return {
    requestId,
    commitment: {
      requestId,
      modelId: toHex("model", { size: 32 }),
      inputHash: toHex(requestId, { size: 32 }),
      requester: "0x00000000000000000000000000000000000000aa",
      refundTo: "0x00000000000000000000000000000000000000aa",
      operator: OPERATOR,
      escrow: 10n ** 18n,
      deadline: 10_000n,
      exclusiveUntil: 0n,
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
    attempts: 0,
    cosignatures: undefined,
  };
}

const jobs = (count: number) => Array.from({ length: count }, (_, i) => answeredJob(BigInt(i + 1)));

describe("batch selection", () => {
  const policy = { maxSize: 16, maxWaitMs: 200 };
  const at = (time: number) => () => time;

  it("waits for nothing when nothing is answered", () => {
    assert.equal(selectBatch([], at(0), policy, 1_000, ROOMY), undefined);
  });

  it("sends a full batch at once, oldest first, never more than maxSize", () => {
    const choice = selectBatch(jobs(20), at(1_000), policy, 1_000, ROOMY);
    assert.ok(choice && "jobs" in choice);
    assert.deepEqual(
      choice.jobs.map((job) => job.requestId),
      jobs(16).map((job) => job.requestId),
    );
  });

  it("holds a partial batch until its oldest answer has waited maxWaitMs, then sends it", () => {
    assert.deepEqual(selectBatch(jobs(3), at(1_000), policy, 1_050, ROOMY), {
      waitMs: 150,
      unaffordable: [],
    });
    const choice = selectBatch(jobs(3), at(1_000), policy, 1_200, ROOMY);
    assert.ok(choice && "jobs" in choice);
    assert.equal(choice.jobs.length, 3);
  });
});

describe("batch selection under gas and fees", () => {
  const policy = { maxSize: 64, maxWaitMs: 200 };
  const at = () => 1_000;

  it("cuts a batch where its gas bound would pass the transaction's gas, and sends it at once", () => {
    const poison = (requestId: bigint): Job => {
      const job = answeredJob(requestId);
      return { ...job, commitment: { ...job.commitment, callbackGasLimit: 2_000_000 } };
    };
    const answered = Array.from({ length: 40 }, (_, i) => poison(BigInt(i + 1)));
    const choice = selectBatch(answered, at, policy, 1_000, ROOMY);
    assert.ok(choice && "jobs" in choice, "full by gas: no waiting");
    assert.ok(choice.jobs.length >= 1 && choice.jobs.length < 40);
    const size = choice.jobs.length <= 4 ? 4 : choice.jobs.length <= 16 ? 16 : 64;
    assert.ok(fulfilGasLimit(choice.jobs, size) <= TRANSACTION_GAS_CAP, "fits EIP-7825's cap");
    const withOneMore = [...choice.jobs, poison(99n)];
    assert.ok(fulfilGasLimit(withOneMore, withOneMore.length <= 4 ? 4 : 16) > TRANSACTION_GAS_CAP);
  });

  it("delivers a job the chain has rejected before alone, ahead of the rest", () => {
    const answered = jobs(10);
    const rejected = { ...(answered[6] as Job), attempts: 1 };
    answered[6] = rejected;
    const choice = selectBatch(answered, at, { maxSize: 4, maxWaitMs: 0 }, 1_000, ROOMY);
    assert.ok(choice && "jobs" in choice);
    assert.deepEqual(
      choice.jobs.map((job) => job.requestId),
      [7n],
    );
  });

  it("leaves out a job whose escrow does not pay at the going price, and keeps the others", () => {
    const answered = jobs(3);
    const cheap = answered[1] as Job;
    answered[1] = { ...cheap, commitment: { ...cheap.commitment, escrow: 1n } };
    const choice = selectBatch(answered, at, { maxSize: 3, maxWaitMs: 0 }, 1_000, {
      maxGas: TRANSACTION_GAS_CAP,
      affordable: (job) => affordable(job, 50n * GWEI, TERMS, 0n),
    });
    assert.ok(choice && "jobs" in choice);
    assert.deepEqual(
      choice.jobs.map((job) => job.requestId),
      [1n, 3n],
    );
    assert.deepEqual(
      choice.unaffordable.map((job) => job.requestId),
      [2n],
    );
  });
});

describe("what an escrow pays for", () => {
  it("an escrow sized by the coordinator's estimateFee at a price pays at that price, not above", () => {
    const [job] = jobs(1) as [Job];
    const modelFee = 10n ** 14n;
    const gas = BigInt(
      job.commitment.callbackGasLimit +
        TERMS.deliveryGas +
        TERMS.proofGasPerLeaf +
        TERMS.gasPerOutputByte * 64,
    );
    // The SDK's quote at a 50 gwei base fee and a 1 gwei tip: 101 gwei.
    const quoted = { ...job, commitment: { ...job.commitment, escrow: modelFee + gas * 101n * GWEI } };
    assert.equal(affordable(quoted, 51n * GWEI, TERMS, modelFee), true, "at the base fee it was quoted at");
    assert.equal(affordable(quoted, 101n * GWEI, TERMS, modelFee), true, "after the base fee doubled");
    assert.equal(affordable(quoted, 102n * GWEI, TERMS, modelFee), false, "beyond what it was sized for");
  });

  it("a quote at a near-zero base fee still covers the tip", () => {
    const [job] = jobs(1) as [Job];
    const gas = BigInt(TERMS.deliveryGas + TERMS.gasPerOutputByte * 64);
    // 2 × 0.1 gwei + 1 gwei tip quoted; the operator pays 0.1 + 1.
    const quoted = { ...job, commitment: { ...job.commitment, escrow: (gas * 12n * GWEI) / 10n } };
    assert.equal(affordable(quoted, (11n * GWEI) / 10n, TERMS, 0n), true);
  });
});

describe("batch selection behind requests that cannot pay", () => {
  it("serves an affordable request queued behind many that wait for a lower gas price", () => {
    const stingy = jobs(100).map((job) => ({ ...job, commitment: { ...job.commitment, escrow: 1n } }));
    const payer = answeredJob(101n);
    const choice = selectBatch([...stingy, payer], () => 0, { maxSize: 16, maxWaitMs: 0 }, 1_000, {
      maxGas: TRANSACTION_GAS_CAP,
      affordable: (job) => affordable(job, 500n * GWEI, TERMS, 0n),
    });
    assert.ok(choice && "jobs" in choice);
    assert.deepEqual(
      choice.jobs.map((job) => job.requestId),
      [101n],
    );
    assert.equal(choice.unaffordable.length, 100);
  });
});

describe("batch witness", () => {
  it("uses the smallest circuit that fits and pads with empty leaves, leaving the tree unchanged", () => {
    const tree = new IncrementalMerkleTree();
    tree.appendSubtree([7n]);
    const before = tree.root;
    const five = jobs(5);
    const witness = batchWitness(five, tree, OPERATOR);
    assert.equal(witness.leaves.length, 16);
    assert.equal(witness.startIndex, 16n, "aligned to the batch size");
    assert.deepEqual(
      witness.leaves.slice(0, 5),
      five.map((job) => resultLeaf(job.commitment, job.result as NonNullable<Job["result"]>, OPERATOR)),
    );
    assert.ok(witness.leaves.slice(5).every((leaf) => leaf === EMPTY_LEAF));
    assert.equal(witness.oldRoot, before);
    assert.equal(tree.root, before);
  });

  it("refuses a job without an answer", () => {
    const [job] = jobs(1);
    assert.throws(
      () => batchWitness([{ ...(job as Job), result: undefined }], new IncrementalMerkleTree(), OPERATOR),
      /no answer/,
    );
  });
});
