/**
 * Proving benchmark: one fresh process per batch size (so peak RSS is that batch size's own), a warm
 * BatchProver, one first proof reported apart, then N timed proofs of consecutive appends.
 *
 *   npm run bench:prover                  # 5 timed runs per batch size
 *   npm run bench:prover -- --runs 10 --sizes 16,64
 *
 * Prints a table and writes bench/results/prover.json.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type ArtifactManifest, MANIFEST_PATH } from "../src/node/prover/artifacts.js";
import { BatchProver } from "../src/node/prover/prover.js";
import { BATCH_SIZES, type BatchSize } from "../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../src/shared/merkle.js";

interface ChildResult {
  batchSize: BatchSize;
  runs: number;
  firstProofMs: number;
  witnessMs: number[];
  proveMs: number[];
  peakRssMiB: number;
}

const SCRIPT = fileURLToPath(import.meta.url);
const RESULTS = path.resolve(path.dirname(SCRIPT), "../bench/results/prover.json");

function option(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
}

function randomLeaves(count: number): bigint[] {
  return Array.from({ length: count }, () => BigInt(Math.floor(Math.random() * 2 ** 48)) << 190n);
}

async function child(batchSize: BatchSize, runs: number): Promise<void> {
  const prover = new BatchProver();
  await prover.warmUp([batchSize]);
  const tree = new IncrementalMerkleTree();
  const first = await prover.prove(tree.appendSubtree(randomLeaves(batchSize)));
  const witnessMs: number[] = [];
  const proveMs: number[] = [];
  for (let run = 0; run < runs; run++) {
    const proof = await prover.prove(tree.appendSubtree(randomLeaves(batchSize)));
    witnessMs.push(proof.witnessMs);
    proveMs.push(proof.proveMs);
  }
  await prover.close();
  const result: ChildResult = {
    batchSize,
    runs,
    firstProofMs: first.witnessMs + first.proveMs,
    witnessMs,
    proveMs,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
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

async function parent(): Promise<void> {
  const runs = Number(option("--runs") ?? 5);
  const sizes = (option("--sizes")?.split(",").map(Number) ?? [...BATCH_SIZES]) as BatchSize[];
  const manifest: ArtifactManifest = JSON.parse(await readFile(MANIFEST_PATH, "utf8"));
  const rows = [];
  for (const batchSize of sizes) {
    process.stderr.write(`proving batch ${batchSize} (${runs} runs)…\n`);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...process.execArgv, SCRIPT, "--child", String(batchSize), "--runs", String(runs)],
      { maxBuffer: 1 << 20 },
    );
    const result: ChildResult = JSON.parse(stdout);
    const circuit = manifest.circuits.find((entry) => entry.batchSize === batchSize);
    rows.push({
      batchSize,
      constraints: circuit?.constraints,
      firstProofMs: Math.round(result.firstProofMs),
      witnessMsMedian: Math.round(stats(result.witnessMs).median),
      prove: Object.fromEntries(Object.entries(stats(result.proveMs)).map(([k, v]) => [k, Math.round(v)])),
      peakRssMiB: Math.round(result.peakRssMiB),
      runs,
    });
  }

  const header =
    "| batch | constraints | first proof ms | witness ms | prove ms median | min | max | peak RSS MiB |";
  const lines = rows.map(
    (row) =>
      `| ${row.batchSize} | ${row.constraints} | ${row.firstProofMs} | ${row.witnessMsMedian} | ` +
      `${row.prove.median} | ${row.prove.min} | ${row.prove.max} | ${row.peakRssMiB} |`,
  );
  process.stdout.write(`${[header, "|---|---|---|---|---|---|---|---|", ...lines].join("\n")}\n`);

  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version };
  await mkdir(path.dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2)}\n`);
  process.stdout.write(`written to ${path.relative(process.cwd(), RESULTS)}\n`);
}

const childSize = option("--child");
if (childSize !== undefined) await child(Number(childSize) as BatchSize, Number(option("--runs") ?? 5));
else await parent();
