import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import * as snarkjs from "snarkjs";
import {
  type ArtifactManifest,
  circuitArtifacts,
  MANIFEST_PATH,
  verifierContractName,
} from "../../src/node/prover/artifacts.js";
import { toProofWords } from "../../src/node/prover/calldata.js";
import { releaseSnarkjsCurve } from "../../src/node/prover/curve.js";
import { BatchProver } from "../../src/node/prover/prover.js";
import { BATCH_SIZES, TREE_DEPTH } from "../../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../../src/shared/merkle.js";
import { randomLeaves, seededRandom } from "../helpers/random.js";

const ROOT = path.resolve(path.dirname(MANIFEST_PATH), "../..");

describe("committed circuit artifacts", function () {
  this.timeout(300_000);
  let manifest: ArtifactManifest;
  let prover: BatchProver;

  before(async () => {
    manifest = JSON.parse(await readFile(MANIFEST_PATH, "utf8"));
    prover = new BatchProver();
  });
  after(async () => {
    await prover.close();
    await releaseSnarkjsCurve();
  });

  it("the manifest lists every batch size and every file's sha256 matches", async () => {
    assert.deepEqual(
      manifest.circuits.map((circuit) => circuit.batchSize),
      [...BATCH_SIZES],
    );
    for (const circuit of manifest.circuits) {
      assert.equal(circuit.depth, TREE_DEPTH);
      assert.equal(circuit.publicSignals, 3 + circuit.batchSize);
      assert.ok(circuit.constraints < 2 ** manifest.ptau.power, "one ptau must serve every circuit");
      const artifacts = circuitArtifacts(circuit.batchSize as (typeof BATCH_SIZES)[number]);
      const expected = [artifacts.wasm, artifacts.r1cs, artifacts.zkey, artifacts.vkey, artifacts.verifier];
      assert.deepEqual(
        Object.keys(circuit.files).sort(),
        expected.map((file) => path.relative(ROOT, file)).sort(),
      );
      for (const [file, digest] of Object.entries(circuit.files)) {
        const actual = createHash("sha256")
          .update(await readFile(path.join(ROOT, file)))
          .digest("hex");
        assert.equal(actual, digest, `${file} changed since the manifest was written`);
      }
    }
  });

  for (const batchSize of BATCH_SIZES) {
    it(`batch ${batchSize}: a proof from the zkey verifies with the vkey and with the Solidity verifier`, async () => {
      const random = seededRandom(batchSize);
      const tree = new IncrementalMerkleTree();
      tree.appendSubtree(randomLeaves(random, 1));
      const witness = tree.appendSubtree(randomLeaves(random, batchSize));
      const { proof, snarkProof, publicSignals } = await prover.prove(witness);

      const vkey = JSON.parse(await readFile(circuitArtifacts(batchSize).vkey, "utf8"));
      assert.equal(await snarkjs.groth16.verify(vkey, publicSignals, snarkProof), true);
      const tampered = [...publicSignals];
      tampered[1] = (tampered[1] as bigint) + 1n;
      assert.equal(await snarkjs.groth16.verify(vkey, tampered, snarkProof), false);

      const { viem } = await network.getOrCreate();
      const verifier = await viem.deployContract(verifierContractName(batchSize));
      const publicClient = await viem.getPublicClient();
      const call = (signals: bigint[]) =>
        publicClient.readContract({
          address: verifier.address,
          abi: verifier.abi,
          functionName: "verifyProof",
          args: [proof.a, proof.b, proof.c, signals] as never,
        });
      assert.equal(await call(publicSignals), true);
      assert.equal(await call(tampered), false);
      const otherLeaves = [...publicSignals];
      otherLeaves[3] = (otherLeaves[3] as bigint) ^ 1n;
      assert.equal(await call(otherLeaves), false);

      // The same through the IBatchVerifier adapter the coordinator uses.
      const adapter = await viem.deployContract("Groth16BatchVerifier", [
        verifier.address,
        BigInt(batchSize),
      ]);
      const words = toProofWords(proof);
      assert.equal(await adapter.read.batchSize(), BigInt(batchSize));
      assert.equal(await adapter.read.verifyBatch([words, publicSignals]), true);
      assert.equal(await adapter.read.verifyBatch([words, tampered]), false);
      await assert.rejects(
        adapter.read.verifyBatch([words, publicSignals.slice(1)]),
        /PublicSignalCountMismatch/,
      );
    });
  }
});
