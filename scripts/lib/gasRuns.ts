/**
 * The measurements behind bench:gas on one Sibyl deployment: requests (with an empty callback or
 * none), fulfils with their proof, deliveries without one and the proofs of the pending leaves, each
 * returning the gas it used and what part of it was calldata or proof verification.
 */
import type { network } from "hardhat";
import { encodeFunctionData, type Hex, toHex } from "viem";
import { toProofWords } from "../../src/node/prover/calldata.js";
import type { BatchProver } from "../../src/node/prover/prover.js";
import { publicSignals, ResultStatus } from "../../src/shared/encoding.js";
import {
  type Answer,
  ask,
  deploySibyl,
  quoteEscrow,
  requestedIn,
  type Sibyl,
  TEST_MODEL,
  TestOperator,
} from "../../test/helpers/sibyl.js";
import { calldataGas, executionGas } from "./gas.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

const CALLBACK_GAS = 50_000;
/**
 * Every block's base fee. Left alone, the base fee of this nearly empty chain decays towards zero,
 * which a real chain in use does not.
 */
const BASE_FEE = 10n ** 9n;
const METADATA = toHex('{"provider":"openai","model":"gpt-4o-mini-2024-07-18","temperature":0}');

export interface Delivery {
  hash: Hex;
  gas: number;
  /** Its calldata at EIP-2028 prices. */
  calldata: number;
}

export interface Fulfilled {
  gas: number;
  /** The verifier adapter's execution gas for its proof. */
  verification: number;
}

export interface Proving {
  hash: Hex;
  leaves: number;
  gas: number;
  calldata: number;
  /** The verifier adapter's execution gas for this proof. */
  verification: number;
}

export async function createGasRuns(connection: Connection, prover: BatchProver) {
  const sibyl = await deploySibyl(connection.viem);
  const consumer = await connection.viem.deployContract("NoopConsumer", [sibyl.coordinator.address]);
  const runs = new GasRuns(connection, sibyl, new TestOperator(sibyl, prover), consumer.address);
  // Fees are estimated from the latest block: mine one at the held base fee first.
  await runs.holdBaseFee();
  await sibyl.publicClient.request({ method: "evm_mine" as never });
  return runs;
}

export class GasRuns {
  #questions = 0;

  constructor(
    private readonly connection: Connection,
    readonly sibyl: Sibyl,
    readonly operator: TestOperator,
    readonly consumer: Hex,
  ) {}

  /** Makes the next block's base fee BASE_FEE: call before each transaction. */
  async holdBaseFee() {
    await this.sibyl.publicClient.request({
      method: "hardhat_setNextBlockBaseFeePerGas" as never,
      params: [toHex(BASE_FEE)] as never,
    });
  }

  /** A request with an empty callback, through the NoopConsumer; without one, a plain EOA request. */
  async request(input: string, viaConsumer: boolean) {
    await this.holdBaseFee();
    if (!viaConsumer) return ask(this.sibyl, input);
    const [user] = this.sibyl.users;
    const consumer = await this.connection.viem.getContractAt("NoopConsumer", this.consumer);
    const fee = await quoteEscrow(this.sibyl, TEST_MODEL.id, CALLBACK_GAS);
    const hash = await consumer.write.ask([TEST_MODEL.id, toHex(input), CALLBACK_GAS], {
      account: user?.account,
      value: fee,
    });
    const requested = await requestedIn(this.sibyl, hash);
    const [commitment] = requested;
    if (commitment === undefined) throw new Error("no InferenceRequested event");
    return { commitment, gasUsed: requested.receipt.gasUsed };
  }

  /** `count` new requests answered with `outputBytes` of output. */
  async answers(count: number, outputBytes: number, withCallback: boolean): Promise<Answer[]> {
    const batch: Answer[] = [];
    for (let i = 0; i < count; i++) {
      const { commitment } = await this.request(`question ${this.#questions++}`, withCallback);
      const output = toHex("a".repeat(outputBytes));
      batch.push({ commitment, result: { status: ResultStatus.Ok, output, metadata: METADATA } });
    }
    return batch;
  }

  /** A fulfil of `batchSize` new requests with its proof. */
  async fulfil(batchSize: number, outputBytes: number, withCallback: boolean): Promise<Fulfilled> {
    const batch = await this.answers(batchSize, outputBytes, withCallback);
    await this.holdBaseFee();
    const { receipt, statement } = await this.operator.fulfill(batch);
    const signals = publicSignals(statement.witness);
    return {
      gas: Number(receipt.gasUsed),
      verification: await this.#verification(statement.args[2], signals),
    };
  }

  /** A delivery of `count` new requests without a proof. */
  async deliver(count: number, outputBytes: number, withCallback: boolean): Promise<Delivery> {
    const batch = await this.answers(count, outputBytes, withCallback);
    await this.holdBaseFee();
    const { receipt } = await this.operator.deliver(batch);
    return {
      hash: receipt.transactionHash,
      gas: Number(receipt.gasUsed),
      calldata: await this.#calldata(receipt.transactionHash),
    };
  }

  /** Deliveries of `count` results until `leaves` are pending, then one proof of them all. */
  async deliverThenProve(count: number, outputBytes: number, leaves: number, withCallback: boolean) {
    if (this.operator.pending.length !== 0) throw new Error("the pending queue must start empty");
    const deliveries: Delivery[] = [];
    while (this.operator.pending.length < leaves)
      deliveries.push(await this.deliver(count, outputBytes, withCallback));
    if (this.operator.pending.length !== leaves)
      throw new Error(`${leaves} leaves are not a whole number of deliveries of ${count}`);
    await this.holdBaseFee();
    const { receipt, witness, proof } = await this.operator.provePending();
    const proving: Proving = {
      hash: receipt.transactionHash,
      leaves,
      gas: Number(receipt.gasUsed),
      calldata: await this.#calldata(receipt.transactionHash),
      verification: await this.#verification(toProofWords(proof), publicSignals(witness)),
    };
    return { deliveries, proving };
  }

  async #calldata(hash: Hex) {
    return calldataGas((await this.sibyl.publicClient.getTransaction({ hash })).input);
  }

  /** Execution gas of the verifier adapter for the batch of `signals` checking `proof`. */
  async #verification(proof: readonly bigint[], signals: bigint[]) {
    const batchSize = signals.length - 3;
    const adapter = await this.connection.viem.getContractAt(
      "Groth16BatchVerifier",
      await this.sibyl.coordinator.read.verifierFor([BigInt(batchSize)]),
    );
    const call = encodeFunctionData({
      abi: adapter.abi,
      functionName: "verifyBatch",
      args: [proof as Parameters<typeof adapter.read.verifyBatch>[0][0], signals],
    });
    return (await executionGas(this.sibyl.publicClient, adapter.address, call)).execution;
  }
}
