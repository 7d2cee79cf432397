/**
 * `mockSibyl(connection)`: the real coordinator, with test verifiers behind it, so a consumer's unit
 * tests can have any pending request answered at once with an output and status they choose: no node,
 * no model, no proof. The coordinator, the fee rules, the callback with exact gas and the result log are
 * all the real contract's; only the Groth16 verifiers are swapped for MockBatchVerifier, which accepts
 * one well-defined stand-in proof per statement. Never point this at a chain anyone else uses.
 *
 * The mock answers with fulfill (delivery and proof in one transaction), so each result is proven at
 * once. fulfill cannot go ahead of results delivered without a proof (a test may call deliver itself):
 * the mock proves that queue first, as any prover may, then answers.
 */
import { type Address, type Hex, isHex, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getContractEvents } from "viem/actions";
import { SibylArtifactResolver } from "../deploy/artifacts.js";
import { publicClientOf, walletFor } from "../deploy/connection.js";
import {
  type DeploySibylStackParameters,
  deploySibylStack,
  registerOperator,
  type SibylConnection,
  type SibylDeployment,
} from "../deploy/index.js";
import { fulfilGasLimit, proveGasLimit } from "../node/pipeline/deliveryGas.js";
import type { ProofWords } from "../node/prover/calldata.js";
import { getRequest } from "../sdk/getRequest.js";
import { deliveredLeaf } from "../sdk/logReader.js";
import { pendingLogFrom, queuedResults } from "../sdk/pendingQueue.js";
import type { SibylResult } from "../sdk/types.js";
import { waitForResult } from "../sdk/waitForResult.js";
import { operatorLedgerAbi, sibylCoordinatorAbi, sibylLogAbi } from "../shared/abi/generated.js";
import {
  BATCH_SIZES,
  batchSizeFor,
  EMPTY_LEAF,
  modelIdFromName,
  ResultStatus,
  resultLeaf,
} from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { type FrontierSnapshot, IncrementalMerkleTree } from "../shared/merkle.js";
import { fundedKey } from "./connection.js";

export interface MockFulfillOptions {
  /** The answer: text (sent as UTF-8) or 0x-prefixed bytes. Default: empty. */
  output?: string | Hex;
  /** Default Ok; any ResultStatus (e.g. ResultStatus.ModelError) to test a consumer's error path. */
  status?: ResultStatus;
  /** What the "operator" records about the run. Default: `{"provider":"mock"}`. */
  metadata?: string;
}

export interface SibylMock {
  deployment: SibylDeployment;
  /** The result log: what a consumer contract is built on (SibylConsumer(log)). */
  log: Address;
  coordinator: Address;
  operator: Address;
  modelId(name: string): Hex;
  /**
   * Answers a pending request now, as the operator would, and returns the delivered result (proven:
   * its leafIndex is set). Results others delivered without a proof are proven first.
   */
  fulfill(requestId: bigint, options?: MockFulfillOptions): Promise<SibylResult>;
}

const OPERATOR_FUNDS = 10n ** 18n;

/**
 * @example
 * const sibyl = await mockSibyl(await network.create());
 * const requestId = ...; // a consumer asked
 * await sibyl.fulfill(requestId, { output: "fr 0.99" });
 */
export async function mockSibyl(
  connection: SibylConnection,
  { parameters }: Pick<DeploySibylStackParameters, "parameters"> = {},
): Promise<SibylMock> {
  const deployment = await deploySibylStack(connection, { parameters });
  const { coordinator } = deployment;
  const client = publicClientOf(connection, 50);
  const coordinatorContract = { address: coordinator, abi: sibylCoordinatorAbi } as const;
  const resultLog = { address: deployment.log, abi: sibylLogAbi } as const;
  const owner = await client.readContract({ ...coordinatorContract, functionName: "owner" });
  const ownerWallet = await walletFor(connection, owner);
  const mockVerifier = await new SibylArtifactResolver().loadArtifact("MockBatchVerifier");
  const verifiers = new Map<number, Address>();
  for (const batchSize of BATCH_SIZES) {
    const hash = await ownerWallet.deployContract({
      abi: mockVerifier.abi,
      bytecode: mockVerifier.bytecode as Hex,
      args: [BigInt(batchSize)],
    });
    const { contractAddress } = await client.waitForTransactionReceipt({ hash });
    if (!contractAddress) throw new SibylError(`deploying MockBatchVerifier(${batchSize}) failed (${hash})`);
    verifiers.set(batchSize, contractAddress);
    await confirm(
      client,
      await ownerWallet.writeContract({
        ...resultLog,
        functionName: "setVerifier",
        args: [BigInt(batchSize), contractAddress],
      }),
    );
  }
  const { minStake } = await client.readContract({
    address: deployment.ledger,
    abi: operatorLedgerAbi,
    functionName: "operatorParameters",
  });
  const operator = privateKeyToAccount(await fundedKey(connection, minStake + OPERATOR_FUNDS));
  // It serves the deployment's models; a model a test registers later needs declareModels too.
  await registerOperator(connection, {
    coordinator,
    operator,
    stake: minStake,
    models: deployment.models.map((model) => model.modelId),
  });
  const operatorWallet = await walletFor(connection, operator);

  // Every tree state seen, by root: after an evm_revert (Hardhat's loadFixture) the chain's root is an
  // earlier one, and the tree goes back with it.
  const treesByRoot = new Map<bigint, FrontierSnapshot>();
  const remember = (tree: IncrementalMerkleTree) => treesByRoot.set(tree.root, tree.snapshot());
  remember(new IncrementalMerkleTree());

  /** The tree behind the chain's current root. */
  const currentTree = async () => {
    const onchainRoot = await client.readContract({ ...resultLog, functionName: "root" });
    const snapshot = treesByRoot.get(onchainRoot);
    if (snapshot === undefined) {
      throw new SibylError(`the result log on ${coordinator} moved without this mock (another operator?)`);
    }
    return IncrementalMerkleTree.fromSnapshot(snapshot);
  };

  /** Appends `leaves` (padded to a batch) to `tree` and makes the mock verifier's proof of it. */
  const appendProved = async (tree: IncrementalMerkleTree, leaves: bigint[]) => {
    const batchSize = batchSizeFor(leaves.length);
    const witness = tree.appendSubtree([...leaves, ...Array(batchSize - leaves.length).fill(EMPTY_LEAF)]);
    const signals = [witness.oldRoot, witness.newRoot, witness.startIndex, ...witness.leaves];
    const proof = await client.readContract({
      address: verifiers.get(batchSize) as Address,
      abi: mockVerifier.abi,
      functionName: "proofFor",
      args: [signals],
    });
    return { witness, proof: proof as ProofWords };
  };

  /**
   * Proves every result delivered without a proof, a few deliveries at a time: a proof must end where
   * a delivery ended, and one delivery never holds more than the largest batch.
   */
  const proveQueue = async () => {
    const queue = pendingLogFrom(await client.readContract({ ...resultLog, functionName: "pendingLog" }));
    if (queue.delivered === queue.proven) return;
    const events = await getContractEvents(client, {
      ...coordinatorContract,
      eventName: "ResultDelivered",
      fromBlock: deployment.deploymentBlock,
      strict: true,
    });
    const queued = queuedResults(
      events.map((event) => ({ eventName: "ResultDelivered" as const, args: event.args })),
      queue,
    );
    // Consecutive results of one transaction are one delivery; a proof may cover whole deliveries only.
    const transactionOf = new Map(events.map((event) => [event.args.sequence, event.transactionHash]));
    const deliveries: bigint[][] = [];
    queued.forEach((result, i) => {
      const previous = queued[i - 1];
      const sameDelivery =
        previous !== undefined && transactionOf.get(previous.sequence) === transactionOf.get(result.sequence);
      if (sameDelivery) deliveries[deliveries.length - 1]?.push(deliveredLeaf(result));
      else deliveries.push([deliveredLeaf(result)]);
    });
    const largest = BATCH_SIZES[BATCH_SIZES.length - 1] as number;
    const chunks: bigint[][] = [];
    for (const delivery of deliveries) {
      const last = chunks[chunks.length - 1];
      if (last !== undefined && last.length + delivery.length <= largest) last.push(...delivery);
      else chunks.push([...delivery]);
    }
    for (const leaves of chunks) {
      const tree = await currentTree();
      const { witness, proof } = await appendProved(tree, leaves);
      await confirm(
        client,
        await operatorWallet.writeContract({
          ...resultLog,
          functionName: "prove",
          args: [leaves, witness.newRoot, proof],
          gas: proveGasLimit(leaves.length, batchSizeFor(leaves.length)),
        }),
      );
      remember(tree);
    }
  };

  return {
    deployment,
    log: deployment.log,
    coordinator,
    operator: operator.address,
    modelId: (name) => modelIdFromName(name),
    async fulfill(
      requestId,
      { output = "", status = ResultStatus.Ok, metadata = '{"provider":"mock"}' } = {},
    ) {
      const request = await getRequest(client, {
        coordinator,
        requestId,
        fromBlock: deployment.deploymentBlock,
      });
      if (request === undefined || !request.pending) {
        throw new SibylError(`request ${requestId} is not pending on ${coordinator}`);
      }
      await proveQueue();
      const result = {
        status,
        output: isHex(output) ? output : stringToHex(output),
        metadata: stringToHex(metadata),
      };
      const tree = await currentTree();
      const { witness, proof } = await appendProved(tree, [
        resultLeaf(request.commitment, result, operator.address),
      ]);
      await confirm(
        client,
        await operatorWallet.writeContract({
          ...coordinatorContract,
          functionName: "fulfill",
          args: [[{ commitment: request.commitment, ...result, signatures: "0x" }], witness.newRoot, proof],
          // Computed as the node computes it, never estimated: an estimate of a callback that runs out
          // of gas (or reverts) fails, and that callback's failure is exactly what a test may want.
          gas: fulfilGasLimit([{ commitment: request.commitment, result }], batchSizeFor(1)),
        }),
      );
      remember(tree);
      return waitForResult(client, {
        coordinator,
        requestId,
        fromBlock: deployment.deploymentBlock,
        timeoutMs: 10_000,
      });
    },
  };
}

async function confirm(client: ReturnType<typeof publicClientOf>, hash: Hex): Promise<void> {
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new SibylError(`transaction ${hash} reverted`);
}
