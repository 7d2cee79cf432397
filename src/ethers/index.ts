/**
 * Sibyl for dapps built on ethers v6: request inference, wait for the result and verify it, with the
 * same generated ABI and the same log rebuild and Merkle check as the viem SDK (src/sdk), so both
 * libraries reach the same verdicts.
 */
import {
  type BlockTag,
  Contract,
  type ContractRunner,
  type ContractTransactionResponse,
  Interface,
  type Log,
  type Provider,
  type Result,
  type Signer,
} from "ethers";
import type { Address, Hex } from "viem";
import { type CheckResultReturnType, checkResult } from "../sdk/checkResult.js";
import { coordinatorError } from "../sdk/coordinatorErrors.js";
import { ResultNotFoundError, TransactionRevertedError } from "../sdk/errors.js";
import { findResultEntry, type ResultClaim, type ResultLogEntry } from "../sdk/logReader.js";
import { type PendingLog, pendingLogFrom } from "../sdk/pendingQueue.js";
import { QUOTE_BASE_FEE_MULTIPLIER } from "../sdk/quoteGasPrice.js";
import {
  type AppendedBatch,
  type EventLocation,
  type ResultDeliveredArgs,
  type SibylResult,
  toSibylResult,
} from "../sdk/types.js";
import { type BytesInput, type ModelReference, resolveModelId, toBytesHex } from "../sdk/utils.js";
import { pollForResult, RESULT_POLLING_INTERVAL_MS } from "../sdk/waiting.js";
import { sibylAbi, sibylCoordinatorAbi, sibylLogAbi } from "../shared/abi/generated.js";
import type { RequestCommitment } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";

export {
  CoordinatorRevertedError,
  InsufficientPaymentError,
  RequestExpiredError,
  ResultTimeoutError,
  UnknownModelError,
} from "../sdk/errors.js";

const coordinatorInterface = new Interface(sibylCoordinatorAbi);
const logInterface = new Interface(sibylLogAbi);
/** Every event of a deployment's contracts, to decode logs read from all their addresses at once. */
const eventsInterface = new Interface(sibylAbi);

function coordinatorAt(address: string, runner: ContractRunner): Contract {
  return new Contract(address, coordinatorInterface, runner);
}

/** A deployment's addresses, found from its log or any coordinator (as the viem SDK's resolveSibylContracts). */
interface Deployment {
  log: string;
  /** Every coordinator version, oldest first, and the log: where results and batches are emitted. */
  sources: string[];
  current: string;
}

async function deploymentOf(address: string, runner: ContractRunner, blockTag?: bigint): Promise<Deployment> {
  const overrides = blockTag === undefined ? {} : { blockTag };
  let log = address;
  try {
    log = (await coordinatorAt(address, runner).getFunction("log").staticCall(overrides)) as string;
  } catch {
    // Not a coordinator: taken for the log itself, which the next call checks.
  }
  const resultLog = new Contract(log, logInterface, runner);
  const [current, coordinators] = (await Promise.all([
    resultLog.getFunction("coordinator").staticCall(overrides),
    resultLog.getFunction("coordinators").staticCall(overrides),
  ])) as [string, string[]];
  return { log, sources: [...coordinators, log], current };
}

export type RequestInferenceParameters = {
  coordinator: string;
  /** The model's name (e.g. "language-id") or its bytes32 id. */
  model: ModelReference;
  /** Text (sent as UTF-8), `0x` hex bytes, or a Uint8Array. */
  input: BytesInput;
  /** Gas for the callback to the requester; 0 (the default) asks for none, as an account has no code. */
  callbackGasLimit?: number;
  /** Wei to escrow; defaults to the quote just before sending. The unused part goes to `refundTo`. */
  value?: bigint;
  /** Who is credited the unused escrow; defaults to the signer. */
  refundTo?: string;
};

export type RequestInferenceReturnType = {
  requestId: bigint;
  commitment: RequestCommitment;
  transactionHash: Hex;
  blockNumber: bigint;
};

/**
 * Asks `model` to answer `input` from `signer`, escrowing the quoted fee (the base fee with the SDK's
 * headroom), and waits for the request to be mined.
 *
 * @example
 * import { JsonRpcProvider, Wallet } from "ethers";
 * import { requestInference, waitForResult } from "sibyl/ethers";
 *
 * const provider = new JsonRpcProvider("http://127.0.0.1:8545");
 * const signer = new Wallet(key, provider);
 * const { requestId } = await requestInference(signer, {
 *   coordinator: "0x5FbD…",
 *   model: "language-id",
 *   input: "Il fait très beau aujourd'hui.",
 * });
 * const result = await waitForResult(provider, { coordinator: "0x5FbD…", requestId });
 */
export async function requestInference(
  signer: Signer,
  parameters: RequestInferenceParameters,
): Promise<RequestInferenceReturnType> {
  const { model, input, callbackGasLimit = 0 } = parameters;
  // Requests go to the version the log names now.
  const coordinator = (await deploymentOf(parameters.coordinator, signer)).current;
  const contract = coordinatorAt(coordinator, signer);
  const modelId = resolveModelId(model);
  const refused = (action: string) => (error: unknown) => {
    throw coordinatorError(error, { action, coordinator, model });
  };
  const value: bigint =
    parameters.value ??
    (await contract
      .getFunction("estimateFee")
      .staticCall(modelId, callbackGasLimit, await quoteGasPrice(signer))
      .catch(refused("estimateFee")));
  const refundTo = parameters.refundTo ?? (await signer.getAddress());
  const response: ContractTransactionResponse = await contract
    .getFunction("request")(modelId, toBytesHex(input), callbackGasLimit, refundTo, { value })
    .catch(refused("request"));
  const receipt = await response.wait();
  if (receipt === null || receipt.status !== 1) {
    throw new TransactionRevertedError({ action: "request", transactionHash: response.hash });
  }
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== coordinator.toLowerCase()) continue;
    const parsed = eventsInterface.parseLog(log);
    if (parsed?.name !== "InferenceRequested") continue;
    return {
      requestId: parsed.args.getValue("requestId") as bigint,
      commitment: commitmentFrom(parsed.args.getValue("commitment") as Result),
      transactionHash: receipt.hash as Hex,
      blockNumber: BigInt(receipt.blockNumber),
    };
  }
  throw new SibylError(`transaction ${response.hash} emitted no InferenceRequested from ${coordinator}`, {
    details: "is this the Sibyl coordinator's address?",
  });
}

export type WaitForResultParameters = {
  coordinator: string;
  requestId: bigint;
  /** Blocks the result's block must have, itself included; the default 1 means mined. */
  confirmations?: number;
  /** Gives up with ResultTimeoutError after this long; without it, waits until the request's deadline. */
  timeoutMs?: number;
  /** Time between polls in ms; default 1 s. */
  pollingInterval?: number;
  /** Where to look for the request: 0 suits local chains, elsewhere the coordinator's deployment block. */
  fromBlock?: bigint;
  /** Also wait until a proof has put the result in the log (its `leafIndex` is set). Default false. */
  proven?: boolean;
};

/**
 * Waits until the request's result has `confirmations` blocks and its block is still canonical, then
 * returns it (with its `leafIndex` once proven); throws ResultTimeoutError after `timeoutMs`,
 * RequestExpiredError past the deadline.
 *
 * @example
 * import { waitForResult } from "sibyl/ethers";
 *
 * const result = await waitForResult(provider, { coordinator: "0x5FbD…", requestId, confirmations: 2 });
 * console.log(result.outputText);
 */
export async function waitForResult(
  provider: Provider,
  parameters: WaitForResultParameters,
): Promise<SibylResult> {
  const { coordinator, requestId, confirmations = 1, timeoutMs, fromBlock = 0n, proven } = parameters;
  const eventsOf = async (name: string, from: BlockTag, to?: BlockTag) => {
    const { sources } = await deploymentOf(coordinator, provider);
    const topics = eventsInterface.encodeFilterTopics(name, name === "BatchAppended" ? [] : [requestId]);
    return provider.getLogs({
      address: sources,
      topics,
      fromBlock: from,
      ...(to === undefined ? {} : { toBlock: to }),
    });
  };
  return pollForResult(
    {
      async latestBlock() {
        const block = await provider.getBlock("latest");
        if (block === null) throw new Error("the provider returned no latest block");
        return { number: BigInt(block.number), timestamp: BigInt(block.timestamp) };
      },
      async findRequest() {
        const [log] = await eventsOf("InferenceRequested", fromBlock);
        if (log === undefined) return undefined;
        const commitment = commitmentFrom(eventsInterface.parseLog(log)?.args.getValue("commitment"));
        return { blockNumber: BigInt(log.blockNumber), deadline: commitment.deadline };
      },
      async findResult(from, to) {
        const [log] = await eventsOf("ResultDelivered", from, to);
        const entry = log && decodeLog(log);
        if (log === undefined || entry?.eventName !== "ResultDelivered") return undefined;
        const batches = await readBatches(await eventsOf("BatchAppended", BigInt(log.blockNumber), to));
        return toSibylResult(entry.args, locationOf(log), batches);
      },
      async blockHash(blockNumber) {
        return ((await provider.getBlock(blockNumber))?.hash ?? undefined) as Hex | undefined;
      },
    },
    {
      requestId,
      confirmations,
      timeoutMs,
      pollingIntervalMs: parameters.pollingInterval ?? RESULT_POLLING_INTERVAL_MS,
      fromBlock,
      ...(proven === undefined ? {} : { proven }),
    },
  );
}

export type VerifyResultParameters = {
  coordinator: string;
  requestId: bigint;
  /** A result someone claims for the request; each field left out is the chain's. */
  claim?: ResultClaim;
  /** Checks the leaf at this slot instead of the result's own (a proven result only). */
  leafIndex?: bigint;
  /** Checks this path (lowest sibling first) instead of one built from the rebuilt log (a proven result only). */
  siblings?: readonly bigint[];
  /** First block of the log read; it must hold the first batch (the coordinator's deployment block). */
  fromBlock?: bigint;
  /** Verify as of this block; defaults to the latest. */
  blockNumber?: bigint;
};

/**
 * Checks a request's result against the coordinator's onchain state, read at the same block as the
 * events the log is rebuilt from, exactly as the viem SDK's verifyResult: `state: "proven"` (a Merkle
 * path to root()) or `state: "pending"` (committed in the queue of pending leaves, pendingLog());
 * `valid: false` with a `reason` when it does not hold.
 *
 * @example
 * import { verifyResult } from "sibyl/ethers";
 *
 * const { valid, reason } = await verifyResult(provider, { coordinator: "0x5FbD…", requestId });
 */
export async function verifyResult(
  provider: Provider,
  parameters: VerifyResultParameters,
): Promise<CheckResultReturnType> {
  const { coordinator, requestId, fromBlock = 0n, siblings } = parameters;
  const blockNumber = parameters.blockNumber ?? BigInt(await provider.getBlockNumber());
  const deployment = await deploymentOf(coordinator, provider, blockNumber);
  const resultLog = new Contract(deployment.log, logInterface, provider);
  const range = { address: deployment.sources, fromBlock, toBlock: blockNumber };
  const [root, queue, logs] = await Promise.all([
    resultLog.getFunction("root").staticCall({ blockTag: blockNumber }) as Promise<bigint>,
    readPendingLog(resultLog, blockNumber),
    // A caller's own path needs only the batches and the result; building a path needs the whole log.
    siblings === undefined
      ? provider.getLogs({ ...range, topics: [["BatchAppended", "ResultDelivered"].map(topicOf)] })
      : Promise.all([
          provider.getLogs({ ...range, topics: eventsInterface.encodeFilterTopics("BatchAppended", []) }),
          provider.getLogs({
            ...range,
            topics: eventsInterface.encodeFilterTopics("ResultDelivered", [requestId]),
          }),
        ]).then((lists) => lists.flat()),
  ]);
  const entries = logs.flatMap((log) => decodeLog(log) ?? []);
  const result = findResultEntry(entries, requestId);
  if (result === undefined) throw new ResultNotFoundError({ requestId, toBlock: blockNumber });
  return checkResult({
    result,
    root,
    queue,
    blockNumber,
    entries,
    ...(parameters.claim === undefined ? {} : { claim: parameters.claim }),
    ...(parameters.leafIndex === undefined ? {} : { leafIndex: parameters.leafIndex }),
    ...(siblings === undefined ? {} : { siblings }),
  });
}

/** The SDK's quote (see quoteGasPrice in the viem SDK): twice the latest base fee plus the tip. */
async function quoteGasPrice(signer: Signer): Promise<bigint> {
  const provider = signer.provider;
  if (provider === null) throw new SibylError("the signer has no provider to quote gas prices from");
  const [block, feeData] = await Promise.all([provider.getBlock("latest"), provider.getFeeData()]);
  const baseFee = block?.baseFeePerGas;
  if (baseFee === null || baseFee === undefined) return feeData.gasPrice ?? 0n;
  return baseFee * QUOTE_BASE_FEE_MULTIPLIER + (feeData.maxPriorityFeePerGas ?? 0n);
}

function topicOf(eventName: string): string {
  return eventsInterface.getEvent(eventName)?.topicHash as string;
}

/** The log's pendingLog() at `blockNumber`. */
async function readPendingLog(contract: Contract, blockNumber: bigint): Promise<PendingLog> {
  const [proven, delivered, head, tail] = (await contract
    .getFunction("pendingLog")
    .staticCall({ blockTag: blockNumber })) as Result;
  return pendingLogFrom([proven, delivered, head, tail]);
}

/** The batches among `logs`, where a result delivered before them finds its proof. */
function readBatches(logs: readonly Log[]): AppendedBatch[] {
  return logs.flatMap((log) => {
    const entry = decodeLog(log);
    return entry?.eventName === "BatchAppended" ? [{ ...entry.args, ...locationOf(log) }] : [];
  });
}

function locationOf(log: Log): EventLocation {
  return {
    blockNumber: BigInt(log.blockNumber),
    blockHash: log.blockHash as Hex,
    transactionHash: log.transactionHash as Hex,
  };
}

function decodeLog(log: Log): ResultLogEntry | undefined {
  const parsed = eventsInterface.parseLog(log);
  if (parsed?.name === "BatchAppended") {
    const { prover, oldRoot, newRoot, startIndex, batchSize, count, firstSequence } = parsed.args.toObject();
    return {
      eventName: "BatchAppended",
      args: { prover: prover as Address, oldRoot, newRoot, startIndex, batchSize, count, firstSequence },
    };
  }
  if (parsed?.name === "ResultDelivered") {
    const args = parsed.args.toObject();
    const decoded: ResultDeliveredArgs = {
      requestId: args.requestId,
      modelId: args.modelId,
      operator: args.operator as Address,
      sequence: args.sequence,
      // ethers decodes every integer as a bigint; the SDK's enums are numbers, as viem decodes them.
      status: Number(args.status),
      callback: Number(args.callback),
      fee: args.fee,
      inputHash: args.inputHash,
      output: args.output,
      metadata: args.metadata,
    };
    return { eventName: "ResultDelivered", args: decoded };
  }
  return undefined;
}

function commitmentFrom(struct: Result): RequestCommitment {
  const fields = struct.toObject();
  return {
    requestId: fields.requestId,
    modelId: fields.modelId,
    inputHash: fields.inputHash,
    requester: fields.requester as Address,
    refundTo: fields.refundTo as Address,
    operator: fields.operator as Address,
    escrow: fields.escrow,
    deadline: fields.deadline,
    exclusiveUntil: fields.exclusiveUntil,
    callbackGasLimit: Number(fields.callbackGasLimit),
    maxOutputBytes: Number(fields.maxOutputBytes),
  };
}
