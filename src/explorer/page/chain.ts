/**
 * Everything the page knows, read from the chain through the RPC with viem and the SDK: no node, no
 * indexer. Lists are read a page of request ids at a time (indexed topics), so the first paint costs
 * the same with 10 requests or 100,000.
 */
import {
  type Address,
  type Block,
  createPublicClient,
  type Hex,
  http,
  type PublicClient,
  parseEventLogs,
} from "viem";
import {
  getBatches,
  getRequest,
  getResult,
  type SibylResult,
  sibylCoordinatorAbi,
  toSibylResult,
} from "../../sdk/index.js";
import { decodeUtf8 } from "../../sdk/utils.js";
import { operatorLedgerAbi, sibylAbi, sibylLogAbi } from "../../shared/abi/generated.js";
import { eventSources, resolveSibylContracts, type SibylContracts } from "../../shared/contracts.js";
import { ExplorerProblem, type Target } from "./target.js";

/** Events of every contract of the deployment: its coordinator versions, its log and its ledger. */
const abi = sibylAbi;

export type RequestState = "pending" | "cancelled" | "expired" | "answered";

export interface RequestRow {
  id: bigint;
  modelId: Hex;
  requester: Address;
  operator: Address;
  state: RequestState;
  result: SibylResult | undefined;
  /** Unix seconds of the request's block. */
  requestedAt: number;
  /** Seconds from the request's block to the latest block: chain time, as a devnet's runs ahead of the wall's. */
  age: number;
  /** Seconds from the request's block to its result's block. */
  latency: number | undefined;
}

export interface BatchRow {
  /** Who sent the proof: the delivering operator, or anyone proving the pending queue. */
  prover: Address;
  oldRoot: bigint;
  newRoot: bigint;
  startIndex: bigint;
  batchSize: bigint;
  count: bigint;
  firstSequence: bigint;
  blockNumber: bigint;
  transactionHash: Hex;
  gasUsed?: bigint;
}

/** A model id is its name as bytes32 (zero-padded); an id that is not text shows as hex. */
export function modelName(modelId: Hex): string {
  const name = decodeUtf8(modelId)?.replace(/\0+$/, "");
  return name && /^[\x20-\x7e]+$/.test(name) ? name : modelId;
}

export function outputPreview(result: SibylResult | undefined, length = 40): string {
  if (result === undefined) return "";
  const text = result.outputText ?? result.output;
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

export class Chain {
  readonly client: PublicClient;
  private readonly blocks = new Map<bigint, Promise<Block>>();
  #contracts: SibylContracts | undefined;

  constructor(readonly target: Target) {
    this.client = createPublicClient({
      transport: http(target.rpcUrl, { retryCount: 0, timeout: 10_000 }),
    }) as PublicClient;
  }

  /** Fails with a sentence a person can act on when the RPC or the coordinator is not what it should be. */
  async check(): Promise<{ chainId: number }> {
    const { rpcUrl, coordinator } = this.target;
    let chainId: number;
    try {
      chainId = await this.client.getChainId();
    } catch {
      throw new ExplorerProblem(
        `Cannot reach the RPC at ${rpcUrl}: is the chain running, and does it answer requests from this page?`,
      );
    }
    const code = await this.client.getCode({ address: coordinator });
    if (code === undefined || code === "0x") {
      throw new ExplorerProblem(
        `No contract at ${coordinator} on chain ${chainId} (${rpcUrl}): check the coordinator address (sibyl dev prints it).`,
      );
    }
    try {
      this.#contracts = await resolveSibylContracts(this.client, coordinator);
    } catch {
      throw new ExplorerProblem(`The contract at ${coordinator} is not a Sibyl log or coordinator.`);
    }
    return { chainId };
  }

  /** The deployment's contracts, as check() found them (it runs first, and again on refresh). */
  get contracts(): SibylContracts {
    if (this.#contracts === undefined) throw new ExplorerProblem("The deployment has not been read yet.");
    return this.#contracts;
  }

  read<name extends "root" | "nextIndex" | "pendingLog">(functionName: name) {
    return this.client.readContract({ address: this.contracts.log, abi: sibylLogAbi, functionName });
  }

  /** Ids continue across coordinator versions: the current one gives the next. */
  nextRequestId(): Promise<bigint> {
    return this.client.readContract({
      address: this.contracts.current,
      abi: sibylCoordinatorAbi,
      functionName: "nextRequestId",
    });
  }

  activeOperators() {
    return this.client.readContract({
      address: this.contracts.ledger,
      abi: operatorLedgerAbi,
      functionName: "activeOperators",
    });
  }

  block(number: bigint): Promise<Block> {
    let block = this.blocks.get(number);
    if (block === undefined) {
      block = this.client.getBlock({ blockNumber: number });
      // A failed read is not cached, and a reorg clears the cache (see forgetBlocks).
      block.catch(() => this.blocks.delete(number));
      this.blocks.set(number, block);
    }
    return block;
  }

  forgetBlocks(): void {
    this.blocks.clear();
  }

  /** Request ids newest first: page 0 is the newest `size` requests. */
  async requestsPage(page: number, size: number): Promise<{ total: bigint; rows: RequestRow[] }> {
    const total = (await this.nextRequestId()) - 1n;
    const newest = total - BigInt(page * size);
    const ids: bigint[] = [];
    for (let id = newest; id >= 1n && ids.length < size; id--) ids.push(id);
    return { total, rows: await this.requests(ids) };
  }

  async requests(ids: bigint[]): Promise<RequestRow[]> {
    if (ids.length === 0) return [];
    const range = {
      address: eventSources(this.contracts),
      abi,
      fromBlock: this.target.fromBlock,
      strict: true,
    } as const;
    const [requested, delivered, cancelled, head] = await Promise.all([
      this.client.getContractEvents({ ...range, eventName: "InferenceRequested", args: { requestId: ids } }),
      this.client.getContractEvents({ ...range, eventName: "ResultDelivered", args: { requestId: ids } }),
      this.client.getContractEvents({ ...range, eventName: "RequestCancelled", args: { requestId: ids } }),
      this.client.getBlock(),
    ]);
    const results = new Map(delivered.map((event) => [event.args.requestId, event]));
    // Only the batches that can hold these results: from the earliest delivery on, not the whole log.
    const earliest = delivered.reduce<bigint | undefined>(
      (least, event) => (least === undefined || event.blockNumber < least ? event.blockNumber : least),
      undefined,
    );
    const batches =
      earliest === undefined
        ? []
        : await getBatches(this.client, { coordinator: this.target.coordinator, fromBlock: earliest });
    const cancelledIds = new Set(cancelled.map((event) => event.args.requestId));
    const rows = await Promise.all(
      requested.map(async (event): Promise<RequestRow> => {
        const { commitment, requester } = event.args;
        const delivery = results.get(commitment.requestId);
        const [requestBlock, resultBlock] = await Promise.all([
          this.block(event.blockNumber),
          delivery && this.block(delivery.blockNumber),
        ]);
        const result = delivery && toSibylResult(delivery.args, delivery, batches);
        const state: RequestState = result
          ? "answered"
          : cancelledIds.has(commitment.requestId)
            ? "cancelled"
            : head.timestamp > commitment.deadline
              ? "expired"
              : "pending";
        return {
          id: commitment.requestId,
          modelId: commitment.modelId,
          requester,
          operator: commitment.operator,
          state,
          result,
          requestedAt: Number(requestBlock.timestamp),
          age: Number(head.timestamp - requestBlock.timestamp),
          latency: resultBlock && Number(resultBlock.timestamp - requestBlock.timestamp),
        };
      }),
    );
    return rows.sort((a, b) => (a.id > b.id ? -1 : 1));
  }

  /**
   * One request with its result, the transaction that delivered it, the batch that proved it (the same
   * transaction or a later one; none while the proof is pending), and its cancellation.
   */
  async requestDetail(requestId: bigint) {
    const { coordinator, fromBlock } = this.target;
    const [request, result, cancelled] = await Promise.all([
      getRequest(this.client, { coordinator, requestId, fromBlock }),
      getResult(this.client, { coordinator, requestId, fromBlock }),
      this.client.getContractEvents({
        address: eventSources(this.contracts),
        abi,
        eventName: "RequestCancelled",
        args: { requestId },
        fromBlock,
        strict: true,
      }),
    ]);
    if (request === undefined) return undefined;
    let delivery:
      | { gasUsed: bigint; gasPrice: bigint; results: number; batch: BatchRow | undefined }
      | undefined;
    if (result) {
      const receipt = await this.client.getTransactionReceipt({ hash: result.transactionHash });
      const { batch } = result;
      const proofGas =
        batch === undefined || batch.transactionHash === result.transactionHash
          ? receipt.gasUsed
          : (await this.client.getTransactionReceipt({ hash: batch.transactionHash })).gasUsed;
      delivery = {
        gasUsed: receipt.gasUsed,
        gasPrice: receipt.effectiveGasPrice,
        results: parseEventLogs({ abi, logs: receipt.logs, eventName: "ResultDelivered" }).length,
        batch: batch && { ...batch, gasUsed: proofGas },
      };
    }
    const requestedAt = Number((await this.block(request.blockNumber)).timestamp);
    return { request, result, cancelled: cancelled[0]?.args, delivery, requestedAt };
  }

  /** Every batch, oldest first; the newest `withGas` get their transaction's gas. */
  async batches(withGas: number): Promise<BatchRow[]> {
    const events = await this.client.getContractEvents({
      address: this.contracts.log,
      abi,
      eventName: "BatchAppended",
      fromBlock: this.target.fromBlock,
      strict: true,
    });
    const rows: BatchRow[] = events.map((event) => ({
      ...event.args,
      blockNumber: event.blockNumber,
      transactionHash: event.transactionHash,
    }));
    await Promise.all(
      rows.slice(-withGas).map(async (row) => {
        row.gasUsed = (await this.client.getTransactionReceipt({ hash: row.transactionHash })).gasUsed;
      }),
    );
    return rows;
  }

  async operators() {
    const active = await this.activeOperators();
    return Promise.all(
      active.map(async (operator) => {
        const [info, balance] = await Promise.all([
          this.client.readContract({
            address: this.contracts.ledger,
            abi: operatorLedgerAbi,
            functionName: "operatorOf",
            args: [operator],
          }),
          this.client.readContract({
            address: this.contracts.current,
            abi: sibylCoordinatorAbi,
            functionName: "balanceOf",
            args: [operator],
          }),
        ]);
        return { operator, stake: info.stake, active: info.active, unlockAt: info.unlockAt, balance };
      }),
    );
  }

  /** How many results each of `operators` delivered (proven or not), by address. */
  async resultsServed(operators: readonly Address[]): Promise<Map<string, bigint>> {
    const served = new Map<string, bigint>();
    if (operators.length === 0) return served;
    const events = await this.client.getContractEvents({
      address: eventSources(this.contracts),
      abi,
      eventName: "ResultDelivered",
      args: { operator: [...operators] },
      fromBlock: this.target.fromBlock,
      strict: true,
    });
    for (const { args } of events) served.set(args.operator, (served.get(args.operator) ?? 0n) + 1n);
    return served;
  }

  /** Every model ever registered, with its current parameters. */
  async models() {
    const range = {
      address: eventSources(this.contracts),
      abi,
      fromBlock: this.target.fromBlock,
      strict: true,
    } as const;
    const [registered, updated] = await Promise.all([
      this.client.getContractEvents({ ...range, eventName: "ModelRegistered" }),
      this.client.getContractEvents({ ...range, eventName: "ModelUpdated" }),
    ]);
    const ids = [...new Set([...registered, ...updated].map((event) => event.args.modelId))];
    return Promise.all(
      ids.map(async (modelId) => ({
        modelId,
        ...(await this.client.readContract({
          address: this.contracts.current,
          abi: sibylCoordinatorAbi,
          functionName: "modelOf",
          args: [modelId],
        })),
      })),
    );
  }
}
