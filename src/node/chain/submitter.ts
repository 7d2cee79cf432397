/**
 * Sends the node's coordinator transactions (fulfil, deliver, prove), one at a time: simulates first with the gas limit it sends with (so most rejections cost
 * no gas), signs locally (nonce from the chain's pending count: one fulfil is in flight at a time),
 * stores the signed transaction before broadcasting it (so a restart can find or re-send it), replaces
 * it with higher fees when it sits unmined, and decodes custom-error reverts.
 */
import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  decodeErrorResult,
  type Hex,
  HttpRequestError,
  keccak256,
  type LocalAccount,
  type PublicClient,
  parseTransaction,
  TimeoutError,
  type TransactionReceipt,
} from "viem";
import { sibylAbi } from "../../shared/abi/generated.js";
import type { NodeContext } from "../context.js";
import type { JobStore, SentTransaction } from "../store/store.js";

/** A revert reason from the coordinator, by name with its arguments. */
export interface Rejection {
  errorName: string;
  args: readonly unknown[];
  message: string;
}

export type SubmitOutcome =
  | { kind: "mined"; receipt: TransactionReceipt }
  | { kind: "rejected"; rejection: Rejection; receipt?: TransactionReceipt }
  /** The transaction's nonce was used by something else: nothing of this batch landed. */
  | { kind: "dropped" }
  /** Shutdown while waiting: the batch stays submitted and is resumed on restart. */
  | { kind: "parked" };

export interface SubmitterOptions {
  client: PublicClient;
  account: LocalAccount;
  store: JobStore;
  receiptPollMs: number;
}

export class Submitter {
  readonly #context: NodeContext;
  readonly #options: SubmitterOptions;
  #chainId = 0;

  constructor(context: NodeContext, options: SubmitterOptions) {
    this.#context = context;
    this.#options = options;
  }

  get address(): Address {
    return this.#options.account.address;
  }

  async init(): Promise<void> {
    this.#chainId = await this.#options.client.getChainId();
  }

  /**
   * Simulates `batchId`'s call (`data`, see calls.ts) with its computed gas limit (a revert here comes
   * back as a rejection and costs nothing), then signs, stores and broadcasts it with that same limit,
   * and follows it until it is mined. No estimate: a callback could burn more at execution than in one.
   */
  async submit(batchId: number, to: Address, data: Hex, gas: bigint): Promise<SubmitOutcome> {
    const rejection = await this.#options.client
      // On the pending block: its time is the one the fulfil will see (an exclusive window may just have
      // closed, which the latest block, on a quiet chain, does not show).
      .call({ account: this.#options.account, to, data, gas, blockTag: "pending" })
      .then(
        () => undefined,
        (error: unknown) => {
          if (isTransportError(error)) throw error;
          return decodeRejection(error);
        },
      );
    if (rejection) return { kind: "rejected", rejection };
    const fees = await this.#fees();
    // One batch is in flight at a time, so the chain's pending count is the next nonce; it also heals a
    // reorg that dropped transactions this node had counted.
    const nonce = await this.#options.client.getTransactionCount({
      address: this.address,
      blockTag: "pending",
    });
    const tx = await this.#sign({ batchId, to, data, gas, nonce, ...fees });
    await this.#broadcast(tx);
    this.#context.crashAt("after-send");
    return this.#follow(batchId);
  }

  /**
   * The price per gas a fulfil sent now would pay at `baseFee` (the caller's latest block): the base
   * fee plus the tip it would offer, or undefined when the base fee is above
   * `submission.maxFeePerGas`: nothing sent now could be mined.
   */
  async gasPriceAt(baseFee: bigint): Promise<bigint | undefined> {
    if (baseFee > this.#context.config.submission.maxFeePerGas) return undefined;
    const fees = await this.#fees();
    const paid = baseFee + fees.maxPriorityFeePerGas;
    return paid < fees.maxFeePerGas ? paid : fees.maxFeePerGas;
  }

  /** A batch left `submitted` (by a restart or an RPC outage): finds its transaction or re-sends it. */
  async resume(batchId: number): Promise<SubmitOutcome> {
    if ((await this.#options.store.transactionsOf(batchId)).length === 0) return { kind: "dropped" };
    return this.#follow(batchId);
  }

  async #fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const estimate = await this.#options.client.estimateFeesPerGas();
    const cap = this.#context.config.submission.maxFeePerGas;
    const maxFeePerGas = estimate.maxFeePerGas < cap ? estimate.maxFeePerGas : cap;
    const tip = estimate.maxPriorityFeePerGas;
    return { maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
  }

  async #sign(params: {
    batchId: number;
    to: Address;
    data: Hex;
    gas: bigint;
    nonce: number;
    maxFeePerGas: bigint;
    maxPriorityFeePerGas: bigint;
  }): Promise<SentTransaction> {
    const { batchId, to, data, gas, nonce, maxFeePerGas, maxPriorityFeePerGas } = params;
    const raw = await this.#options.account.signTransaction({
      type: "eip1559",
      chainId: this.#chainId,
      to,
      data,
      gas,
      nonce,
      maxFeePerGas,
      maxPriorityFeePerGas,
    });
    const tx: SentTransaction = {
      hash: keccak256(raw),
      batchId,
      nonce,
      raw,
      maxFeePerGas,
      maxPriorityFeePerGas,
      sentAt: Date.now(),
    };
    // Stored before it is sent: after a crash the node knows this transaction may be out there.
    await this.#options.store.recordTransaction(tx);
    return tx;
  }

  async #broadcast(tx: SentTransaction): Promise<void> {
    try {
      await this.#options.client.sendRawTransaction({ serializedTransaction: tx.raw });
    } catch (error) {
      // Already known (a re-send after restart, or one the pool holds until the base fee falls) is
      // fine and said quietly; anything else shows up as no receipt and a replacement or a dropped nonce.
      const known = /already known|known transaction/i.test(error instanceof Error ? error.message : "");
      const reason = error instanceof BaseError ? error.details || error.shortMessage : String(error);
      this.#context.logger[known ? "debug" : "warn"]({ hash: tx.hash, reason }, "broadcast failed");
    }
  }

  /** Polls for a receipt of any of the batch's transactions, replacing the latest when it is stuck. */
  async #follow(batchId: number): Promise<SubmitOutcome> {
    const { shutdown } = this.#context;
    while (!shutdown.aborted) {
      try {
        const outcome = await this.#check(batchId);
        if (outcome) return outcome;
      } catch (error) {
        // The RPC is down or flaky: nothing is known, so keep the batch and look again.
        if (!isTransportError(error)) throw error;
        this.#context.logger.warn({ batchId, err: error }, "cannot reach the chain while following a fulfil");
        this.#context.metrics.errors.inc({ kind: "rpc" });
      }
      await sleep(this.#options.receiptPollMs, shutdown);
    }
    return { kind: "parked" };
  }

  /** One look at a batch's transactions: an outcome, or undefined to keep waiting. */
  async #check(batchId: number): Promise<SubmitOutcome | undefined> {
    const { stuckAfterMs, feeBumpPercent, maxFeePerGas: cap } = this.#context.config.submission;
    const { client } = this.#options;
    const receipt = await this.#minedReceipt(batchId);
    if (receipt) return this.#settle(receipt);
    const latest = (await this.#options.store.transactionsOf(batchId)).at(-1);
    if (latest === undefined) return { kind: "dropped" };
    const [used, pending] = await Promise.all([
      client.getTransactionCount({ address: this.address, blockTag: "latest" }),
      client.getTransactionCount({ address: this.address, blockTag: "pending" }),
    ]);
    // The nonce was consumed and none of ours has a receipt. Some nodes (anvil automining) move the
    // nonce before they serve the receipt, so only a receipt missing over several polls means the
    // nonce went to another transaction.
    if (used > latest.nonce) {
      for (let look = 0; look < 5; look++) {
        const late = await this.#minedReceipt(batchId);
        if (late) return this.#settle(late);
        await sleep(this.#options.receiptPollMs, this.#context.shutdown);
      }
      return { kind: "dropped" };
    }
    // A lower nonce came free (a reorg dropped an earlier transaction): this one can never be mined.
    if (pending < latest.nonce) return { kind: "dropped" };
    // The chain does not know the transaction (a failed broadcast, a restarted node): send it again.
    if (pending === latest.nonce) await this.#broadcast(latest);
    if (Date.now() - latest.sentAt < stuckAfterMs) return undefined;
    const bump = (fee: bigint) => (fee * BigInt(100 + feeBumpPercent)) / 100n + 1n;
    const current = await this.#fees();
    const maxFeePerGas = max(bump(latest.maxFeePerGas), current.maxFeePerGas);
    const { to, data, gas } = parseTransaction(latest.raw);
    if (maxFeePerGas > cap || !to || data === undefined || gas === undefined) return undefined;
    const replacement = await this.#sign({
      batchId,
      to,
      data,
      gas,
      nonce: latest.nonce,
      maxFeePerGas,
      maxPriorityFeePerGas: max(bump(latest.maxPriorityFeePerGas), current.maxPriorityFeePerGas),
    });
    this.#context.logger.warn(
      {
        batchId,
        nonce: latest.nonce,
        replaced: latest.hash,
        hash: replacement.hash,
        maxFeePerGas: String(maxFeePerGas),
      },
      "transaction stuck: replaced with higher fees",
    );
    this.#context.metrics.submittedBatches.inc({ outcome: "replaced" });
    await this.#broadcast(replacement);
    return undefined;
  }

  async #minedReceipt(batchId: number): Promise<TransactionReceipt | undefined> {
    for (const tx of (await this.#options.store.transactionsOf(batchId)).reverse()) {
      const receipt = await this.#options.client
        .getTransactionReceipt({ hash: tx.hash })
        .catch(() => undefined);
      if (receipt) return receipt;
    }
    return undefined;
  }

  async #settle(receipt: TransactionReceipt): Promise<SubmitOutcome> {
    this.#context.metrics.gasUsed.inc({ kind: "fulfill" }, Number(receipt.gasUsed));
    if (receipt.status === "success") return { kind: "mined", receipt };
    // Receipts carry no revert data: replay the call on the block's final state, which includes whatever
    // made it fail (a competing fulfilment earlier in the block, a cancel).
    const tx = await this.#options.client.getTransaction({ hash: receipt.transactionHash });
    const rejection = await this.#options.client
      .call({
        account: this.address,
        to: tx.to ?? undefined,
        data: tx.input,
        blockNumber: receipt.blockNumber,
      })
      .then(() => ({ errorName: "Unknown", args: [], message: "reverted onchain; the replay succeeds" }))
      .catch(decodeRejection);
    return { kind: "rejected", rejection, receipt };
  }
}

export function decodeRejection(error: unknown): Rejection {
  if (error instanceof BaseError) {
    const reverted = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return {
        errorName: reverted.data.errorName,
        args: reverted.data.args ?? [],
        message: reverted.shortMessage,
      };
    }
    const data = (
      error.walk((cause) => typeof (cause as { data?: unknown }).data === "string") as { data?: Hex }
    )?.data;
    if (data) {
      try {
        const decoded = decodeErrorResult({ abi: sibylAbi, data });
        return { errorName: decoded.errorName, args: decoded.args ?? [], message: error.shortMessage };
      } catch {
        // fall through: not one of Sibyl's errors
      }
    }
    return { errorName: "Unknown", args: [], message: error.shortMessage };
  }
  return { errorName: "Unknown", args: [], message: error instanceof Error ? error.message : String(error) };
}

/** The RPC could not be asked (down, refused, timed out), as opposed to answering with an error. */
export function isTransportError(error: unknown): boolean {
  if (!(error instanceof BaseError)) return false;
  return error.walk((cause) => cause instanceof HttpRequestError || cause instanceof TimeoutError) !== null;
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
