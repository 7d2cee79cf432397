/**
 * The measurements behind bench:gas on one Sibyl deployment: requests (with an empty callback or
 * none), fulfils with their proof, deliveries without one and the proofs of the pending leaves, each
 * returning the gas it used and what part of it was calldata or proof verification. Each can be of a
 * quorum model (addQuorumModels), its results carrying the other operators' co-signatures; every
 * request is steered to the one operator that delivers (the coordinator draws from the active set).
 */
import type { network } from "hardhat";
import { encodeFunctionData, type Hex, keccak256, toHex } from "viem";
import { toProofWords } from "../../src/node/prover/calldata.js";
import type { BatchProver } from "../../src/node/prover/prover.js";
import { modelIdFromName, publicSignals, ResultStatus } from "../../src/shared/encoding.js";
import { assignNextRequestTo, cosign } from "../../test/helpers/quorum.js";
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
  const consumer = await connection.viem.deployContract("NoopConsumer", [sibyl.log.address]);
  const runs = new GasRuns(connection, sibyl, new TestOperator(sibyl, prover), consumer.address);
  // Fees are estimated from the latest block: mine one at the held base fee first.
  await runs.holdBaseFee();
  await sibyl.publicClient.request({ method: "evm_mine" as never });
  return runs;
}

type Wallet = Sibyl["operator"];

export class GasRuns {
  #questions = 0;
  /** The model of each quorum measured: TEST_MODEL for 1, the rest from addQuorumModels. */
  readonly #models = new Map<number, Hex>([[1, TEST_MODEL.id]]);
  /** Operators besides the delivering one, each staked, that co-sign quorum models' results. */
  readonly #cosigners: Wallet[] = [];

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

  /**
   * Registers a model for each of `quorums` (same limits and fee as TEST_MODEL) and enough co-signing
   * operators, from the last accounts, for the largest: after this, every active operator but the
   * delivering one co-signs.
   */
  async addQuorumModels(quorums: number[]) {
    const { coordinator, ledger, owner, users } = this.sibyl;
    const needed = Math.max(...quorums) - 1;
    while (this.#cosigners.length < needed) {
      const account = users[users.length - 1 - this.#cosigners.length];
      if (account === undefined || account === users[0]) throw new Error("not enough accounts to co-sign");
      await this.#mined(ledger.write.registerOperator({ account: account.account, value: 10n ** 18n }));
      this.#cosigners.push(account);
    }
    const servers = [this.sibyl.operator, ...this.#cosigners];
    for (const quorum of quorums) {
      const modelId = modelIdFromName(`test-model-q${quorum}`);
      const model = { ...(await coordinator.read.modelOf([TEST_MODEL.id])), quorum };
      await this.#mined(coordinator.write.registerModel([modelId, model], { account: owner.account }));
      for (const server of servers)
        await this.#mined(ledger.write.declareModel([modelId], { account: server.account }));
      this.#models.set(quorum, modelId);
    }
  }

  /**
   * A request with an empty callback, through the NoopConsumer; without one, a plain EOA request; to
   * the model of `quorum`, assigned to the delivering operator.
   */
  async request(input: string, viaConsumer: boolean, quorum = 1) {
    const modelId = this.modelOf(quorum);
    await assignNextRequestTo(this.connection, this.sibyl, this.sibyl.operator.account.address, modelId);
    await this.holdBaseFee();
    if (!viaConsumer) return ask(this.sibyl, input, modelId);
    const [user] = this.sibyl.users;
    const consumer = await this.connection.viem.getContractAt("NoopConsumer", this.consumer);
    const fee = await quoteEscrow(this.sibyl, modelId, CALLBACK_GAS);
    const hash = await consumer.write.ask([modelId, toHex(input), CALLBACK_GAS], {
      account: user?.account,
      value: fee,
    });
    const requested = await requestedIn(this.sibyl, hash);
    const [commitment] = requested;
    if (commitment === undefined) throw new Error("no InferenceRequested event");
    return { commitment, gasUsed: requested.receipt.gasUsed };
  }

  /**
   * `count` new requests answered with `outputBytes` of output; for a quorum model, each answer
   * co-signed by quorum − 1 of the other operators.
   */
  async answers(count: number, outputBytes: number, withCallback: boolean, quorum = 1): Promise<Answer[]> {
    const batch: Answer[] = [];
    const cosigners = this.#cosigners.slice(0, quorum - 1);
    const chainId = await this.sibyl.publicClient.getChainId();
    for (let i = 0; i < count; i++) {
      const { commitment } = await this.request(`question ${this.#questions++}`, withCallback, quorum);
      const output = toHex("a".repeat(outputBytes));
      const statement = {
        requestId: commitment.requestId,
        outputHash: keccak256(output),
        status: ResultStatus.Ok,
      };
      const signatures = await cosign(cosigners, this.sibyl.coordinator.address, chainId, statement);
      batch.push({ commitment, result: { status: ResultStatus.Ok, output, metadata: METADATA }, signatures });
    }
    return batch;
  }

  /** A fulfil of `batchSize` new requests with its proof. */
  async fulfil(
    batchSize: number,
    outputBytes: number,
    withCallback: boolean,
    quorum = 1,
  ): Promise<Fulfilled> {
    const batch = await this.answers(batchSize, outputBytes, withCallback, quorum);
    await this.holdBaseFee();
    const { receipt, statement } = await this.operator.fulfill(batch);
    const signals = publicSignals(statement.witness);
    return {
      gas: Number(receipt.gasUsed),
      verification: await this.#verification(statement.args[2], signals),
    };
  }

  /** A delivery of `count` new requests without a proof. */
  async deliver(count: number, outputBytes: number, withCallback: boolean, quorum = 1): Promise<Delivery> {
    const batch = await this.answers(count, outputBytes, withCallback, quorum);
    await this.holdBaseFee();
    const { receipt } = await this.operator.deliver(batch);
    return {
      hash: receipt.transactionHash,
      gas: Number(receipt.gasUsed),
      calldata: await this.#calldata(receipt.transactionHash),
    };
  }

  /** Deliveries of `count` results until `leaves` are pending, then one proof of them all. */
  async deliverThenProve(
    count: number,
    outputBytes: number,
    leaves: number,
    withCallback: boolean,
    quorum = 1,
  ) {
    if (this.operator.pending.length !== 0) throw new Error("the pending queue must start empty");
    const deliveries: Delivery[] = [];
    while (this.operator.pending.length < leaves)
      deliveries.push(await this.deliver(count, outputBytes, withCallback, quorum));
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

  /** The co-signing operators' addresses, in the order quorum models take them. */
  get cosigners(): Hex[] {
    return this.#cosigners.map((wallet) => wallet.account.address);
  }

  modelOf(quorum: number): Hex {
    const modelId = this.#models.get(quorum);
    if (modelId === undefined) throw new Error(`no model of quorum ${quorum}: call addQuorumModels first`);
    return modelId;
  }

  async #mined(hash: Promise<Hex>) {
    const receipt = await this.sibyl.publicClient.waitForTransactionReceipt({ hash: await hash });
    if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
  }

  async #calldata(hash: Hex) {
    return calldataGas((await this.sibyl.publicClient.getTransaction({ hash })).input);
  }

  /** Execution gas of the verifier adapter for the batch of `signals` checking `proof`. */
  async #verification(proof: readonly bigint[], signals: bigint[]) {
    const batchSize = signals.length - 3;
    const adapter = await this.connection.viem.getContractAt(
      "Groth16BatchVerifier",
      await this.sibyl.log.read.verifierFor([BigInt(batchSize)]),
    );
    const call = encodeFunctionData({
      abi: adapter.abi,
      functionName: "verifyBatch",
      args: [proof as Parameters<typeof adapter.read.verifyBatch>[0][0], signals],
    });
    return (await executionGas(this.sibyl.publicClient, adapter.address, call)).execution;
  }
}
