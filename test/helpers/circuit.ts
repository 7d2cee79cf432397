/** Runs the committed BatchAppend witness calculators and checks witnesses against the R1CS. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as snarkjs from "snarkjs";
import { circuitArtifacts } from "../../src/node/prover/artifacts.js";
import type { CircuitInput } from "../../src/node/prover/input.js";
import { withoutConsoleError } from "../../src/node/prover/witnessCalculator.js";
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

const CIRCUIT_SOURCE = new URL("../../circuits/lib/batch_append.circom", import.meta.url);

/** Line number (1-based) of the one line of batch_append.circom that contains `statement`. */
async function lineOf(statement: string): Promise<number> {
  const lines = (await readFile(CIRCUIT_SOURCE, "utf8")).split("\n");
  const matches = lines.flatMap((line, i) => (line.includes(statement) ? [i + 1] : []));
  assert.equal(matches.length, 1, `expected exactly one line with "${statement}"`);
  return matches[0] as number;
}

/**
 * Asserts the circuit rejects `input`, and that the constraint that fails is `statement` (a piece of
 * source text of batch_append.circom), so a test cannot pass because of some other, unintended error.
 */
export async function assertRejectedAt(
  batchSize: BatchSize,
  input: CircuitInput,
  statement: string,
): Promise<void> {
  const line = await lineOf(statement);
  // The runtime's own print of the failed assert is silenced; the thrown error carries the same text.
  await withoutConsoleError(() =>
    assert.rejects(checkWitness(batchSize, input), (error: Error) => {
      assert.match(error.message, /Assert Failed/);
      assert.match(error.message, new RegExp(`Error in template BatchAppend_\\d+ line: ${line}\\b`));
      return true;
    }),
  );
}
