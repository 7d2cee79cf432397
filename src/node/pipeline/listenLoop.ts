/** The listening loop: polls the chain listener (chain → jobs) and wakes the loops that have new work. */
import type { ChainListener } from "../chain/listener.js";
import { sleep } from "../chain/submitter.js";
import type { NodeContext } from "../context.js";
import { JOB_STATES } from "../store/jobState.js";
import type { JobStore } from "../store/store.js";
import type { ChainClock } from "./chainClock.js";
import { isFatal, type LoopFailures } from "./loopFailures.js";
import type { Wakeup } from "./wakeup.js";

export interface ListenParts {
  listener: ChainListener;
  store: JobStore;
}

export interface ListenHooks {
  clock: ChainClock;
  failures: LoopFailures;
  /** Woken when requests arrived or a reorg rewound them. */
  jobsWaiting: Wakeup;
  answersWaiting: Wakeup;
}

const BACKOFF_MS = 1_000;

export class ListenLoop {
  readonly #context: NodeContext;
  readonly #parts: ListenParts;
  readonly #hooks: ListenHooks;
  #caughtUp = false;

  constructor(context: NodeContext, parts: ListenParts, hooks: ListenHooks) {
    this.#context = context;
    this.#parts = parts;
    this.#hooks = hooks;
  }

  /** Whether the listener has reached the chain's head once since start. */
  get caughtUp(): boolean {
    return this.#caughtUp;
  }

  /** Runs until shutdown; throws only a fatal error. */
  async run(): Promise<void> {
    const { listener, store } = this.#parts;
    const { clock, failures, jobsWaiting, answersWaiting } = this.#hooks;
    const { config, shutdown, metrics, logger } = this.#context;
    while (!shutdown.aborted) {
      let caughtUp = false;
      try {
        const result = await listener.poll();
        failures.recovered("listener");
        caughtUp = result.caughtUp;
        this.#caughtUp ||= caughtUp;
        // The listener already fetched the block it read; no block read, no time passed on the chain.
        if (result.timestamp !== undefined) clock.observe(result.timestamp);
        metrics.headLag.set(Number(result.head - result.block));
        if (result.inserted > 0 || result.rewoundTo !== undefined) jobsWaiting.notify();
        answersWaiting.notify();
      } catch (error) {
        if (isFatal(error)) throw error;
        failures.record("listener", error);
        await sleep(BACKOFF_MS, shutdown);
      }
      const counts = await store.countByState();
      for (const state of JOB_STATES) metrics.jobsByState.set({ state }, counts[state]);
      if (caughtUp) await sleep(config.chain.pollIntervalMs, shutdown);
      else logger.debug({ block: String(listener.lastBlock) }, "catching up");
    }
  }
}
