/**
 * The runner loop (jobs → model answers): claims received jobs, runs their models and records the
 * answers. A model whose calls fail through the operator's fault is stopped instead, and probed with
 * one request at a time until it works again (see models/availability.ts); with no request of its own
 * to try (a stopped model is withdrawn onchain, so none are drawn to it), with PROBE_INPUT, whose
 * answer goes nowhere.
 */
import { type Address, type Hex, hexToBytes, stringToHex } from "viem";
import type { ResultPayload } from "../../shared/encoding.js";
import { sleep } from "../chain/submitter.js";
import type { NodeContext } from "../context.js";
import type { ModelAvailability } from "../models/availability.js";
import {
  encodeMetadata,
  executeModel,
  isolatedFaultAnswer,
  type ModelOutcome,
  NODE_BACKOFF,
  OperatorFaultError,
  ShutdownError,
} from "../models/executor.js";
import type { Served } from "../models/served.js";
import type { Job, JobStore } from "../store/store.js";
import type { LoopFailures } from "./loopFailures.js";
import type { Wakeup } from "./wakeup.js";

/** What a stopped model is asked when no request of it waits: any answer shows the model works. */
export const PROBE_INPUT = "ping";
/** Not a request id (they start at 1): the probe's strikes are its own. */
const PROBE_ID = 0n;

export interface RunnerParts {
  store: JobStore;
  served: ReadonlyMap<Hex, Served>;
  availability: ModelAvailability;
  /** The operator this node delivers as: whose exclusive windows it may claim in. */
  operator: Address;
}

export interface RunnerHooks {
  failures: LoopFailures;
  /** Woken when jobs arrive or a run ends; notified as answers are recorded. */
  jobsWaiting: Wakeup;
  answersWaiting: Wakeup;
  cosignWaiting: Wakeup;
  nextBlockTime(): bigint;
  expireNearDeadline(): Promise<void>;
}

export class ModelRunner {
  readonly #context: NodeContext;
  readonly #parts: RunnerParts;
  readonly #hooks: RunnerHooks;

  constructor(context: NodeContext, parts: RunnerParts, hooks: RunnerHooks) {
    this.#context = context;
    this.#parts = parts;
    this.#hooks = hooks;
  }

  /**
   * This node's own answer to a request it has read, for a peer asking it to co-sign: the one it has,
   * or one it makes now by running the model as the runner would (never the asker's output).
   */
  async ownAnswer(requestId: bigint): Promise<ResultPayload | undefined> {
    const { store, served } = this.#parts;
    const { shutdown, config } = this.#context;
    const giveUpAt = Date.now() + config.cosigning.requestTimeoutMs;
    while (!shutdown.aborted && Date.now() < giveUpAt) {
      const job = await store.job(requestId);
      if (job === undefined) return undefined;
      if (job.result !== undefined) return job.result;
      if (job.state === "received" && served.has(job.commitment.modelId)) {
        await store.transition(requestId, "received", "running", "asked to co-sign");
        await this.#runJob(job, false);
        return (await store.job(requestId))?.result;
      }
      if (job.state !== "running") return undefined;
      await sleep(100, shutdown);
    }
    return undefined;
  }

  /** Runs until shutdown, then waits for the runs in flight to park. */
  async run(): Promise<void> {
    const { store, availability } = this.#parts;
    const { failures, jobsWaiting } = this.#hooks;
    const { config, shutdown } = this.#context;
    const running = new Set<Promise<void>>();
    while (!shutdown.aborted) {
      await this.#hooks.expireNearDeadline();
      // Only this operator's requests, and others' once their exclusive window is over.
      const turn = { operator: this.#parts.operator, chainTime: this.#hooks.nextBlockTime() };
      // A stopped model gets one request at a time, as its probe, once its pause is over: one that has
      // not failed since the stop if there is one, so a request that fails alone cannot hold it.
      const probes: Job[] = [];
      for (const modelId of availability.dueProbes()) {
        if (running.size + probes.length >= config.execution.concurrency) break;
        const probe =
          (await store.claimForRun([modelId], 1, turn, availability.probeSkips(modelId)))[0] ??
          (await store.claimForRun([modelId], 1, turn))[0];
        availability.probeStarted(modelId);
        if (probe !== undefined) {
          probes.push(probe);
          continue;
        }
        const run: Promise<void> = this.#probeWithoutRequest(modelId)
          .catch((error) => failures.record("runner", error))
          .finally(() => running.delete(run));
        running.add(run);
      }
      const free = config.execution.concurrency - running.size - probes.length;
      const claimed = (await store.claimForRun(availability.serving(), free, turn)).map((job) => ({
        job,
        probe: false,
      }));
      for (const { job, probe } of [...probes.map((job) => ({ job, probe: true })), ...claimed]) {
        const run: Promise<void> = this.#runJob(job, probe)
          .catch((error) => failures.record("runner", error))
          .finally(() => {
            running.delete(run);
            jobsWaiting.notify();
          });
        running.add(run);
      }
      await jobsWaiting.wait(config.chain.pollIntervalMs, shutdown);
    }
    await Promise.allSettled(running);
  }

  /** Probes a stopped model with PROBE_INPUT: no request, nothing recorded, only whether it works. */
  async #probeWithoutRequest(modelId: Hex): Promise<void> {
    const { served, availability } = this.#parts;
    const entry = served.get(modelId);
    if (entry === undefined) return;
    const policy = {
      timeoutMs: entry.spec.timeoutMs,
      maxAttempts: 1,
      ...NODE_BACKOFF,
      maxOutputBytes: 256,
    };
    try {
      await executeModel(
        entry.provider,
        new TextEncoder().encode(PROBE_INPUT),
        policy,
        this.#context.shutdown,
      );
      availability.succeeded(modelId, PROBE_ID);
    } catch (error) {
      if (error instanceof OperatorFaultError)
        availability.failed(modelId, PROBE_ID, error.fault, error, true);
      else if (!(error instanceof ShutdownError)) throw error;
    } finally {
      availability.probeEnded(modelId);
    }
  }

  /** Runs one claimed job; a `probe` is the call that tells whether a stopped model works again. */
  async #runJob(job: Job, probe: boolean): Promise<void> {
    const { store, served, availability } = this.#parts;
    const { failures } = this.#hooks;
    const { shutdown, metrics, logger } = this.#context;
    const modelId = job.commitment.modelId;
    const entry = served.get(modelId);
    if (entry === undefined) return;
    const { provider, spec } = entry;
    metrics.requestsTotal.inc({ model: spec.name });
    const policy = {
      timeoutMs: spec.timeoutMs,
      maxAttempts: spec.maxAttempts,
      ...NODE_BACKOFF,
      maxOutputBytes: job.commitment.maxOutputBytes,
    };
    try {
      let outcome: ModelOutcome;
      try {
        const call = executeModel(provider, hexToBytes(job.input), policy, shutdown);
        this.#context.crashAt("during-model");
        outcome = await call;
        availability.succeeded(modelId, job.requestId);
      } catch (error) {
        // The operator's fault stops the model instead of answering with a paid error, unless this
        // request keeps failing alone while the model answers others.
        if (!(error instanceof OperatorFaultError)) throw error;
        const verdict = availability.failed(modelId, job.requestId, error.fault, error, probe);
        if (verdict === "stopped") throw error;
        outcome = isolatedFaultAnswer(provider, error, policy);
      }
      const recorded = await store.recordAnswer(job.requestId, {
        status: outcome.status,
        output: stringToHex(outcome.output),
        metadata: encodeMetadata(outcome.metadata),
      });
      metrics.modelLatency.observe(
        { model: spec.name, status: String(outcome.status) },
        outcome.latencyMs / 1000,
      );
      failures.recovered("runner");
      if (recorded) {
        this.#context.crashAt("after-answer");
        this.#hooks.answersWaiting.notify();
        this.#hooks.cosignWaiting.notify();
      }
      const answered = {
        requestId: String(job.requestId),
        status: outcome.status,
        latencyMs: outcome.latencyMs,
      };
      // An error answer commits only its fixed reason; the provider's words are for this log alone.
      if (outcome.detail === undefined) logger.debug(answered, "answered");
      else
        logger.info({ ...answered, reason: outcome.output, err: outcome.detail }, "answered with an error");
    } catch (error) {
      // Parked (shutdown), stopped by the operator's fault, or not stored (e.g. the database failed):
      // the model is asked again later, never answered with a made-up error.
      let note = "runner error";
      if (error instanceof OperatorFaultError) note = `operator fault: ${error.fault}`;
      else if (error instanceof ShutdownError) note = "interrupted by shutdown";
      else failures.record("runner", error);
      if ((await store.job(job.requestId))?.state === "running")
        await store.transition(job.requestId, "running", "received", note);
    } finally {
      if (probe) availability.probeEnded(modelId);
    }
  }
}
