/**
 * The composition root of `sibyl node`: builds the context, checks the deployment (models registered
 * with this config's hashes, operator active), then runs three loops over one store: the listener
 * (chain → jobs), the runner (jobs → model answers) and the batcher (answers → proof → fulfil).
 */
import {
  type Address,
  createPublicClient,
  type Hex,
  hexToBytes,
  http,
  type PublicClient,
  stringToHex,
  type Transport,
} from "viem";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { BATCH_SIZES, batchSizeFor, modelIdFromName } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { TreeMismatchError } from "./chain/events.js";
import { ChainListener } from "./chain/listener.js";
import { type Rejection, type SubmitOutcome, Submitter, sleep } from "./chain/submitter.js";
import type { NodeConfig } from "./config.js";
import type { NodeContext } from "./context.js";
import { crashPointsFrom } from "./crashPoints.js";
import { configHashOf } from "./models/configHash.js";
import { encodeMetadata, executeModel, ShutdownError } from "./models/executor.js";
import type { ModelProvider } from "./models/provider.js";
import { createProvider } from "./models/registry.js";
import { type HealthReport, startApiServer } from "./observe/api.js";
import { createLogger, type Logger } from "./observe/logger.js";
import { createMetrics } from "./observe/metrics.js";
import { loadOperatorAccount } from "./operatorKey.js";
import { batchWitness, fulfillArgs, selectBatch } from "./pipeline/batch.js";
import { Wakeup } from "./pipeline/wakeup.js";
import { BatchProver } from "./prover/prover.js";
import { JOB_STATES, type JobState } from "./store/jobState.js";
import { SqliteJobStore } from "./store/sqliteStore.js";
import type { Batch, Job, JobStore } from "./store/store.js";

export class StartupError extends SibylError {
  override name = "StartupError";
}

export interface RunningNode {
  readonly operator: Address;
  readonly apiUrl: string | undefined;
  readonly store: JobStore;
  /** Resolves when the node has stopped (after stop(), or a fatal error). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

interface Served {
  provider: ModelProvider;
  spec: NodeConfig["models"][number];
}

const BACKOFF_MS = 1_000;

export interface StartNodeOptions {
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /**
   * How to reach the chain instead of `chain.rpcUrl`: any viem transport, e.g. `custom(provider)` for an
   * EIP-1193 provider such as a Hardhat network connection's (the in-process network included).
   */
  transport?: Transport;
}

export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<RunningNode> {
  const env = options.env ?? process.env;
  const abort = new AbortController();
  const logger = options.logger ?? createLogger(config.log);
  const context: NodeContext = {
    config,
    logger,
    metrics: createMetrics(),
    shutdown: abort.signal,
    crashAt: crashPointsFrom(env),
  };
  const account = await loadOperatorAccount(config.operator, env);
  const client = createPublicClient({
    transport: options.transport ?? http(config.chain.rpcUrl, { retryCount: 3, timeout: 30_000 }),
    pollingInterval: config.chain.pollIntervalMs,
  }) as PublicClient;
  const coordinator = config.chain.coordinator;

  const chainId = await client.getChainId().catch((error) => {
    const where = options.transport ? "the given transport" : config.chain.rpcUrl;
    throw new StartupError(`chain.rpcUrl: cannot reach ${where}`, { cause: error });
  });
  const served = new Map<Hex, Served>();
  const started: Array<() => Promise<void>> = [];
  const closeStarted = async () => {
    for (const close of started) await close().catch(() => undefined);
  };
  try {
    await checkDeployment(client, config, account.address, env, served);
  } catch (error) {
    for (const { provider } of served.values()) await provider.close().catch(() => undefined);
    throw error;
  }
  for (const { provider } of served.values()) started.push(() => provider.close());
  const store = new SqliteJobStore(config.database.path);
  started.push(async () => store.close());
  try {
    store.bindDeployment(`chain ${chainId} coordinator ${coordinator}`);
    const prover = new BatchProver();
    started.unshift(() => prover.close());
    await prover.warmUp(BATCH_SIZES.filter((size) => size <= batchSizeFor(config.batching.maxSize)));
    const node = new NodeLoops(context, {
      client,
      store,
      prover,
      served,
      listener: new ChainListener(context, {
        client,
        store,
        coordinator,
        deploymentBlock: config.chain.deploymentBlock,
        confirmations: config.chain.confirmations,
        maxLogRange: config.chain.maxLogRange,
        reorgDepth: config.chain.reorgDepth,
        servedModels: new Set(served.keys()),
      }),
      submitter: new Submitter(context, {
        client,
        account,
        coordinator,
        store,
        receiptPollMs: Math.min(config.chain.pollIntervalMs, 250),
      }),
      stopAll: () => abort.abort(),
    });
    await node.recover();
    const api = config.api.enabled
      ? await startApiServer({ ...config.api, metrics: context.metrics, health: () => node.health(), logger })
      : undefined;
    if (api) started.unshift(() => api.close());
    const stopped = node.run().then(async (failure) => {
      abort.abort();
      for (const close of started)
        await close().catch((error) => logger.warn({ err: error }, "close failed"));
      if (failure) throw failure;
      logger.info("stopped");
    });
    logger.info(
      {
        operator: account.address,
        coordinator,
        chainId,
        models: config.models.map((m) => m.name),
        api: api?.url,
      },
      "sibyl node started",
    );
    return {
      operator: account.address,
      apiUrl: api?.url,
      store,
      stopped,
      async stop() {
        if (!abort.signal.aborted) logger.info("stopping: parking in-flight work");
        abort.abort();
        await stopped.catch(() => undefined);
      },
    };
  } catch (error) {
    await closeStarted();
    throw error;
  }
}

/**
 * Every configured model must be registered and pinned to this config, and the operator active. Fills
 * `served` with the started providers as it goes, so the caller can close them if this throws.
 */
async function checkDeployment(
  client: PublicClient,
  config: NodeConfig,
  operator: Address,
  env: NodeJS.ProcessEnv,
  served: Map<Hex, Served>,
): Promise<void> {
  const coordinator = config.chain.coordinator;
  const code = await client.getCode({ address: coordinator });
  if (code === undefined || code === "0x") {
    throw new StartupError(`chain.coordinator: no contract at ${coordinator}`);
  }
  for (const [index, spec] of config.models.entries()) {
    const provider = createProvider(spec, env);
    const modelId = modelIdFromName(spec.name);
    // Some settings are only known once the model is loaded (a GGUF file's digest).
    await provider.start();
    served.set(modelId, { provider, spec });
    const model = await client.readContract({
      address: coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "modelOf",
      args: [modelId],
    });
    const field = `models.${index}`;
    if (model.timeout === 0)
      throw new StartupError(`${field}: model "${spec.name}" is not registered on ${coordinator}`);
    const expected = configHashOf(provider);
    if (model.configHash !== expected) {
      throw new StartupError(
        `${field}: the config of "${spec.name}" hashes to ${expected}, the registry pins ${model.configHash}`,
        { details: "serve the settings the model was registered with, or update its registration" },
      );
    }
  }
  const { active } = await client.readContract({
    address: coordinator,
    abi: sibylCoordinatorAbi,
    functionName: "operatorOf",
    args: [operator],
  });
  if (!active) throw new StartupError(`operator ${operator} is not an active operator of ${coordinator}`);
}

interface Parts {
  client: PublicClient;
  store: JobStore;
  prover: BatchProver;
  served: Map<Hex, Served>;
  listener: ChainListener;
  submitter: Submitter;
  stopAll: () => void;
}

class NodeLoops {
  readonly #context: NodeContext;
  readonly #parts: Parts;
  readonly #jobsWaiting = new Wakeup();
  readonly #answersWaiting = new Wakeup();
  /** When each answered job was first seen by the batcher, for the max-wait rule. */
  readonly #answeredAt = new Map<bigint, number>();
  #caughtUp = false;
  #chainTime = 0n;
  #lastError: string | undefined;

  constructor(context: NodeContext, parts: Parts) {
    this.#context = context;
    this.#parts = parts;
  }

  /** Puts work a crash interrupted back where it can safely start again. */
  async recover(): Promise<void> {
    const { store, submitter } = this.#parts;
    for (const job of store.jobsIn("running"))
      store.transition(job.requestId, "running", "received", "restarted");
    for (const batch of store.batchesIn("proving")) store.abandonBatch(batch.id);
    await submitter.init();
  }

  health(): HealthReport {
    const checks = {
      chain: { ok: this.#caughtUp, detail: this.#caughtUp ? "caught up" : "syncing" },
      pipeline: {
        ok: this.#lastError === undefined,
        ...(this.#lastError ? { detail: this.#lastError } : {}),
      },
    };
    return { ready: checks.chain.ok, checks };
  }

  /** Runs until shutdown; resolves with the error that stopped it, if one did. */
  async run(): Promise<Error | undefined> {
    const loops = [this.#listen(), this.#runJobs(), this.#batch()];
    const failure = await Promise.race(loops.map((loop) => loop.then(() => undefined))).catch(
      (error: Error) => error,
    );
    if (failure) this.#context.logger.fatal({ err: failure }, "node failed");
    // One loop ending (shutdown or failure) stops the others.
    this.#parts.stopAll();
    await Promise.allSettled(loops);
    return failure;
  }

  async #listen(): Promise<void> {
    const { listener, store } = this.#parts;
    const { config, shutdown, metrics, logger } = this.#context;
    while (!shutdown.aborted) {
      let caughtUp = false;
      try {
        const result = await listener.poll();
        caughtUp = result.caughtUp;
        this.#caughtUp ||= caughtUp;
        // The listener already fetched the block it read; no block read, no time passed on the chain.
        if (result.timestamp !== undefined) this.#chainTime = result.timestamp;
        metrics.headLag.set(Number(result.head - result.block));
        if (result.inserted > 0 || result.rewoundTo !== undefined) this.#jobsWaiting.notify();
        this.#answersWaiting.notify();
      } catch (error) {
        if (isFatal(error)) throw error;
        this.#recordError("listener", error);
        await sleep(BACKOFF_MS, shutdown);
      }
      const counts = store.countByState();
      for (const state of JOB_STATES) metrics.jobsByState.set({ state }, counts[state]);
      if (caughtUp) await sleep(config.chain.pollIntervalMs, shutdown);
      else logger.debug({ block: String(listener.lastBlock) }, "catching up");
    }
  }

  async #runJobs(): Promise<void> {
    const { store, served } = this.#parts;
    const { config, shutdown } = this.#context;
    const running = new Set<Promise<void>>();
    const modelIds = [...served.keys()];
    while (!shutdown.aborted) {
      this.#expireNearDeadline();
      for (const job of store.claimForRun(modelIds, config.execution.concurrency - running.size)) {
        const run: Promise<void> = this.#runJob(job)
          .catch((error) => this.#recordError("runner", error))
          .finally(() => {
            running.delete(run);
            this.#jobsWaiting.notify();
          });
        running.add(run);
      }
      await this.#jobsWaiting.wait(config.chain.pollIntervalMs, shutdown);
    }
    await Promise.allSettled(running);
  }

  async #runJob(job: Job): Promise<void> {
    const { store, served } = this.#parts;
    const { shutdown, metrics, logger } = this.#context;
    const entry = served.get(job.commitment.modelId);
    if (entry === undefined) return;
    const { provider, spec } = entry;
    metrics.requestsTotal.inc({ model: spec.name });
    try {
      const call = executeModel(
        provider,
        hexToBytes(job.input),
        {
          timeoutMs: spec.timeoutMs,
          maxAttempts: spec.maxAttempts,
          baseBackoffMs: 250,
          maxBackoffMs: 5_000,
          maxOutputBytes: job.commitment.maxOutputBytes,
        },
        shutdown,
      );
      this.#context.crashAt("during-model");
      const outcome = await call;
      const recorded = store.recordAnswer(job.requestId, {
        status: outcome.status,
        output: stringToHex(outcome.output),
        metadata: encodeMetadata(outcome.metadata),
      });
      metrics.modelLatency.observe(
        { model: spec.name, status: String(outcome.status) },
        outcome.latencyMs / 1000,
      );
      if (recorded) {
        this.#context.crashAt("after-answer");
        this.#answersWaiting.notify();
      }
      logger.debug(
        { requestId: String(job.requestId), status: outcome.status, latencyMs: outcome.latencyMs },
        "answered",
      );
    } catch (error) {
      // Parked (shutdown) or not stored (e.g. the database failed): the model is asked again later,
      // never answered with a made-up error.
      if (!(error instanceof ShutdownError)) this.#recordError("runner", error);
      if (store.job(job.requestId)?.state === "running") {
        store.transition(
          job.requestId,
          "running",
          "received",
          error instanceof ShutdownError ? "interrupted by shutdown" : "runner error",
        );
      }
    }
  }

  async #batch(): Promise<void> {
    const { shutdown } = this.#context;
    while (!shutdown.aborted) {
      try {
        const waitMs = await this.#batchOnce();
        if (waitMs > 0) await this.#answersWaiting.wait(waitMs, shutdown);
      } catch (error) {
        if (isFatal(error)) throw error;
        this.#recordError("batcher", error);
        await sleep(BACKOFF_MS, shutdown);
      }
    }
  }

  /** Proves and submits one batch if one is due; returns how long to wait before looking again. */
  async #batchOnce(): Promise<number> {
    const { store, listener, client, prover, submitter } = this.#parts;
    const { config, metrics, logger } = this.#context;
    if (!this.#caughtUp) return config.chain.pollIntervalMs;
    // A batch left submitted (a restart, an RPC outage) is settled before anything new is sent.
    const unsettled = store.batchesIn("submitted")[0];
    if (unsettled) {
      await this.#settle(unsettled, await submitter.resume(unsettled.id));
      return 0;
    }
    this.#expireNearDeadline();
    const answered = store.jobsIn("answered", config.batching.maxSize);
    const now = Date.now();
    for (const job of answered)
      if (!this.#answeredAt.has(job.requestId)) this.#answeredAt.set(job.requestId, now);
    const choice = selectBatch(
      answered,
      (job) => this.#answeredAt.get(job.requestId) ?? now,
      config.batching,
      now,
    );
    if (choice === undefined) return config.chain.pollIntervalMs;
    if ("waitMs" in choice) return choice.waitMs;

    // Prove only on top of the contract's current root; otherwise wait for the listener to catch up.
    const tree = listener.tree;
    const root = await client.readContract({
      address: config.chain.coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "root",
    });
    if (root !== tree.root) return config.chain.pollIntervalMs;

    const jobs = choice.jobs;
    const witness = batchWitness(jobs, tree);
    const batch = store.createBatch({
      requestIds: jobs.map((job) => job.requestId),
      oldRoot: witness.oldRoot,
      newRoot: witness.newRoot,
      startIndex: witness.startIndex,
      batchSize: witness.leaves.length,
    });
    for (const job of jobs) this.#answeredAt.delete(job.requestId);
    let proof: Awaited<ReturnType<BatchProver["prove"]>>;
    try {
      const proving = prover.prove(witness);
      this.#context.crashAt("during-proving");
      proof = await proving;
    } catch (error) {
      store.abandonBatch(batch.id);
      throw error;
    }
    metrics.proofSeconds.observe(
      { batch_size: String(proof.batchSize) },
      (proof.witnessMs + proof.proveMs) / 1000,
    );
    logger.info(
      {
        batchId: batch.id,
        results: jobs.length,
        batchSize: proof.batchSize,
        startIndex: String(witness.startIndex),
        proveMs: Math.round(proof.proveMs),
      },
      "batch proved",
    );
    let outcome: SubmitOutcome;
    try {
      outcome = await submitter.submit(batch.id, fulfillArgs(jobs, proof));
    } catch (error) {
      // Not yet signed: nothing can be out there, so the answers go back to be batched again.
      if (store.batch(batch.id)?.state === "proving") store.abandonBatch(batch.id);
      throw error;
    }
    await this.#settle(batch, outcome);
    return 0;
  }

  /** Applies a submission's outcome to the batch and its jobs. */
  async #settle(batch: Batch, outcome: SubmitOutcome): Promise<void> {
    const { store, listener } = this.#parts;
    const { metrics, logger, shutdown, config } = this.#context;
    switch (outcome.kind) {
      case "mined": {
        this.#context.crashAt("after-receipt");
        store.markBatchMined(batch.id);
        metrics.submittedBatches.inc({ outcome: "success" });
        metrics.batchSize.observe(batch.requestIds.length);
        logger.info(
          {
            batchId: batch.id,
            tx: outcome.receipt.transactionHash,
            block: String(outcome.receipt.blockNumber),
            gasUsed: String(outcome.receipt.gasUsed),
          },
          "batch fulfilled",
        );
        // The next batch builds on this one's root, which the listener must read first.
        while (!shutdown.aborted && listener.lastBlock < outcome.receipt.blockNumber) {
          await sleep(Math.min(config.chain.pollIntervalMs, 50), shutdown);
        }
        return;
      }
      case "rejected": {
        metrics.submittedBatches.inc({ outcome: "reverted" });
        metrics.errors.inc({ kind: `revert:${outcome.rejection.errorName}` });
        logger.warn(
          {
            batchId: batch.id,
            error: outcome.rejection.errorName,
            args: stringify(outcome.rejection.args),
            reason: outcome.rejection.message,
          },
          "batch rejected",
        );
        store.abandonBatch(batch.id, rejectionOutcomes(outcome.rejection));
        return;
      }
      case "dropped":
        logger.warn({ batchId: batch.id }, "batch transaction dropped: re-batching");
        store.abandonBatch(batch.id);
        return;
      case "parked":
        return;
    }
  }

  #expireNearDeadline(): void {
    if (this.#chainTime === 0n) return;
    const margin = BigInt(this.#context.config.submission.deadlineMarginSeconds);
    const expired = this.#parts.store.expireBefore(this.#chainTime + margin);
    if (expired.length > 0)
      this.#context.logger.warn({ requestIds: expired.map(String) }, "skipped: deadline too close");
  }

  #recordError(kind: string, error: unknown): void {
    this.#lastError = `${kind}: ${error instanceof SibylError ? error.shortMessage : String(error)}`;
    this.#context.metrics.errors.inc({ kind });
    this.#context.logger.error({ err: error }, `${kind} error`);
  }
}

/** What the coordinator's revert says about each job: settled elsewhere, or worth re-batching. */
function rejectionOutcomes(rejection: Rejection): Map<bigint, { state: JobState; note: string }> {
  const outcomes = new Map<bigint, { state: JobState; note: string }>();
  const requestId = typeof rejection.args[0] === "bigint" ? rejection.args[0] : undefined;
  if (requestId === undefined) return outcomes;
  const settled: Record<string, JobState> = {
    RequestNotPending: "failed",
    RequestExpired: "expired",
    CommitmentMismatch: "failed",
    OutputTooLarge: "failed",
  };
  const state = settled[rejection.errorName];
  if (state) outcomes.set(requestId, { state, note: rejection.errorName });
  return outcomes;
}

function isFatal(error: unknown): boolean {
  return error instanceof TreeMismatchError;
}

function stringify(values: readonly unknown[]): string[] {
  return values.map(String);
}
