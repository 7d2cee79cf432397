/**
 * A chain whose base fee stays where a test puts it: automine off, and a block mined every BLOCK_MS
 * with the next block's base fee set just before (on a real chain it drifts with how full blocks are).
 */
import { toHex } from "viem";
import type { Devnet } from "./devnet.js";
import { until } from "./wait.js";

/** How often the miner mines a block, unless told otherwise. */
const BLOCK_MS = 200;

/**
 * Mines a block every BLOCK_MS with automine off, each at exactly the target base fee (a real chain's
 * base fee would drift with how full blocks are; here it is held where the scenario puts it).
 */
export class BaseFeeMiner {
  #target = 0n;
  #paused = false;
  #running = false;
  #loop: Promise<void> | undefined;
  #tick: Promise<void> = Promise.resolve();
  /** The last inNextBlock call: each waits for the one before, so no two share a block. */
  #exclusive: Promise<unknown> = Promise.resolve();

  /** `blockMs`: how often a block is mined (at 1000, the chain's clock keeps to the wall's). */
  constructor(
    private readonly devnet: Devnet,
    private readonly blockMs = BLOCK_MS,
  ) {}

  /** Turns automine off and starts mining at `target`. */
  async start(target: bigint): Promise<void> {
    await this.#rpc("evm_setAutomine", [false]);
    this.#target = target;
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        if (!this.#paused) {
          this.#tick = this.#mine(this.#target);
          await this.#tick;
        }
        await new Promise((resolve) => setTimeout(resolve, this.blockMs));
      }
    })();
  }

  /** Stops mining and turns automine back on. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#rpc("evm_setAutomine", [true]).catch(() => undefined);
  }

  /** Moves the target and waits until the newest block has it. */
  async settleAt(target: bigint): Promise<void> {
    this.#target = target;
    const { publicClient } = this.devnet.sibyl;
    await until(async () => ((await publicClient.getBlock()).baseFeePerGas === target ? true : undefined));
  }

  /**
   * Pauses mining, runs `send` until `transactions` of its transactions wait in the mempool, mines them
   * in one block at `minedAt`, then resumes at `thenAt`. Returns what `send` returns.
   */
  async inOneBlock<T>(minedAt: bigint, thenAt: bigint, transactions: number, send: () => Promise<T>) {
    this.#paused = true;
    await this.#tick;
    const { publicClient } = this.devnet.sibyl;
    try {
      const sending = send();
      await until(async () => {
        const pending = await publicClient.getBlock({ blockTag: "pending" });
        return pending.transactions.length >= transactions ? true : undefined;
      }, 60_000);
      await this.#mine(minedAt);
      this.#target = thenAt;
      this.#paused = false;
      return await sending;
    } finally {
      this.#target = thenAt;
      this.#paused = false;
    }
  }

  /**
   * Pauses mining, runs `send` (which returns once its transactions are in the mempool), mines them
   * in one block at `baseFee` (with `before` run just ahead of it, e.g. to set its prevrandao), and
   * resumes at the target. Calls made at once take turns. Returns what `send` returns.
   */
  async inNextBlock<T>(baseFee: bigint, send: () => Promise<T>, before?: () => Promise<void>): Promise<T> {
    const turn = this.#exclusive.then(async () => {
      this.#paused = true;
      await this.#tick;
      try {
        const sent = await send();
        await before?.();
        await this.#mine(baseFee);
        return sent;
      } finally {
        this.#paused = false;
      }
    });
    this.#exclusive = turn.catch(() => undefined);
    return turn;
  }

  async #mine(baseFee: bigint): Promise<void> {
    await this.#rpc("hardhat_setNextBlockBaseFeePerGas", [toHex(baseFee)]);
    await this.#rpc("evm_mine");
  }

  #rpc(method: string, params: unknown[] = []): Promise<unknown> {
    return this.devnet.connection.provider.request({ method, params });
  }
}
