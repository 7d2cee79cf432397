/**
 * Processes that ask a person something, and the person: the test types each answer once its question
 * shows. A password prompt that refuses pipes gets a real terminal (a pseudo-terminal from util-linux's
 * `script`); Hardhat's keystore reads lines from a pipe as well.
 */
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import { ChildRun, REPO_ROOT } from "./processes.js";

/** `script`, or undefined where util-linux is missing (the terminal tests are skipped, saying so). */
export const SCRIPT_BINARY: string | undefined = (() => {
  const found = spawnSync("sh", ["-c", "command -v script"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
})();

const SIBYL = [process.execPath, path.join(REPO_ROOT, "bin/sibyl.js")];

/**
 * The environment of a person's shell: none of what the test runner sets (HH_TEST makes Hardhat's
 * keystore refuse to open; a CI variable makes it skip the keystore), and no key or URL of the machine's.
 */
export function personEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    const fromRunner = [
      "HH_TEST",
      "CI",
      "CONTINUOUS_INTEGRATION",
      "BUILD_NUMBER",
      "RUN_ID",
      "GITHUB_ACTIONS",
    ];
    if (fromRunner.includes(name) || /^(SIBYL_|SEPOLIA_|BASE_SEPOLIA_|HARDHAT_CONFIG$)/.test(name))
      delete env[name];
  }
  return { ...env, ...extra };
}

interface RunOptions {
  cwd?: string;
  env: NodeJS.ProcessEnv;
}

/** `sibyl <args>` reading from a pipe the test writes to. */
export function sibylOnPipe(args: string[], { cwd = REPO_ROOT, env }: RunOptions): ChildRun {
  return new ChildRun(spawn(SIBYL[0] as string, [...SIBYL.slice(1), ...args], { cwd, env, stdio: "pipe" }));
}

/** `hardhat <args>` in this repository (its config, its plugins), reading from a pipe. */
export function hardhatOnPipe(args: string[], { cwd = REPO_ROOT, env }: RunOptions): ChildRun {
  const bin = path.join(REPO_ROOT, "node_modules/.bin/hardhat");
  return new ChildRun(spawn(bin, args, { cwd, env, stdio: "pipe" }));
}

/** `sibyl <args>` on a terminal of its own: stdin is a TTY, and what the terminal echoes is in the output. */
export function sibylOnTerminal(args: string[], { cwd = REPO_ROOT, env }: RunOptions): ChildRun {
  if (SCRIPT_BINARY === undefined) throw new Error("no `script` binary for a terminal");
  const command = [...SIBYL, ...args].map(shellQuoted).join(" ");
  // -q no banner, -f flush as it comes, -e the command's exit code, -c the command; no typescript file.
  return new ChildRun(spawn(SCRIPT_BINARY, ["-qfec", command, "/dev/null"], { cwd, env, stdio: "pipe" }));
}

/** Waits until `question` has been asked `times` times, then types `answer` and Enter. */
export async function answer(run: ChildRun, question: string, answerText: string, times = 1): Promise<void> {
  const started = Date.now();
  while (run.text.split(question).length - 1 < times) {
    if (!run.running) throw new Error(`exited before asking "${question}":\n${run.tail()}`);
    if (Date.now() - started > 120_000) throw new Error(`never asked "${question}":\n${run.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  run.child.stdin?.write(`${answerText}\n`);
}

function shellQuoted(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}
