/**
 * The loops a leading replica runs over one store: the listener (chain → jobs), the runner (jobs →
 * model answers), the co-signing loop and the batcher (answers → proof → fulfil). One loop ending
 * (shutdown or failure) stops the others.
 */

import type { Hex, PublicClient } from "viem";
import type { LocalAccount } from "viem/accounts";
import type { ResultPayload } from "../shared/encoding.js";
import { exclusiveWindowReader } from "./chain/exclusiveWindow.js";
import type { ChainListener } from "./chain/listener.js";
import type { Submitter } from "./chain/submitter.js";
import type { NodeContext } from "./context.js";
import type { CosignatureCollector } from "./cosign/collector.js";
import type { StatementDomain } from "./cosign/statement.js";
import { ModelAvailability } from "./models/availability.js";
import type { Served } from "./models/served.js";
import type { HealthReport } from "./observe/api.js";
import { Batcher } from "./pipeline/batcher.js";
import { ChainClock } from "./pipeline/chainClock.js";
import { CosigningLoop } from "./pipeline/cosigning.js";
import { ListenLoop } from "./pipeline/listenLoop.js";
import { isFatal, LoopFailures } from "./pipeline/loopFailures.js";
import { ModelDeclarations } from "./pipeline/modelDeclarations.js";
import { ModelRunner } from "./pipeline/runner.js";
import { Wakeup } from "./pipeline/wakeup.js";
import type { BatchProver } from "./prover/prover.js";
import type { JobStore } from "./store/store.js";

export interface LoopParts {
  client: PublicClient;
  store: JobStore;
  prover: BatchProver;
  served: Map<Hex, Served>;
  account: LocalAccount;
  domain: StatementDomain;
  collector: CosignatureCollector;
  listener: ChainListener;
  submitter: Submitter;
  stopAll: () => void;
}

export class NodeLoops {
  readonly #context: NodeContext;
  readonly #parts: LoopParts;
  readonly #clock = new ChainClock();
  readonly #failures: LoopFailures;
  readonly #availability: ModelAvailability;
  readonly #listening: ListenLoop;
  readonly #runner: ModelRunner;
  readonly #batcher: Batcher;
  readonly #cosigning: CosigningLoop;

  constructor(context: NodeContext, parts: LoopParts) {
    this.#context = context;
    this.#parts = parts;
    this.#failures = new LoopFailures(context);
    const jobsWaiting = new Wakeup();
    const answersWaiting = new Wakeup();
    const cosignWaiting = new Wakeup();
    const nextBlockTime = () => this.#clock.nextBlockTime();
    const expireNearDeadline = () => this.#expireNearDeadline();
    const names = new Map([...parts.served].map(([modelId, { spec }]) => [modelId, spec.name]));
    const modelFees = new Map([...parts.served].map(([modelId, { modelFee }]) => [modelId, modelFee]));
    const quorums = new Map([...parts.served].map(([modelId, { quorum }]) => [modelId, quorum]));
    this.#availability = new ModelAvailability(context, names, context.config.execution);
    this.#listening = new ListenLoop(context, parts, {
      clock: this.#clock,
      failures: this.#failures,
      jobsWaiting,
      answersWaiting,
    });
    this.#runner = new ModelRunner(
      context,
      {
        store: parts.store,
        served: parts.served,
        availability: this.#availability,
        operator: parts.submitter.address,
      },
      {
        failures: this.#failures,
        jobsWaiting,
        answersWaiting,
        cosignWaiting,
        nextBlockTime,
        expireNearDeadline,
      },
    );
    const declarations = new ModelDeclarations({
      client: parts.client,
      operator: parts.submitter.address,
      ledger: () => parts.listener.contracts.ledger,
      served: [...parts.served.keys()],
      serving: () => this.#availability.keepDeclared(context.config.execution.withdrawStoppedAfterMs),
    });
    this.#batcher = new Batcher(
      context,
      { ...parts, modelFees, quorums, declarations },
      {
        answersWaiting,
        caughtUp: () => this.#listening.caughtUp,
        nextBlockTime,
        expireNearDeadline,
        recordError: (kind, error) => this.#failures.record(kind, error),
        recovered: (kind) => this.#failures.recovered(kind),
        isFatal,
      },
    );
    this.#cosigning = new CosigningLoop(
      context,
      { ...parts, quorums },
      {
        answersWaiting,
        cosignWaiting,
        nextBlockTime,
        exclusiveWindow: exclusiveWindowReader(parts.client, () => parts.listener.contracts.ledger),
      },
    );
  }

  /** This node's own answer to a request, for a peer asking it to co-sign (see ModelRunner). */
  ownAnswer(requestId: bigint): Promise<ResultPayload | undefined> {
    return this.#runner.ownAnswer(requestId);
  }

  /** Puts work a crash interrupted back where it can safely start again. */
  async recover(): Promise<void> {
    const { store, submitter } = this.#parts;
    for (const job of await store.jobsIn("running"))
      await store.transition(job.requestId, "running", "received", "restarted");
    for (const batch of await store.batchesIn("proving")) await store.abandonBatch(batch.id);
    await submitter.init();
  }

  health(): HealthReport {
    const caughtUp = this.#listening.caughtUp;
    const checks = {
      chain: { ok: caughtUp, detail: caughtUp ? "caught up" : "syncing" },
      pipeline: this.#failures.check(),
      models: this.#availability.check(),
    };
    // A failing pipeline is not ready: a load balancer or a standby can act on it.
    return { ready: checks.chain.ok && checks.models.ok && checks.pipeline.ok, checks };
  }

  /** Runs until shutdown; resolves with the error that stopped it, if one did. */
  async run(): Promise<Error | undefined> {
    const loops = [this.#listening.run(), this.#runner.run(), this.#batcher.run(), this.#cosigning.run()];
    const failure = await Promise.race(loops.map((loop) => loop.then(() => undefined))).catch(
      (error: Error) => error,
    );
    if (failure) this.#context.logger.fatal({ err: failure }, "node failed");
    // One loop ending (shutdown or failure) stops the others.
    this.#parts.stopAll();
    await Promise.allSettled(loops);
    return failure;
  }

  async #expireNearDeadline(): Promise<void> {
    const chainTime = this.#clock.latest;
    if (chainTime === 0n) return;
    const margin = BigInt(this.#context.config.submission.deadlineMarginSeconds);
    const expired = await this.#parts.store.expireBefore(chainTime + margin);
    if (expired.length > 0)
      this.#context.logger.warn({ requestIds: expired.map(String) }, "skipped: deadline too close");
  }
}
