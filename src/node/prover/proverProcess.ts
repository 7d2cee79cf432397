/**
 * The prover process, forked by BatchProver. It keeps, per batch size, the witness calculator and the
 * proving key in memory, and snarkjs keeps the BN254 curve (with its helper threads) alive between
 * proofs. A process rather than a worker thread: snarkjs's threading (ffjavascript through the
 * `web-worker` package) takes any worker thread it is loaded in for one of its own and fails there.
 */
import { readFile } from "node:fs/promises";
import { type WitnessCalculator, WitnessCalculatorBuilder } from "circom_runtime";
import * as snarkjs from "snarkjs";
import type { BatchSize } from "../../shared/encoding.js";
import { circuitArtifacts } from "./artifacts.js";
import type { CircuitInput } from "./input.js";
import { calculateWitness } from "./witnessCalculator.js";

export type ProverCommand =
  | { kind: "load"; batchSize: BatchSize }
  | { kind: "prove"; batchSize: BatchSize; input: CircuitInput };

export type ProverRequest = ProverCommand & { id: number };

export type ProverReply =
  | { id: number; ok: true; result?: RawProof }
  | { id: number; ok: false; error: { kind: "witness" | "artifact" | "internal"; message: string } };

export interface RawProof {
  proof: snarkjs.Groth16Proof;
  publicSignals: string[];
  witnessMs: number;
  proveMs: number;
  /** Peak resident memory of the prover process so far. */
  peakRssBytes: number;
}

interface LoadedCircuit {
  witnessCalculator: WitnessCalculator;
  zkey: Uint8Array;
}

class StageError extends Error {
  constructor(
    readonly kind: "witness" | "artifact",
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

const loaded = new Map<BatchSize, Promise<LoadedCircuit>>();

async function loadCircuit(batchSize: BatchSize): Promise<LoadedCircuit> {
  const artifacts = circuitArtifacts(batchSize);
  const [wasm, zkey] = await Promise.all([readFile(artifacts.wasm), readFile(artifacts.zkey)]);
  return { witnessCalculator: await WitnessCalculatorBuilder(wasm), zkey };
}

function circuitFor(batchSize: BatchSize): Promise<LoadedCircuit> {
  let circuit = loaded.get(batchSize);
  if (circuit === undefined) {
    circuit = loadCircuit(batchSize).catch((error: unknown) => {
      loaded.delete(batchSize);
      throw new StageError("artifact", error);
    });
    loaded.set(batchSize, circuit);
  }
  return circuit;
}

async function prove(batchSize: BatchSize, input: CircuitInput): Promise<RawProof> {
  const circuit = await circuitFor(batchSize);
  const started = performance.now();
  const witness = await calculateWitness(circuit.witnessCalculator, input).catch((error: unknown) => {
    throw new StageError("witness", error);
  });
  const witnessDone = performance.now();
  const { proof, publicSignals } = await snarkjs.groth16.prove(
    { type: "mem", data: circuit.zkey },
    { type: "mem", data: witness },
  );
  return {
    proof,
    publicSignals,
    witnessMs: witnessDone - started,
    proveMs: performance.now() - witnessDone,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

async function handle(request: ProverRequest): Promise<ProverReply> {
  try {
    if (request.kind === "load") {
      await circuitFor(request.batchSize);
      return { id: request.id, ok: true };
    }
    return { id: request.id, ok: true, result: await prove(request.batchSize, request.input) };
  } catch (error) {
    const kind = error instanceof StageError ? error.kind : "internal";
    const message = error instanceof Error ? error.message : String(error);
    return { id: request.id, ok: false, error: { kind, message } };
  }
}

process.on("message", (request: ProverRequest) => {
  void handle(request).then((reply) => process.send?.(reply));
});
// The parent is gone: nothing left to prove for.
process.on("disconnect", () => process.exit(0));
