// Types for the parts of snarkjs (which ships none) that Sibyl uses.
declare module "snarkjs" {
  /** A path, or an in-memory file as fastfile understands it. */
  export type SnarkFile = string | { type: "mem"; data?: Uint8Array };

  export interface Groth16Proof {
    pi_a: [string, string, string];
    pi_b: [[string, string], [string, string], [string, string]];
    pi_c: [string, string, string];
    protocol: "groth16";
    curve: string;
  }

  export interface VerificationKey {
    protocol: "groth16";
    curve: string;
    nPublic: number;
    [key: string]: unknown;
  }

  export interface R1csInfo {
    nConstraints: number;
    nVars: number;
    nPubInputs: number;
    nPrvInputs: number;
    nOutputs: number;
  }

  export type CircuitInput = Record<string, bigint | bigint[] | string | string[]>;

  export const groth16: {
    prove(zkey: SnarkFile, witness: SnarkFile): Promise<{ proof: Groth16Proof; publicSignals: string[] }>;
    verify(
      vkey: VerificationKey,
      publicSignals: readonly (string | bigint)[],
      proof: Groth16Proof,
    ): Promise<boolean>;
  };

  export const wtns: {
    calculate(input: CircuitInput, wasm: SnarkFile, witness: SnarkFile): Promise<void>;
    check(r1cs: SnarkFile, witness: SnarkFile): Promise<boolean>;
  };

  export const r1cs: {
    info(r1cs: SnarkFile): Promise<R1csInfo>;
  };
}

// circom_runtime: the witness calculator that snarkjs itself uses, kept warm between proofs.
declare module "circom_runtime" {
  export interface WitnessCalculator {
    calculateWTNSBin(input: Record<string, unknown>, sanityCheck?: boolean): Promise<Uint8Array>;
  }
  export function WitnessCalculatorBuilder(
    wasm: Uint8Array,
    options?: { sanityCheck?: boolean },
  ): Promise<WitnessCalculator>;
}
