/**
 * The consumer path as a dapp developer walks it: pack this package, copy examples/hardhat-dapp to a
 * fresh folder outside the repository, install the tarball there with the example's own dependencies,
 * and run the example's `npm test` (its contracts import Sibyl by package path; its tests use the
 * fixture, the mock and the SDK from plain node). Prints how long each step took and the sizes.
 *
 * Usage: npm run example:test [-- --keep]   (--keep leaves the folder for inspection)
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const EXAMPLE = path.join(ROOT, "examples", "hardhat-dapp");
const keep = process.argv.includes("--keep");

function run(label: string, command: string, args: string[], cwd: string): number {
  process.stdout.write(`\n== ${label}: ${command} ${args.join(" ")}\n`);
  const started = performance.now();
  execFileSync(command, args, { cwd, stdio: "inherit" });
  return (performance.now() - started) / 1000;
}

function sizeOf(target: string): number {
  const stats = statSync(target, { throwIfNoEntry: false });
  if (stats === undefined || stats.isSymbolicLink()) return 0;
  if (!stats.isDirectory()) return stats.size;
  return readdirSync(target).reduce((total, entry) => total + sizeOf(path.join(target, entry)), 0);
}

const workDir = mkdtempSync(path.join(os.tmpdir(), "sibyl-example-"));
try {
  const app = path.join(workDir, "hardhat-dapp");
  cpSync(EXAMPLE, app, {
    recursive: true,
    filter: (source) => !/[/\\](node_modules|artifacts|cache)$/.test(source),
  });
  const packSeconds = run("pack", "npm", ["pack", "--silent", "--pack-destination", workDir], ROOT);
  const tarball = readdirSync(workDir).find((name) => name.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball into ${workDir}`);
  const installSeconds = run(
    "install",
    "npm",
    ["install", "--no-audit", "--no-fund", path.join(workDir, tarball)],
    app,
  );
  const testSeconds = run("test", "npm", ["test"], app);
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  process.stdout.write(
    [
      "",
      "| step | seconds | size |",
      "| --- | --- | --- |",
      `| npm pack (builds first) | ${packSeconds.toFixed(1)} | tarball ${mb(sizeOf(path.join(workDir, tarball)))} |`,
      `| npm install (tarball + the example's dev dependencies) | ${installSeconds.toFixed(1)} | node_modules ${mb(sizeOf(path.join(app, "node_modules")))} |`,
      `| npm test (compile, fixture, mock, plain-node SDK) | ${testSeconds.toFixed(1)} | |`,
      "",
    ].join("\n"),
  );
} finally {
  if (keep) process.stdout.write(`kept ${workDir}\n`);
  else rmSync(workDir, { recursive: true, force: true });
}
