/**
 * Hardhat for `sibyl dev`: compiling the contracts in a clone of the repository (an installed package
 * ships them compiled), and `hardhat node` as a child process, the devnet's chain, on a port the user
 * chose.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FROM_SOURCE_CHECKOUT, PACKAGE_ROOT } from "../node/packageRoot.js";
import { CliError } from "./errors.js";

/** Hardhat's command line as installed beside Sibyl (this repository's, or the user's project's). */
function hardhatCli(): string {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve("hardhat/package.json");
  } catch {
    throw new CliError("sibyl dev needs Hardhat 3 for its local chain: npm install --save-dev hardhat@^3");
  }
  const { bin } = require(manifest) as { bin: { hardhat: string } };
  return path.join(path.dirname(manifest), bin.hardhat);
}

/** The chain's config sits beside this module, as .ts in the sources and .js in the built package. */
const CHAIN_CONFIG = fileURLToPath(
  new URL(`./devChain.config.${import.meta.url.endsWith(".ts") ? "ts" : "js"}`, import.meta.url),
);

export interface LocalChain {
  url: string;
  stop(): Promise<void>;
}

/**
 * In a clone, the deploy reads the artifacts `hardhat build` writes (ignored by git): build them first,
 * which is quick when nothing changed. Only the contracts: the Solidity tests go through the IR
 * pipeline too and would take minutes more. `announce` wraps the build in a progress line.
 */
export async function compileContractsIfFromSource(
  announce: (run: () => Promise<void>) => Promise<void>,
): Promise<void> {
  if (!FROM_SOURCE_CHECKOUT) return;
  await announce(async () => {
    const child = spawn(process.execPath, [hardhatCli(), "build", "--no-tests", "--quiet"], {
      cwd: PACKAGE_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) {
      const last = output.trim().split("\n").filter(Boolean).at(-1) ?? "";
      throw new CliError(`hardhat build failed (code ${code}): ${last}`);
    }
  });
}

export async function startLocalChain(port: number): Promise<LocalChain> {
  await assertPortFree(port);
  const child = spawn(
    process.execPath,
    [hardhatCli(), "--config", CHAIN_CONFIG, "node", "--port", String(port), "--hostname", "127.0.0.1"],
    { cwd: path.dirname(CHAIN_CONFIG), stdio: ["ignore", "pipe", "pipe"] },
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
