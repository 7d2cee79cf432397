/**
 * Where the committed circuit artifacts live, and what each is called. They sit at the package's root
 * (the installed package ships the wasm, zkey and vkey files; the R1CS only in the repository).
 */
import path from "node:path";
import { type BatchSize, TREE_DEPTH } from "../../shared/encoding.js";
import { PACKAGE_ROOT } from "../packageRoot.js";

export const CIRCUITS_DIR = `${path.join(PACKAGE_ROOT, "circuits")}/`;
export const ARTIFACTS_DIR = `${CIRCUITS_DIR}artifacts/`;
export const MANIFEST_PATH = `${ARTIFACTS_DIR}manifest.json`;
export const VERIFIERS_DIR = `${path.join(PACKAGE_ROOT, "contracts", "verifiers")}/`;

export function circuitName(batchSize: number, depth: number = TREE_DEPTH): string {
  return `batch_append_d${depth}_b${batchSize}`;
}

export function verifierContractName(batchSize: number): string {
  return `BatchAppendVerifier${batchSize}`;
}

export interface CircuitArtifacts {
  name: string;
  wasm: string;
  r1cs: string;
  zkey: string;
  vkey: string;
  verifier: string;
}

export function circuitArtifacts(batchSize: BatchSize): CircuitArtifacts {
  const name = circuitName(batchSize);
  const dir = `${ARTIFACTS_DIR}${name}/`;
  return {
    name,
    wasm: `${dir}${name}.wasm`,
    r1cs: `${dir}${name}.r1cs`,
    zkey: `${dir}${name}.zkey`,
    vkey: `${dir}${name}.vkey.json`,
    verifier: `${VERIFIERS_DIR}${verifierContractName(batchSize)}.sol`,
  };
}

/** Shape of circuits/artifacts/manifest.json, written by scripts/build-circuits.ts. */
export interface ArtifactManifest {
  note: string;
  ptau: { power: number; sha256: string };
  circuits: Array<{
    batchSize: number;
    depth: number;
    constraints: number;
    publicSignals: number;
    files: Record<string, string>;
  }>;
}
