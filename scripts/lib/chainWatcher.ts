/**
 * Stamps every InferenceRequested and ResultDelivered with the wall time a benchmark first sees it on
 * the chain. One loop polls every 50 ms (eth_blockNumber, then getLogs over the new blocks); a latency
 * is delivered-seen minus requested-seen, so both ends carry the same polling delay and it mostly
 * cancels, where block timestamps would round to whole seconds.
 */
import { type Address, type Hex, type PublicClient, parseEventLogs } from "viem";
import { sibylCoordinatorAbi } from "../../src/shared/abi/generated.js";
import { ResultStatus } from "../../src/shared/encoding.js";
import type { ChildRun } from "../../test/helpers/processes.js";

export const WATCH_POLL_MS = 50;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChainWatcher {
  readonly requestedAt = new Map<bigint, number>();
  readonly deliveredAt = new Map<bigint, number>();
  readonly notOk = new Set<bigint>();
  /** The operator each request was assigned to, and who delivered it. */
  readonly assignee = new Map<bigint, Address>();
  readonly deliverer = new Map<bigint, Address>();
  /** Requests with more than one ResultDelivered: the coordinator must never allow one. */
  readonly deliveredTwice = new Set<bigint>();
  #nextBlock: bigint;
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(
    private readonly client: PublicClient,
    private readonly coordinator: Hex,
    fromBlock: bigint,
  ) {
    this.#nextBlock = fromBlock;
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        await this.#poll();
      } catch (error) {
        process.stderr.write(`watcher: ${error instanceof Error ? error.message : String(error)}\n`);
      }
      await sleep(WATCH_POLL_MS);
    }
  }

  async #poll(): Promise<void> {
    const head = await this.client.getBlockNumber({ cacheTime: 0 });
    if (head < this.#nextBlock) return;
    const logs = await this.client.getLogs({
      address: this.coordinator,
      fromBlock: this.#nextBlock,
      toBlock: head,
    });
    const seenAt = Date.now();
    const events = parseEventLogs({
      abi: sibylCoordinatorAbi,
      logs,
      eventName: ["InferenceRequested", "ResultDelivered"],
    });
    for (const event of events) {
      if (event.eventName === "InferenceRequested") {
        const { requestId, commitment } = event.args;
        if (!this.requestedAt.has(requestId)) this.requestedAt.set(requestId, seenAt);
        this.assignee.set(requestId, commitment.operator);
        continue;
      }
      const { requestId, status, operator } = event.args;
      if (this.deliveredAt.has(requestId)) {
        this.deliveredTwice.add(requestId);
        continue;
      }
      this.deliveredAt.set(requestId, seenAt);
      this.deliverer.set(requestId, operator);
      if (status !== ResultStatus.Ok) this.notOk.add(requestId);
    }
    this.#nextBlock = head + 1n;
  }

  /** Waits for every one of `ids` to be delivered; fails early if a daemon exits, with its log's end. */
  async delivered(ids: readonly bigint[], timeoutMs: number, daemons: readonly ChildRun[]): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (ids.some((id) => !this.deliveredAt.has(id))) {
      const missing = ids.filter((id) => !this.deliveredAt.has(id)).length;
      const exited = daemons.find((daemon) => !daemon.running);
      if (exited) throw new Error(`a daemon exited with ${missing} results missing:\n${exited.tail()}`);
      if (Date.now() > deadline) {
        const tails = daemons.map((daemon) => daemon.tail()).join("\n---\n");
        throw new Error(`${missing} of ${ids.length} results missing after ${timeoutMs} ms:\n${tails}`);
      }
      await sleep(20);
    }
  }

  /** Milliseconds from each request seen mined to its result seen mined. */
  latencies(ids: readonly bigint[]): number[] {
    return ids.map((id) => (this.deliveredAt.get(id) as number) - (this.requestedAt.get(id) as number));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}

/** The nearest-rank percentile `p` of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
