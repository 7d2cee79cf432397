/**
 * When the node proves the queue of delivered results: only full proofs' worth (or after the wait),
 * only up to where a delivery ended, the next proof made while the last is being sent, and a proof the
 * chain has moved past dropped.
 */
import assert from "node:assert/strict";
import { LogMirror } from "../../../src/node/chain/logMirror.js";
import { PendingProver, type ReadyProof } from "../../../src/node/pipeline/pendingProver.js";
import type { BatchProof, BatchProver } from "../../../src/node/prover/prover.js";
import type { AppendWitness } from "../../../src/shared/merkle.js";
import { testContext } from "../../helpers/nodeContext.js";

const POLICY = { batchSize: 64, maxWaitMs: 30_000, maxPending: 512 };

/** A prover that records what it was asked and answers when told to. */
class ManualProver {
  readonly asked: AppendWitness[] = [];
  readonly #release: Array<() => void> = [];

  prove(witness: AppendWitness): Promise<BatchProof> {
    this.asked.push(witness);
    return new Promise((resolve) => {
      this.#release.push(() =>
        resolve({
          proof: {},
          publicSignals: [],
          batchSize: witness.leaves.length,
          witnessMs: 0,
          proveMs: 0,
        } as never),
      );
    });
  }

  async finishAll(): Promise<void> {
    for (const release of this.#release.splice(0)) release();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A log with deliveries of the given sizes, leaves 1, 2, 3… in sequence order. */
function logWith(deliveries: number[]): LogMirror {
  const log = new LogMirror();
  let sequence = 0n;
  for (const size of deliveries) {
    log.deliver(Array.from({ length: size }, () => ({ sequence, leaf: ++sequence })));
  }
  return log;
}

/** The log once `ready` has landed. */
function landed(log: LogMirror, ready: ReadyProof): LogMirror {
  const next = log.copy();
  next.append({
    oldRoot: ready.witness.oldRoot,
    newRoot: ready.witness.newRoot,
    startIndex: ready.witness.startIndex,
    batchSize: BigInt(ready.witness.leaves.length),
    count: BigInt(ready.leaves.length),
    firstSequence: ready.firstSequence,
  });
  return next;
}

describe("PendingProver", () => {
  it("waits for a full proof's worth, then proves up to the last delivery end that fits", async () => {
    const prover = new ManualProver();
    const pending = new PendingProver(
      testContext("0x0000000000000000000000000000000000000001"),
      prover as unknown as BatchProver,
      () => undefined,
    );
    assert.ok(pending.next(logWith([40]), POLICY, 0).waitMs > 0);
    assert.equal(prover.asked.length, 0, "40 pending, not yet waited: no proof");
    pending.next(logWith([40, 40]), POLICY, 1);
    assert.equal(prover.asked.length, 1);
    assert.equal(
      prover.asked[0]?.leaves.filter((leaf) => leaf !== 0n).length,
      40,
      "stops at a delivery's end",
    );
    assert.equal(prover.asked[0]?.leaves.length, 64);
  });

  it("proves fewer once the oldest has waited maxWaitMs", () => {
    const prover = new ManualProver();
    const pending = new PendingProver(
      testContext("0x0000000000000000000000000000000000000001"),
      prover as unknown as BatchProver,
      () => undefined,
    );
    const log = logWith([3]);
    pending.next(log, POLICY, 0);
    assert.equal(prover.asked.length, 0);
    pending.next(log, POLICY, POLICY.maxWaitMs);
    assert.equal(prover.asked.length, 1);
    assert.equal(prover.asked[0]?.leaves.length, 4, "3 leaves in the batch-4 circuit");
  });

  it("starts the next proof on the tree as it will be while the last is sent, and uses it once that lands", async () => {
    const prover = new ManualProver();
    const pending = new PendingProver(
      testContext("0x0000000000000000000000000000000000000001"),
      prover as unknown as BatchProver,
      () => undefined,
    );
    const log = logWith([64, 64, 64]);
    pending.next(log, POLICY, 0);
    await prover.finishAll();
    const first = pending.next(log, POLICY, 1).ready;
    assert.ok(first, "the first proof is ready");
    assert.equal(first.firstSequence, 0n);
    assert.equal(prover.asked.length, 2, "the second proof started with the first handed out");
    assert.equal(prover.asked[1]?.oldRoot, first.witness.newRoot, "on top of the first");
    await prover.finishAll();
    const second = pending.next(landed(log, first), POLICY, 2).ready;
    assert.equal(second?.firstSequence, 64n);
  });

  it("drops a finished proof the chain has moved past, and proves again from where the chain is", async () => {
    const prover = new ManualProver();
    const pending = new PendingProver(
      testContext("0x0000000000000000000000000000000000000001"),
      prover as unknown as BatchProver,
      () => undefined,
    );
    const log = logWith([64, 64]);
    pending.next(log, POLICY, 0);
    await prover.finishAll();
    const first = pending.next(log, POLICY, 1).ready;
    assert.ok(first);
    await prover.finishAll();
    // The first proof never landed (another prover's did not either): the speculative second is stale.
    assert.equal(pending.next(log, POLICY, 2).ready, undefined);
    assert.equal(prover.asked.length, 3, "proves the queue's start again");
    assert.equal(prover.asked[2]?.oldRoot, log.tree.root);
  });
});
