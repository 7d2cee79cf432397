/**
 * Real processes for tests about processes: a `hardhat node` (or anvil) on a free port and the `sibyl`
 * CLI, each a child whose output is kept for the failure message and which is killed when the test is
 * done.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export class ChildRun {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (chunk: Buffer) => this.output.push(chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => this.output.push(chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  get text(): string {
    return this.output.join("");
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves once the output contains `marker`; rejects if the process exits first or time runs out. */
  async waitFor(marker: string | RegExp, timeoutMs = 60_000): Promise<void> {
    const started = Date.now();
    const seen = () => (typeof marker === "string" ? this.text.includes(marker) : marker.test(this.text));
    while (!seen()) {
      if (!this.running) throw new Error(`process exited before printing ${marker}:\n${this.tail()}`);
      if (Date.now() - started > timeoutMs)
        throw new Error(`no ${marker} after ${timeoutMs} ms:\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(
    signal: NodeJS.Signals = "SIGTERM",
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  tail(lines = 40): string {
    return this.text.split("\n").slice(-lines).join("\n");
  }
}

/** `hardhat node` as its own process on a free port; resolves when it serves JSON-RPC. */
export async function startHardhatNode(): Promise<{ url: string; run: ChildRun }> {
  const port = await freePort();
  const bin = path.join(REPO_ROOT, "node_modules/.bin/hardhat");
  const run = new ChildRun(
    spawn(bin, ["node", "--port", String(port), "--hostname", "127.0.0.1"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  await run.waitFor(url, 60_000);
  return { url, run };
}

/** The anvil binary from npm (`@foundry-rs/anvil-linux-amd64`), or why there is none. */
export function findAnvil(): { binary: string } | { missing: string } {
  if (process.platform !== "linux" || process.arch !== "x64")
    return { missing: `anvil ships on npm for linux-x64 only, not ${process.platform}-${process.arch}` };
  try {
    return { binary: createRequire(import.meta.url).resolve("@foundry-rs/anvil-linux-amd64/bin/anvil") };
  } catch {
    return { missing: "@foundry-rs/anvil-linux-amd64 is not installed (npm ci installs it)" };
  }
}

/**
 * Foundry's anvil as its own process on a free port, with Hardhat's accounts (the same test mnemonic)
 * and as many of them as `hardhat node` has; resolves when it serves JSON-RPC.
 */
export async function startAnvil(binary: string): Promise<{ url: string; run: ChildRun }> {
  const port = await freePort();
  const run = new ChildRun(
    spawn(binary, ["--port", String(port), "--host", "127.0.0.1", "--accounts", "20"], {
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  await run.waitFor("Listening on", 30_000);
  return { url: `http://127.0.0.1:${port}`, run };
}

/** The `sibyl` CLI from its TypeScript entry, as a user runs it through npm. */
export function startSibyl(args: string[], env: NodeJS.ProcessEnv = {}): ChildRun {
  return new ChildRun(
    spawn(process.execPath, ["--import", "tsx", path.join(REPO_ROOT, "src/cli/main.ts"), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

/** Runs one `sibyl` command to its end, keeping stdout and stderr apart. */
export async function runSibyl(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin/sibyl.js"), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const [code] = (await once(child, "exit")) as [number | null];
  return { code, stdout, stderr };
}
