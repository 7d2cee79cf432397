/** `hardhat node` as a child process: the devnet's chain, on a port the user chose. */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "./errors.js";

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface LocalChain {
  url: string;
  stop(): Promise<void>;
}

export async function startLocalChain(port: number): Promise<LocalChain> {
  await assertPortFree(port);
  const child = spawn(
    path.join(REPO_ROOT, "node_modules/.bin/hardhat"),
    ["node", "--port", String(port), "--hostname", "127.0.0.1"],
    {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Started HTTP")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("exit", (code) =>
      reject(new CliError(`hardhat node exited (code ${code}): ${output.trim().split("\n").at(-1)}`)),
    );
  });
  child.stderr?.resume();
  return { url, stop: () => stopChild(child) };
}

async function assertPortFree(port: number): Promise<void> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", () =>
      reject(new CliError(`port ${port} is in use: stop what uses it or pass --port <n>`)),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}
