/**
 * Proving benchmark. For each batch size: a new BatchProver (its own process, so peak RSS is that batch
 * size's alone), keys loaded by warmUp, one first proof reported apart (it builds the curve), then N
 * timed proofs of consecutive appends.
 *
 *   npm run bench:prover                       # 5 timed runs per batch size
 *   npm run bench:prover -- --runs 10 --sizes 16,64
 *
 * Prints a table and writes bench/results/prover.json.
 */
import { readFile } from "node:fs/promises";
import { type ArtifactManifest, MANIFEST_PATH } from "../src/node/prover/artifacts.js";
import { BatchProver } from "../src/node/prover/prover.js";
import { BATCH_SIZES, type BatchSize } from "../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../src/shared/merkle.js";
import { printTable, writeResults } from "./lib/report.js";

const MiB = 1024 * 1024;

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function randomLeaves(count: number): bigint[] {
  return Array.from({ length: count }, () => BigInt(Math.floor(Math.random() * 2 ** 48)) << 190n);
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number };
}

async function measure(batchSize: BatchSize, runs: number) {
  const prover = new BatchProver();
  try {
    await prover.warmUp([batchSize]);
    const tree = new IncrementalMerkleTree();
    const first = await prover.prove(tree.appendSubtree(randomLeaves(batchSize)));
    const witnessMs: number[] = [];
    const proveMs: number[] = [];
    let peakRssBytes = first.proverPeakRssBytes;
    for (let run = 0; run < runs; run++) {
      const proof = await prover.prove(tree.appendSubtree(randomLeaves(batchSize)));
      witnessMs.push(proof.witnessMs);
      proveMs.push(proof.proveMs);
      peakRssBytes = proof.proverPeakRssBytes;
    }
    return {
      firstProofMs: first.witnessMs + first.proveMs,
      witnessMs: stats(witnessMs),
      proveMs: stats(proveMs),
      peakRssMiB: peakRssBytes / MiB,
    };
  } finally {
    await prover.close();
  }
}

const runs = Number(option("--runs") ?? 5);
const sizes = (option("--sizes")?.split(",").map(Number) ?? [...BATCH_SIZES]) as BatchSize[];
const manifest: ArtifactManifest = JSON.parse(await readFile(MANIFEST_PATH, "utf8"));
const rows = [];
for (const batchSize of sizes) {
  process.stderr.write(`proving batch ${batchSize} (${runs} runs)…\n`);
  const result = await measure(batchSize, runs);
  rows.push({
    batchSize,
    constraints: manifest.circuits.find((entry) => entry.batchSize === batchSize)?.constraints,
    runs,
    firstProofMs: Math.round(result.firstProofMs),
    witnessMsMedian: Math.round(result.witnessMs.median),
    proveMsMedian: Math.round(result.proveMs.median),
    proveMsMin: Math.round(result.proveMs.min),
    proveMsMax: Math.round(result.proveMs.max),
    peakRssMiB: Math.round(result.peakRssMiB),
  });
}

printTable(
  [
    "batch",
    "constraints",
    "first proof ms",
    "witness ms",
    "prove ms median",
    "min",
    "max",
    "prover peak RSS MiB",
  ],
  rows.map((row) => [
    row.batchSize,
    row.constraints,
    row.firstProofMs,
    row.witnessMsMedian,
    row.proveMsMedian,
    row.proveMsMin,
    row.proveMsMax,
    row.peakRssMiB,
  ]),
);
await writeResults("prover", rows);
