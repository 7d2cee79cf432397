/**
 * Witness calculation with circom_runtime, as snarkjs does it. circom's runtime prints every failed
 * assert to stderr before throwing it; the thrown error carries the same text, so the print is
 * suppressed and the error is left to the caller to report.
 */
import type { WitnessCalculator } from "circom_runtime";
import type { CircuitInput } from "./input.js";

/** Runs `work` with console.error silenced; for callers that report the error they get themselves. */
export async function withoutConsoleError<T>(work: () => Promise<T>): Promise<T> {
  const printError = console.error;
  console.error = () => {};
  try {
    return await work();
  } finally {
    console.error = printError;
  }
}

export function calculateWitness(calculator: WitnessCalculator, input: CircuitInput): Promise<Uint8Array> {
  return withoutConsoleError(() => calculator.calculateWTNSBin(input, true));
}
