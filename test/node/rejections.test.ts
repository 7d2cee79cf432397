import assert from "node:assert/strict";
import { rejectionOutcomes } from "../../src/node/pipeline/rejections.js";
import type { Batch } from "../../src/node/store/store.js";

const BATCH: Batch = {
  id: 7,
  state: "submitted",
  requestIds: [1n, 2n, 3n],
  oldRoot: 111n,
  newRoot: 222n,
  startIndex: 16n,
  batchSize: 4,
  createdAt: 0,
};

function invalidProof(oldRoot: bigint) {
  return { errorName: "InvalidProof", args: [oldRoot, 222n, 16n, 4n], message: "InvalidProof" };
}

describe("what a rejected batch costs its jobs", () => {
  it("a proof gone stale under another operator's batch (the chain's root moved) costs no attempt", () => {
    const outcomes = rejectionOutcomes(invalidProof(999n), BATCH);
    assert.deepEqual(
      [...outcomes.values()].map((outcome) => [outcome.state, outcome.failedAttempt ?? false]),
      [
        ["answered", false],
        ["answered", false],
        ["answered", false],
      ],
    );
  });

  it("an invalid proof on the root it was made for counts against every job, which then go alone", () => {
    const outcomes = rejectionOutcomes(invalidProof(111n), BATCH);
    assert.deepEqual(
      [...outcomes.entries()].map(([id, outcome]) => [id, outcome.failedAttempt]),
      [
        [1n, true],
        [2n, true],
        [3n, true],
      ],
    );
  });

  it("another operator's request inside its window waits, blameless", () => {
    const outcomes = rejectionOutcomes(
      {
        errorName: "NotAssignedOperator",
        args: [2n, "0x00000000000000000000000000000000000000ee", 100n],
        message: "",
      },
      BATCH,
    );
    assert.deepEqual([...outcomes.entries()], [[2n, { state: "answered", note: "NotAssignedOperator" }]]);
  });
});
