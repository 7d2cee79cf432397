import { SibylError } from "../../shared/errors.js";

/** The statement is not one the circuit can prove (bad witness, wrong sizes): retrying cannot help. */
export class InvalidWitnessError extends SibylError {
  override name = "InvalidWitnessError";
}

/** Artifacts are missing or do not load. */
export class ProverArtifactError extends SibylError {
  override name = "ProverArtifactError";
}

/** The prover thread died or was closed; a fresh prover may succeed. */
export class ProverUnavailableError extends SibylError {
  override name = "ProverUnavailableError";
  constructor(shortMessage: string, options: { cause?: unknown } = {}) {
    super(shortMessage, { ...options, retryable: true });
  }
}
