/**
 * A second registered operator that watches an honest operator's fulfils in the mempool and sends each
 * one's calldata again from its own account with a higher tip, so its copy is mined first. It sits in
 * an RPC proxy in front of the honest daemon: the honest transaction reaches the chain only once the
 * copy is in the mempool.
 */
import {
  type Address,
  decodeErrorResult,
  decodeFunctionData,
  type Hex,
  keccak256,
  parseTransaction,
  recoverTransactionAddress,
  type TransactionSerialized,
} from "viem";
import type { Devnet } from "../helpers/devnet.js";
import { type RpcCall, RpcProxy } from "../helpers/rpcProxy.js";

/** One honest fulfil and the copy sent in front of it. */
export interface CopiedFulfil {
  honest: Hex;
  copy: Hex;
  requestIds: bigint[];
}

export class FrontRunner {
  readonly copies: CopiedFulfil[] = [];
  /** What went wrong sending a copy (must stay empty: an attack that did not happen proves nothing). */
  readonly failures: string[] = [];

  private constructor(
    private readonly devnet: Devnet,
    private readonly victim: Address,
    private readonly attacker: Address,
    readonly proxy: RpcProxy,
  ) {}

  /** A proxy to the devnet's chain for `victim`'s daemon, copying its fulfils from `attacker`. */
  static async start(devnet: Devnet, victim: Address, attacker: Address): Promise<FrontRunner> {
    let runner: FrontRunner | undefined;
    const proxy = await RpcProxy.start(devnet.chain.url, {
      beforeForward: (calls) => runner?.watch(calls) ?? Promise.resolve(),
    });
    runner = new FrontRunner(devnet, victim, attacker, proxy);
    return runner;
  }

  async watch(calls: RpcCall[]): Promise<void> {
    for (const call of calls) {
      if (call.method !== "eth_sendRawTransaction") continue;
      const raw = call.params?.[0] as TransactionSerialized | undefined;
      if (raw === undefined) continue;
      try {
        await this.#copy(raw);
      } catch (error) {
        this.failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  }

  async #copy(raw: TransactionSerialized): Promise<void> {
    const { coordinator } = this.devnet.sibyl;
    const tx = parseTransaction(raw);
    if (tx.to?.toLowerCase() !== coordinator.address.toLowerCase() || tx.data === undefined) return;
    const from = await recoverTransactionAddress({ serializedTransaction: raw });
    if (from.toLowerCase() !== this.victim.toLowerCase()) return;
    const call = decodeFunctionData({ abi: coordinator.abi, data: tx.data });
    // Deliveries and fulfils carry results; a copy must not win them (proofs pay nothing to copy).
    if (call.functionName !== "fulfill" && call.functionName !== "deliver") return;
    const tip = (tx.maxPriorityFeePerGas ?? 0n) * 2n + 10n ** 9n;
    const wallet = (await this.devnet.connection.viem.getWalletClients()).find(
      (client) => client.account.address.toLowerCase() === this.attacker.toLowerCase(),
    );
    if (wallet === undefined) throw new Error(`no wallet for ${this.attacker}`);
    // The chain picks the nonce (it counts the attacker's pending transactions), the gas is the
    // honest one's: the copy is the same transaction but for its sender and tip.
    const copy = await wallet.sendTransaction({
      to: tx.to,
      data: tx.data,
      gas: tx.gas,
      maxPriorityFeePerGas: tip,
      maxFeePerGas: (tx.maxFeePerGas ?? 0n) + tip,
    });
    this.copies.push({
      honest: keccak256(raw),
      copy,
      requestIds: call.args[0].map((fulfillment) => fulfillment.commitment.requestId),
    });
  }
}

/**
 * Why a mined transaction reverted: it is replayed on the state it ran on (its block's parent with
 * the block's earlier transactions, which for a copy sent with the highest tip is the parent alone)
 * and the coordinator's custom error is decoded.
 */
export async function revertReason(devnet: Devnet, hash: Hex): Promise<string> {
  const { publicClient, coordinator } = devnet.sibyl;
  const tx = await publicClient.getTransaction({ hash });
  try {
    await publicClient.call({
      account: tx.from,
      to: tx.to ?? undefined,
      data: tx.input,
      gas: tx.gas,
      blockNumber: (tx.blockNumber ?? 1n) - 1n,
    });
    return "none: the replay succeeded";
  } catch (error) {
    const data = revertData(error);
    if (data === undefined) return `undecodable: ${error instanceof Error ? error.message : String(error)}`;
    try {
      return decodeErrorResult({ abi: coordinator.abi, data }).errorName;
    } catch {
      return `unknown error ${data.slice(0, 10)}`;
    }
  }
}

function revertData(error: unknown): Hex | undefined {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const data = (cause as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x")) return data as Hex;
    if (typeof data === "object" && data !== null && typeof (data as { data?: unknown }).data === "string")
      return (data as { data: Hex }).data;
  }
  return undefined;
}
