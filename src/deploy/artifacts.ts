/**
 * Sibyl's own compiled contracts, for Ignition to deploy into any project. Hardhat's artifact resolver
 * reads the *current* project's build, which in a dapp developer's project has no Sibyl contracts (and
 * Hardhat will not compile sources from node_modules); the package ships its build instead, produced by
 * `hardhat build` from contracts/ when the package is packed, and this reads that.
 */
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Artifact, ArtifactResolver, BuildInfo } from "@nomicfoundation/ignition-core";
import { FROM_SOURCE_CHECKOUT, PACKAGE_ROOT } from "../node/packageRoot.js";
import { SibylError } from "../shared/errors.js";

/** Hardhat's layout: `artifacts/contracts/<source path>/<ContractName>.json`. */
export const CONTRACT_ARTIFACTS_DIR = path.join(PACKAGE_ROOT, "artifacts", "contracts");

export class SibylArtifactResolver implements ArtifactResolver {
  readonly #dir: string;
  #index: Promise<Map<string, string>> | undefined;

  constructor(dir: string = CONTRACT_ARTIFACTS_DIR) {
    this.#dir = dir;
  }

  async loadArtifact(contractName: string): Promise<Artifact> {
    const file = (await this.#files()).get(contractName);
    if (file === undefined) {
      throw new SibylError(`no compiled artifact for contract ${contractName} in ${this.#dir}`);
    }
    return JSON.parse(await readFile(file, "utf8")) as Artifact;
  }

  /** Whether the package ships an artifact for `contractName`. */
  async hasArtifact(contractName: string): Promise<boolean> {
    return (await this.#files()).has(contractName);
  }

  /** Build infos (solc input and output) are not shipped: they are only needed to verify source code. */
  async getBuildInfo(_contractName: string): Promise<BuildInfo | undefined> {
    return undefined;
  }

  #files(): Promise<Map<string, string>> {
    this.#index ??= indexArtifacts(this.#dir);
    return this.#index;
  }
}

async function indexArtifacts(dir: string): Promise<Map<string, string>> {
  if (!existsSync(dir)) {
    throw new SibylError(`Sibyl's contracts are not compiled (no ${dir})`, {
      details: FROM_SOURCE_CHECKOUT
        ? "run `npx hardhat build` in the repository first"
        : "the installed package is incomplete: reinstall it",
    });
  }
  const index = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    // Hardhat writes one <ContractName>.json per contract inside a folder named after its source file.
    if (!entry.isFile() || !entry.name.endsWith(".json") || !entry.parentPath.endsWith(".sol")) continue;
    index.set(entry.name.slice(0, -".json".length), path.join(entry.parentPath, entry.name));
  }
  return index;
}
