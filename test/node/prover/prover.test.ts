import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "mocha";
import * as snarkjs from "snarkjs";
import { circuitArtifacts } from "../../../src/node/prover/artifacts.js";
import { releaseSnarkjsCurve } from "../../../src/node/prover/curve.js";
import { InvalidWitnessError, ProverUnavailableError } from "../../../src/node/prover/errors.js";
import { BatchProver } from "../../../src/node/prover/prover.js";
import { IncrementalMerkleTree } from "../../../src/shared/merkle.js";
import { randomLeaves, seededRandom } from "../../helpers/random.js";

describe("BatchProver", function () {
  this.timeout(300_000);
  let prover: BatchProver;

  before(async () => {
    prover = new BatchProver();
    await prover.warmUp([4]);
  });
  after(async () => {
    await prover.close();
    await releaseSnarkjsCurve();
  });

  it("proves consecutive appends in order without blocking the event loop", async () => {
    const random = seededRandom(11);
    const tree = new IncrementalMerkleTree();
    const witnesses = [
      tree.appendSubtree(randomLeaves(random, 4)),
      tree.appendSubtree(randomLeaves(random, 4)),
    ];

    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const proofs = await Promise.all(witnesses.map((witness) => prover.prove(witness)));
    clearInterval(timer);
    assert.ok(ticks > 2, `the event loop ran only ${ticks} timer ticks while two proofs were computed`);

    const vkey = JSON.parse(await readFile(circuitArtifacts(4).vkey, "utf8"));
    for (const [i, proof] of proofs.entries()) {
      assert.equal(proof.batchSize, 4);
      assert.equal(proof.publicSignals[0], witnesses[i]?.oldRoot);
      assert.equal(proof.publicSignals[2], witnesses[i]?.startIndex);
      assert.equal(await snarkjs.groth16.verify(vkey, proof.publicSignals, proof.snarkProof), true);
    }
  });

  it("rejects a statement the circuit does not accept with InvalidWitnessError, and keeps working", async () => {
    const random = seededRandom(12);
    const tree = new IncrementalMerkleTree();
    const witness = tree.appendSubtree(randomLeaves(random, 4));
    await assert.rejects(prover.prove({ ...witness, newRoot: witness.newRoot + 1n }), (error: unknown) => {
      assert.ok(error instanceof InvalidWitnessError);
      assert.equal(error.retryable, false);
      assert.match(error.shortMessage, /circuit rejects/);
      assert.match(String(error.details), /Assert Failed/);
      return true;
    });
    const proof = await prover.prove(witness);
    assert.equal(proof.publicSignals[1], witness.newRoot);
  });

  it("rejects malformed witnesses before they reach the thread", async () => {
    const tree = new IncrementalMerkleTree();
    const witness = tree.appendSubtree([1n, 2n, 3n, 4n]);
    await assert.rejects(prover.prove({ ...witness, leaves: [1n, 2n, 3n] }), /no circuit for 3 leaves/);
    await assert.rejects(
      prover.prove({ ...witness, siblings: witness.siblings.slice(1) }),
      /needs 30 siblings/,
    );
  });

  it("after close, proving fails with a retryable ProverUnavailableError", async () => {
    const closing = new BatchProver();
    await closing.close();
    const witness = new IncrementalMerkleTree().appendSubtree([5n]);
    await assert.rejects(closing.prove(witness), (error: unknown) => {
      assert.ok(error instanceof ProverUnavailableError);
      assert.equal(error.retryable, true);
      return true;
    });
  });
});
