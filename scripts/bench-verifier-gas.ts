/**
 * Gas of each generated Groth16 verifier on the Hardhat network (EDR, in process), called directly and
 * through the Groth16BatchVerifier adapter, with a real proof for each batch size.
 *
 *   npm run bench:verifier
 *
 * "execution" is the transaction's gas less the 21,000 base and the calldata charge (EIP-2028), i.e.
 * what verification costs inside another contract's transaction. Prints a table and writes
 * bench/results/verifier-gas.json.
 */
import { network } from "hardhat";
import { encodeFunctionData } from "viem";
import { verifierContractName } from "../src/node/prover/artifacts.js";
import { toProofWords } from "../src/node/prover/calldata.js";
import { BatchProver } from "../src/node/prover/prover.js";
import { BATCH_SIZES } from "../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../src/shared/merkle.js";
import { executionGas } from "./lib/gas.js";
import { printTable, writeResults } from "./lib/report.js";

const { viem } = await network.getOrCreate();
const publicClient = await viem.getPublicClient();
const prover = new BatchProver();
const rows = [];
for (const batchSize of BATCH_SIZES) {
  const tree = new IncrementalMerkleTree();
  tree.appendSubtree([1n]);
  const leaves = Array.from({ length: batchSize }, (_, i) => BigInt(i + 1) << 200n);
  const { proof, publicSignals } = await prover.prove(tree.appendSubtree(leaves));

  const verifier = await viem.deployContract(verifierContractName(batchSize));
  const adapter = await viem.deployContract("Groth16BatchVerifier", [verifier.address, BigInt(batchSize)]);
  const direct = encodeFunctionData({
    abi: verifier.abi,
    functionName: "verifyProof",
    args: [proof.a, proof.b, proof.c, publicSignals] as never,
  });
  const adapted = encodeFunctionData({
    abi: adapter.abi,
    functionName: "verifyBatch",
    args: [toProofWords(proof), publicSignals],
  });
  const directGas = await executionGas(publicClient, verifier.address, direct);
  const adaptedGas = await executionGas(publicClient, adapter.address, adapted);
  rows.push({
    batchSize,
    publicSignals: publicSignals.length,
    directTxGas: directGas.tx,
    directExecutionGas: directGas.execution,
    adapterTxGas: adaptedGas.tx,
    adapterExecutionGas: adaptedGas.execution,
    formulaGas: 189_000 + 6_700 * publicSignals.length,
  });
}
await prover.close();

printTable(
  [
    "batch",
    "public signals",
    "verifier execution gas",
    "via adapter",
    "tx gas (direct call)",
    "~189k + 6.7k/signal",
  ],
  rows.map((row) => [
    row.batchSize,
    row.publicSignals,
    row.directExecutionGas,
    row.adapterExecutionGas,
    row.directTxGas,
    row.formulaGas,
  ]),
);
await writeResults("verifier-gas", rows);
