/** Groth16 proofs in the shape the generated Solidity verifiers take. */
import type { Groth16Proof } from "snarkjs";

export interface SolidityProof {
  a: readonly [bigint, bigint];
  /** G2 point with each coordinate pair in the EVM precompile's order (imaginary part first). */
  b: readonly [readonly [bigint, bigint], readonly [bigint, bigint]];
  c: readonly [bigint, bigint];
}

export function toSolidityProof(proof: Groth16Proof): SolidityProof {
  const [ax, ay] = proof.pi_a;
  const [[bx0, bx1], [by0, by1]] = proof.pi_b;
  const [cx, cy] = proof.pi_c;
  return {
    a: [BigInt(ax), BigInt(ay)],
    b: [
      [BigInt(bx1), BigInt(bx0)],
      [BigInt(by1), BigInt(by0)],
    ],
    c: [BigInt(cx), BigInt(cy)],
  };
}

/** The proof as the eight words IBatchVerifier.verifyBatch takes: a, b, c in order. */
export type ProofWords = readonly [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];

export function toProofWords(proof: SolidityProof): ProofWords {
  return [...proof.a, ...proof.b[0], ...proof.b[1], ...proof.c];
}
