/**
 * A Sibyl deployment on a Hardhat network with the real generated verifiers, and a minimal operator
 * that answers requests the way the node does: leaves from the shared encoding, the tree mirrored in
 * TypeScript, real Groth16 proofs from the prover library.
 */
import type { network } from "hardhat";
import { type Account, type Hex, parseEventLogs, stringToHex, toHex } from "viem";
import { verifierContractName } from "../../src/node/prover/artifacts.js";
import { toProofWords } from "../../src/node/prover/calldata.js";
import type { BatchProver } from "../../src/node/prover/prover.js";
import { quoteGasPrice } from "../../src/sdk/quoteGasPrice.js";
import { resolveSibylContracts } from "../../src/shared/contracts.js";
import {
  BATCH_SIZES,
  batchSizeFor,
  EMPTY_LEAF,
  modelIdFromName,
  type RequestCommitment,
  type ResultPayload,
  ResultStatus,
  resultLeaf,
} from "../../src/shared/encoding.js";
import { IncrementalMerkleTree } from "../../src/shared/merkle.js";

type Connection = Awaited<ReturnType<typeof network.create>>;
type Viem = Connection["viem"];

export const TEST_MODEL = {
  id: modelIdFromName("test-model"),
  fee: 10n ** 15n,
  maxInputBytes: 1024,
  maxOutputBytes: 4096,
  timeout: 3600,
};

export const TEST_FEE_PARAMETERS = {
  deliveryGas: 350_000,
  gasPerOutputByte: 40,
  minGasPrice: 10n ** 9n,
  maxPriorityFeePerGas: 2n * 10n ** 9n,
  maxCallbackGasLimit: 2_000_000,
  proofGasPerLeaf: 12_000,
};

export const TEST_OPERATOR_PARAMETERS = {
  minStake: 10n ** 18n,
  unbondingDelay: 7n * 24n * 3600n,
  /** Short, so process tests whose other operators are down get their requests served soon. */
  exclusiveWindow: 10n,
  livenessPenalty: 10n ** 16n,
  equivocationSlashBps: 5_000,
};

export async function deploySibyl(viem: Viem) {
  const publicClient = await viem.getPublicClient();
  const [owner, operator, ...users] = await viem.getWalletClients();
  if (owner === undefined || operator === undefined) throw new Error("the network needs two accounts");
  // The long-lived log and ledger, and the first coordinator version, authorized in the log.
  const log = await viem.deployContract("SibylLog", [owner.account.address]);
  const ledger = await viem.deployContract("OperatorLedger", [
    owner.account.address,
    log.address,
    TEST_OPERATOR_PARAMETERS,
  ]);
  const coordinator = await viem.deployContract("SibylCoordinator", [
    owner.account.address,
    log.address,
    ledger.address,
    1n,
    TEST_FEE_PARAMETERS,
  ]);
  await log.write.authorizeCoordinator([coordinator.address]);
  // As the Ignition module does: the rest of the pending queue's checkpoint ring, so no delivery pays
  // for a fresh slot.
  for (const from of [256n, 512n, 768n]) await log.write.prepareCheckpoints([from, from + 256n]);
  for (const batchSize of BATCH_SIZES) {
    const verifier = await viem.deployContract(verifierContractName(batchSize));
    const adapter = await viem.deployContract("Groth16BatchVerifier", [verifier.address, BigInt(batchSize)]);
    await log.write.setVerifier([BigInt(batchSize), adapter.address]);
  }
  await coordinator.write.registerModel([
    TEST_MODEL.id,
    {
      fee: TEST_MODEL.fee,
      maxInputBytes: TEST_MODEL.maxInputBytes,
      maxOutputBytes: TEST_MODEL.maxOutputBytes,
      timeout: TEST_MODEL.timeout,
      enabled: true,
      quorum: 1,
      configHash: stringToHex("test-config", { size: 32 }),
    },
  ]);
  await ledger.write.registerOperator({ account: operator.account, value: 10n ** 18n });
  await ledger.write.declareModel([TEST_MODEL.id], { account: operator.account });
  return { log, ledger, coordinator, publicClient, owner, operator, users };
}

/** Stakes `account` as an operator that serves `modelIds` (the test model by default). */
export async function stakeOperator(
  sibyl: Pick<Sibyl, "ledger" | "publicClient">,
  account: Account,
  modelIds: readonly Hex[] = [TEST_MODEL.id],
  stake = 10n ** 18n,
): Promise<void> {
  const mined = async (hash: Promise<Hex>) =>
    sibyl.publicClient.waitForTransactionReceipt({ hash: await hash });
  await mined(sibyl.ledger.write.registerOperator({ account, value: stake }));
  for (const modelId of modelIds) await mined(sibyl.ledger.write.declareModel([modelId], { account }));
}

export type Sibyl = Awaited<ReturnType<typeof deploySibyl>>;

/** The deployment's addresses as the node and the SDK find them, from its log. */
export function contractsOf(sibyl: Pick<Sibyl, "log" | "publicClient">) {
  return resolveSibylContracts(sibyl.publicClient, sibyl.log.address);
}

/** The commitments of every InferenceRequested event in a transaction, and its receipt. */
export async function requestedIn(sibyl: Sibyl, hash: Hex) {
  const receipt = await sibyl.publicClient.waitForTransactionReceipt({ hash });
  const events = parseEventLogs({
    abi: sibyl.coordinator.abi,
    logs: receipt.logs,
    eventName: "InferenceRequested",
  });
  const commitments: RequestCommitment[] = events.map((event) => event.args.commitment);
  return Object.assign(commitments, { receipt });
}

/** The escrow a request needs, quoted the way the SDK does (from the chain's base fee). */
export async function quoteEscrow(
  sibyl: Pick<Sibyl, "coordinator" | "publicClient">,
  modelId: Hex = TEST_MODEL.id,
  callbackGasLimit = 0,
) {
  const gasPrice = await quoteGasPrice(sibyl.publicClient);
  return sibyl.coordinator.read.estimateFee([modelId, callbackGasLimit, gasPrice]);
}

/** Requests `input` from the first user account, escrowing the quote, and returns its commitment. */
export async function ask(sibyl: Sibyl, input: string, modelId: Hex = TEST_MODEL.id) {
  const user = sibyl.users[0];
  if (user === undefined) throw new Error("the network needs a user account");
  const hash = await sibyl.coordinator.write.request([modelId, toHex(input), 0, user.account.address], {
    account: user.account,
    value: await quoteEscrow(sibyl, modelId),
  });
  const requested = await requestedIn(sibyl, hash);
  const [commitment] = requested;
  if (commitment === undefined) throw new Error("no InferenceRequested event");
  return { commitment, gasUsed: requested.receipt.gasUsed };
}

export interface Answer {
  commitment: RequestCommitment;
  result: ResultPayload;
  /** Co-signatures for a quorum model's result (see test/helpers/quorum.ts); none by default. */
  signatures?: Hex;
}

export const TEST_METADATA = toHex('{"provider":"test","model":"echo"}');

export function okAnswer(commitment: RequestCommitment, output: string): Answer {
  return { commitment, result: { status: ResultStatus.Ok, output: toHex(output), metadata: TEST_METADATA } };
}

function toFulfillment({ commitment, result, signatures }: Answer) {
  return { commitment, ...result, signatures: signatures ?? "0x" };
}

/** Answers batches like an operator, keeping its own copy of the result tree. */
export class TestOperator {
  readonly tree = new IncrementalMerkleTree();
  /** Leaves delivered without a proof, in sequence order, not yet proven. */
  readonly pending: bigint[] = [];

  constructor(
    private readonly sibyl: Sibyl,
    private readonly prover: BatchProver,
  ) {}

  /** Proves and submits one batch; the tree only moves if the transaction succeeds. */
  async fulfill(answers: Answer[], fees: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint } = {}) {
    const statement = await this.prove(answers);
    const hash = await this.sibyl.coordinator.write.fulfill(statement.args, {
      account: this.sibyl.operator.account,
      ...fees,
    });
    const receipt = await this.sibyl.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`fulfil of ${answers.length} reverted`);
    this.tree.appendSubtree(statement.leaves);
    return { receipt, statement };
  }

  /** Delivers `answers` without a proof; their leaves join the pending queue if it succeeds. */
  async deliver(answers: Answer[], fees: { maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint } = {}) {
    const operator = this.sibyl.operator.account.address;
    const fulfillments = answers.map(toFulfillment);
    const hash = await this.sibyl.coordinator.write.deliver([fulfillments], {
      account: this.sibyl.operator.account,
      ...fees,
    });
    const receipt = await this.sibyl.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`delivery of ${answers.length} reverted`);
    this.pending.push(...answers.map(({ commitment, result }) => resultLeaf(commitment, result, operator)));
    return { receipt };
  }

  /**
   * Proves the first `count` pending leaves (all by default) and sends prove() from `account`
   * (anyone may); the tree and the queue only move if the transaction succeeds.
   */
  async provePending(count = this.pending.length, account = this.sibyl.operator.account) {
    const proven = this.pending.slice(0, count);
    const leaves = [...proven];
    while (leaves.length < batchSizeFor(proven.length)) leaves.push(EMPTY_LEAF);
    const witness = IncrementalMerkleTree.fromSnapshot(this.tree.snapshot()).appendSubtree(leaves);
    const { proof } = await this.prover.prove(witness);
    const hash = await this.sibyl.log.write.prove([proven, witness.newRoot, toProofWords(proof)], {
      account,
    });
    const receipt = await this.sibyl.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`proof of ${count} pending leaves reverted`);
    this.tree.appendSubtree(leaves);
    this.pending.splice(0, count);
    return { receipt, witness, proof };
  }

  /** The fulfil arguments for `answers` against the current tree, without changing the tree. */
  async prove(answers: Answer[]) {
    const batchSize = batchSizeFor(answers.length);
    const operator = this.sibyl.operator.account.address;
    const leaves = answers.map(({ commitment, result }) => resultLeaf(commitment, result, operator));
    while (leaves.length < batchSize) leaves.push(EMPTY_LEAF);
    const witness = IncrementalMerkleTree.fromSnapshot(this.tree.snapshot()).appendSubtree(leaves);
    const { proof } = await this.prover.prove(witness);
    const fulfillments = answers.map(toFulfillment);
    return {
      leaves,
      witness,
      args: [fulfillments, witness.newRoot, toProofWords(proof)] as const,
    };
  }
}
