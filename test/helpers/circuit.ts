/** Runs the committed BatchAppend witness calculators and checks witnesses against the R1CS. */
import { readFile } from "node:fs/promises";
import * as snarkjs from "snarkjs";
import { circuitArtifacts } from "../../src/node/prover/artifacts.js";
import type { CircuitInput } from "../../src/node/prover/input.js";
import type { BatchSize } from "../../src/shared/encoding.js";

const files = new Map<string, Promise<Uint8Array>>();

function cachedFile(path: string): Promise<Uint8Array> {
  let file = files.get(path);
  if (file === undefined) {
    file = readFile(path);
    files.set(path, file);
  }
  return file;
}

/**
 * Computes the witness with the circuit's own wasm, then checks every R1CS constraint, so an
 * accepted input is one a prover can really prove. Rejects with the circuit's "Assert Failed" message.
 */
export async function checkWitness(batchSize: BatchSize, input: CircuitInput): Promise<void> {
  const artifacts = circuitArtifacts(batchSize);
  const witness: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await snarkjs.wtns.calculate(input, { type: "mem", data: await cachedFile(artifacts.wasm) }, witness);
  const satisfied = await snarkjs.wtns.check(
    { type: "mem", data: await cachedFile(artifacts.r1cs) },
    witness,
  );
  if (!satisfied) throw new Error("witness computed but R1CS constraints are not satisfied");
}

/** snarkjs keeps BN254 worker threads alive; let the test process exit. */
export async function releaseCurve(): Promise<void> {
  const holder = globalThis as { curve_bn128?: { terminate(): Promise<void> } | null };
  await holder.curve_bn128?.terminate();
  holder.curve_bn128 = null;
}
