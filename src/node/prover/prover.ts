/**
 * BatchProver: proves BatchAppend statements in a dedicated child process, so the node's event loop
 * never waits on snarkjs, and keeps keys and the curve warm between proofs. Proofs run one at a time:
 * snarkjs already spreads one proof over every core.
 */
import { type ChildProcess, fork } from "node:child_process";
import type { Groth16Proof } from "snarkjs";
import { type BatchSize, publicSignals } from "../../shared/encoding.js";
import type { AppendWitness } from "../../shared/merkle.js";
import { type SolidityProof, toSolidityProof } from "./calldata.js";
import { InvalidWitnessError, ProverArtifactError, ProverUnavailableError } from "./errors.js";
import { batchSizeOf, circuitInput } from "./input.js";
import type { ProverCommand, ProverReply, ProverRequest, RawProof } from "./proverProcess.js";

export interface BatchProof {
  batchSize: BatchSize;
  proof: SolidityProof;
  /** The same proof as snarkjs returns it, for off-chain verification with the vkey. */
  snarkProof: Groth16Proof;
  /** oldRoot, newRoot, startIndex, leaves: what the verifier is called with. */
  publicSignals: bigint[];
  witnessMs: number;
  proveMs: number;
  /** Peak resident memory of the prover process so far. */
  proverPeakRssBytes: number;
}

type Pending = { resolve: (reply: ProverReply) => void; reject: (error: Error) => void };

export class BatchProver {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #failure: Error | undefined;

  constructor() {
    const fromSource = import.meta.url.endsWith(".ts");
    const entry = new URL(`./proverProcess.${fromSource ? "ts" : "js"}`, import.meta.url);
    // Running from TypeScript sources, the child needs the same loader as this process.
    const needsLoader = fromSource && !process.execArgv.includes("tsx");
    const execArgv = needsLoader ? [...process.execArgv, "--import", "tsx"] : process.execArgv;
    this.#child = fork(entry, [], {
      execArgv,
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.#child.on("message", (reply: ProverReply) => {
      this.#pending.get(reply.id)?.resolve(reply);
      this.#pending.delete(reply.id);
    });
    this.#child.on("error", (error) =>
      this.#fail(new ProverUnavailableError("prover process failed", { cause: error })),
    );
    this.#exited = new Promise((resolve) => {
      this.#child.on("exit", (code, signal) => {
        this.#fail(new ProverUnavailableError(`prover process exited (${signal ?? `code ${code}`})`));
        resolve();
      });
    });
  }

  /** Loads keys and witness calculators ahead of the first proof. */
  async warmUp(batchSizes: readonly BatchSize[]): Promise<void> {
    for (const batchSize of batchSizes) {
      await this.#request({ kind: "load", batchSize });
    }
  }

  /** Proves one append; the witness comes from IncrementalMerkleTree.appendSubtree. */
  async prove(witness: AppendWitness): Promise<BatchProof> {
    const batchSize = batchSizeOf(witness);
    const input = circuitInput(witness);
    const result = await this.#request({ kind: "prove", batchSize, input });
    if (result === undefined) throw new ProverUnavailableError("prover process returned no proof");
    const signals = publicSignals(witness);
    if (result.publicSignals.some((signal, i) => BigInt(signal) !== signals[i])) {
      throw new InvalidWitnessError("prover returned public signals that differ from the statement");
    }
    return {
      batchSize,
      proof: toSolidityProof(result.proof),
      snarkProof: result.proof,
      publicSignals: signals,
      witnessMs: result.witnessMs,
      proveMs: result.proveMs,
      proverPeakRssBytes: result.peakRssBytes,
    };
  }

  async close(): Promise<void> {
    this.#fail(new ProverUnavailableError("prover closed"));
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
    await this.#exited;
  }

  /** One request at a time, in order of arrival. */
  #request(request: ProverCommand): Promise<RawProof | undefined> {
    const run = this.#queue.then(() => this.#send(request));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #send(request: ProverCommand): Promise<RawProof | undefined> {
    if (this.#failure) throw this.#failure;
    const id = this.#nextId++;
    const reply = await new Promise<ProverReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: ProverRequest = { ...request, id };
      this.#child.send(message, (error) => {
        if (error) reject(new ProverUnavailableError("prover process is not reachable", { cause: error }));
      });
    });
    if (reply.ok) return reply.result;
    const { kind, message } = reply.error;
    if (kind === "witness")
      throw new InvalidWitnessError("the circuit rejects this statement", { details: message });
    if (kind === "artifact")
      throw new ProverArtifactError("circuit artifacts failed to load", { details: message });
    throw new ProverUnavailableError("prover failed", { cause: new Error(message) });
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}
