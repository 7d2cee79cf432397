/** Benchmark output: a Markdown table on stdout and a JSON file under bench/results/. */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/results");

export function printTable(columns: string[], rows: Array<Array<string | number | undefined>>): void {
  const lines = [
    columns,
    columns.map(() => "---"),
    ...rows.map((row) => row.map((cell) => String(cell ?? ""))),
  ];
  process.stdout.write(`${lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n")}\n`);
}

export async function writeResults(name: string, rows: unknown[]): Promise<void> {
  const file = path.join(RESULTS_DIR, `${name}.json`);
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version };
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 2)}\n`);
  process.stdout.write(`written to ${path.relative(process.cwd(), file)}\n`);
}
