/**
 * The composition root of `sibyl node`: builds the context, checks the deployment (models registered
 * with this config's hashes, operator active), then runs three loops over one store: the listener
 * (chain → jobs), the runner (jobs → model answers; a model whose calls fail through the operator's
 * fault is stopped instead, see models/availability.ts) and the batcher (answers → proof → fulfil).
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
import type { LocalAccount } from "viem/accounts";
import { operatorLedgerAbi, sibylCoordinatorAbi } from "../shared/abi/generated.js";
import { coordinatorOfRequest, resolveSibylContracts, type SibylContracts } from "../shared/contracts.js";
import { BATCH_SIZES, batchSizeFor, modelIdFromName, type ResultPayload } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { ChainListener } from "./chain/listener.js";
import { TreeMismatchError } from "./chain/logMirror.js";
import { Submitter, sleep } from "./chain/submitter.js";
import { type NodeConfig, storeSpecOf } from "./config.js";
import type { NodeContext } from "./context.js";
import { CosignatureCollector } from "./cosign/collector.js";
import { publishEndpoint } from "./cosign/endpoint.js";
import { startPeerServer } from "./cosign/peerServer.js";
import type { StatementDomain } from "./cosign/statement.js";
import { crashPointsFrom } from "./crashPoints.js";
import { Leadership, LeadershipLostError } from "./leadership.js";
import { ModelAvailability } from "./models/availability.js";
import { configHashOf } from "./models/configHash.js";
import {
  encodeMetadata,
  executeModel,
  isolatedFaultAnswer,
  type ModelOutcome,
  NODE_BACKOFF,
  OperatorFaultError,
  ShutdownError,
} from "./models/executor.js";
import type { ModelProvider } from "./models/provider.js";
import { createProvider } from "./models/registry.js";
import { type HealthReport, startApiServer } from "./observe/api.js";
import { errorCategory } from "./observe/errorCategory.js";
import { createLogger, type Logger } from "./observe/logger.js";
import { createMetrics } from "./observe/metrics.js";
import { redact, redactUrl } from "./observe/redact.js";
import { loadOperatorAccount } from "./operatorKey.js";
import { Batcher } from "./pipeline/batcher.js";
import { CosigningLoop } from "./pipeline/cosigning.js";
import { Wakeup } from "./pipeline/wakeup.js";
import { BatchProver } from "./prover/prover.js";
import { JOB_STATES } from "./store/jobState.js";
import { openStore } from "./store/openStore.js";
import { FencedError } from "./store/postgres/pgStore.js";
import type { Job, JobStore } from "./store/store.js";

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
  /** The model fee registered onchain, read at start. */
  modelFee: bigint;
  /** Operators that must give the same answer, read at start. */
  quorum: number;
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
  const chainId = await client.getChainId().catch((error) => {
    // viem's message quotes the whole URL, and RPC providers put their key in its path.
    const where = options.transport ? "the given transport" : redactUrl(config.chain.rpcUrl);
    throw new StartupError(`chain.rpcUrl: cannot reach ${where}`, {
      cause: error,
      details: redact(error instanceof Error ? error.message : String(error)),
    });
  });
  const served = new Map<Hex, Served>();
  const started: Array<() => Promise<void>> = [];
  const closeStarted = async () => {
    for (const close of started) await close().catch(() => undefined);
  };
  let contracts: SibylContracts;
  try {
    contracts = await checkDeployment(client, config, account.address, env, served);
  } catch (error) {
    for (const { provider } of served.values()) await provider.close().catch(() => undefined);
    if (error instanceof SibylError) throw error;
    // An RPC failure here is viem's, whose message quotes the whole URL (and the key in its path).
    throw new StartupError(
      `chain.rpcUrl: cannot read the deployment through ${redactUrl(config.chain.rpcUrl)} (${errorCategory(error)})`,
      { cause: error, details: redact(error instanceof Error ? error.message : String(error)) },
    );
  }
  for (const { provider } of served.values()) started.push(() => provider.close());
  const storeSpec = storeSpecOf(config);
  const store = await openStore(storeSpec).catch(async (error) => {
    await closeStarted();
    throw error;
  });
  started.push(() => store.close());
  try {
    // Bound to the log, which outlives every coordinator version: an upgrade keeps the database.
    await store.bindDeployment(`chain ${chainId} log ${contracts.log}`, await client.getBlockNumber());
    const prover = new BatchProver();
    started.unshift(() => prover.close());
    await prover.warmUp(BATCH_SIZES.filter((size) => size <= batchSizeFor(config.batching.maxSize)));
    const listener = new ChainListener(context, {
      client,
      store,
      contracts,
      deploymentBlock: config.chain.deploymentBlock,
      confirmations: config.chain.confirmations,
      maxLogRange: config.chain.maxLogRange,
      reorgDepth: config.chain.reorgDepth,
      servedModels: new Set(served.keys()),
    });
    // Follows the listener: after an upgrade, a new version's requests are signed in its own domain.
    const domain: StatementDomain = {
      chainId,
      coordinatorOf: (requestId) => coordinatorOfRequest(listener.contracts, requestId),
      ledger: () => listener.contracts.ledger,
    };
    // Filled once the API and co-signing servers listen: a peer may not point this node at itself.
    const ownPorts: number[] = [];
    const leadership = new Leadership({
      store,
      leaseMs: storeSpec.kind === "postgres" ? storeSpec.leaseMs : undefined,
      logger,
      metrics: context.metrics,
    });
    let node: NodeLoops | undefined;
    /** Once this replica leads: the loops, resumed from the store where the last leader left them. */
    const lead = async (): Promise<NodeLoops> => {
      // Sent by the leader alone, before its submitter reads its nonce, so the two never race.
      await publishEndpoint(client, account, config, contracts.ledger, options.transport);
      const loops = new NodeLoops(context, {
        client,
        store,
        prover,
        served,
        account,
        domain,
        collector: new CosignatureCollector({
          client,
          domain,
          self: account.address,
          timeoutMs: config.cosigning.requestTimeoutMs,
          maxReplyBytes: config.cosigning.maxReplyBytes,
          policy: { allowPrivatePeers: config.cosigning.allowPrivatePeers, ownPorts: () => ownPorts },
          logger,
          store,
        }),
        listener,
        submitter: new Submitter(context, {
          client,
          account,
          store,
          receiptPollMs: Math.min(config.chain.pollIntervalMs, 250),
        }),
        stopAll: () => abort.abort(),
      });
      await loops.recover();
      node = loops;
      return loops;
    };
    // Leading at once (always, with SQLite): recovered before the node says it started.
    const ledAtStart = (await leadership.tryNow()) ? await lead() : undefined;
    const health = (): HealthReport => {
      const role = { role: leadership.role, since: new Date(leadership.since).toISOString() };
      if (node) return { ...node.health(), ...role };
      // A standby does no work: not ready for it until it leads (and has resumed the jobs).
      const detail = leadership.role === "leader" ? "resuming" : "standby";
      return { ready: false, checks: { leader: { ok: false, detail } }, ...role };
    };
    const api = config.api.enabled
      ? await startApiServer({ ...config.api, metrics: context.metrics, health, logger })
      : undefined;
    if (api) started.unshift(() => api.close());
    // Other operators reach it only at a published endpoint; without one this node co-signs for nobody.
    // A standby answers too, from the shared record: an answer the leader has, signed at most once.
    const peerServer = config.cosigning.publicUrl
      ? await startPeerServer({
          host: config.cosigning.host,
          port: config.cosigning.port,
          account,
          domain,
          store,
          ownAnswer: async (requestId) =>
            node ? node.ownAnswer(requestId) : (await store.job(requestId))?.result,
          logger,
        })
      : undefined;
    if (peerServer) started.unshift(() => peerServer.close());
    for (const server of [api, peerServer]) if (server) ownPorts.push(Number(new URL(server.url).port));
    const runAsLeader = async (): Promise<Error | undefined> => {
      if (ledAtStart === undefined) {
        logger.info({ holder: leadership.holder }, "standby: waiting for the lead");
        if (!(await leadership.acquire(abort.signal))) return undefined;
      }
      const loops = ledAtStart ?? (await lead());
      const holding = new AbortController();
      const lost = leadership.hold(AbortSignal.any([abort.signal, holding.signal])).then((error) => {
        // Deposed (or cut off from the store): stop every loop before another replica may start.
        if (error) {
          logger.error({ err: error }, "standing down: no longer the leader");
          abort.abort();
        }
        return error;
      });
      const failure = await loops.run();
      holding.abort();
      return (await lost) ?? failure;
    };
    const stopped = runAsLeader().then(async (failure) => {
      abort.abort();
      if (!(failure instanceof LeadershipLostError))
        await leadership.resign().catch((error) => logger.warn({ err: error }, "resigning the lead failed"));
      for (const close of started)
        await close().catch((error) => logger.warn({ err: error }, "close failed"));
      if (failure) throw failure;
      logger.info("stopped");
    });
    logger.info(
      {
        operator: account.address,
        log: contracts.log,
        coordinator: contracts.current,
        chainId,
        models: config.models.map((m) => m.name),
        api: api?.url,
        store: storeSpec.kind,
        role: leadership.role,
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
): Promise<SibylContracts> {
  const address = config.chain.coordinator;
  const code = await client.getCode({ address });
  if (code === undefined || code === "0x") {
    throw new StartupError(`chain.coordinator: no contract at ${address}`);
  }
  const contracts = await resolveSibylContracts(client, address).catch((error) => {
    throw new StartupError(`chain.coordinator: ${address} is not a Sibyl log or coordinator`, {
      cause: error,
    });
  });
  // Models are terms of the version taking requests now.
  const coordinator = contracts.current;
  for (const [index, spec] of config.models.entries()) {
    const provider = createProvider(spec, env);
    const modelId = modelIdFromName(spec.name);
    // Some settings are only known once the model is loaded (a GGUF file's digest).
    await provider.start();
    served.set(modelId, { provider, spec, modelFee: 0n, quorum: 1 });
    const model = await client.readContract({
      address: coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "modelOf",
      args: [modelId],
    });
    const field = `models.${index}`;
    if (model.timeout === 0)
      throw new StartupError(`${field}: model "${spec.name}" is not registered on ${coordinator}`);
    served.set(modelId, { provider, spec, modelFee: model.fee, quorum: model.quorum });
    const expected = configHashOf(provider);
    if (model.configHash !== expected) {
      throw new StartupError(
        `${field}: the config of "${spec.name}" hashes to ${expected}, the registry pins ${model.configHash}`,
        { details: "serve the settings the model was registered with, or update its registration" },
      );
    }
  }
  const { active } = await client.readContract({
    address: contracts.ledger,
    abi: operatorLedgerAbi,
    functionName: "operatorOf",
    args: [operator],
  });
  if (!active)
    throw new StartupError(`operator ${operator} is not an active operator of ${contracts.ledger}`);
  return contracts;
}

interface Parts {
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

class NodeLoops {
  readonly #context: NodeContext;
  readonly #parts: Parts;
  readonly #jobsWaiting = new Wakeup();
  readonly #answersWaiting = new Wakeup();
  readonly #batcher: Batcher;
  readonly #cosigning: CosigningLoop;
  readonly #cosignWaiting = new Wakeup();
  readonly #availability: ModelAvailability;
  #caughtUp = false;
  #chainTime = 0n;
  /** Wall-clock ms when #chainTime was first seen. */
  #chainTimeSeenAt = 0;
  /**
   * Loops whose latest attempt failed, with a fixed category (never error text: it is served by
   * /readyz); a loop's next success clears its entry.
   */
  readonly #failing = new Map<string, string>();

  constructor(context: NodeContext, parts: Parts) {
    this.#context = context;
    this.#parts = parts;
    const names = new Map([...parts.served].map(([modelId, { spec }]) => [modelId, spec.name]));
    const modelFees = new Map([...parts.served].map(([modelId, { modelFee }]) => [modelId, modelFee]));
    const quorums = new Map([...parts.served].map(([modelId, { quorum }]) => [modelId, quorum]));
    this.#batcher = new Batcher(
      context,
      { ...parts, modelFees, quorums },
      {
        answersWaiting: this.#answersWaiting,
        caughtUp: () => this.#caughtUp,
        nextBlockTime: () => this.#nextBlockTime(),
        expireNearDeadline: () => this.#expireNearDeadline(),
        recordError: (kind, error) => this.#recordError(kind, error),
        recovered: (kind) => this.#failing.delete(kind),
        isFatal,
      },
    );
    this.#availability = new ModelAvailability(context, names, context.config.execution);
    this.#cosigning = new CosigningLoop(
      context,
      { ...parts, quorums },
      {
        answersWaiting: this.#answersWaiting,
        cosignWaiting: this.#cosignWaiting,
        nextBlockTime: () => this.#nextBlockTime(),
      },
    );
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

  /** Puts work a crash interrupted back where it can safely start again. */
  async recover(): Promise<void> {
    const { store, submitter } = this.#parts;
    for (const job of await store.jobsIn("running"))
      await store.transition(job.requestId, "running", "received", "restarted");
    for (const batch of await store.batchesIn("proving")) await store.abandonBatch(batch.id);
    await submitter.init();
  }

  health(): HealthReport {
    const checks = {
      chain: { ok: this.#caughtUp, detail: this.#caughtUp ? "caught up" : "syncing" },
      pipeline: {
        ok: this.#failing.size === 0,
        ...(this.#failing.size > 0
          ? { detail: [...this.#failing].map(([kind, category]) => `${kind}: ${category}`).join("; ") }
          : {}),
      },
      models: this.#availability.check(),
    };
    // A failing pipeline is not ready: a load balancer or a standby can act on it.
    return { ready: checks.chain.ok && checks.models.ok && checks.pipeline.ok, checks };
  }

  /** Runs until shutdown; resolves with the error that stopped it, if one did. */
  async run(): Promise<Error | undefined> {
    const loops = [this.#listen(), this.#runJobs(), this.#batcher.run(), this.#cosigning.run()];
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
        this.#failing.delete("listener");
        caughtUp = result.caughtUp;
        this.#caughtUp ||= caughtUp;
        // The listener already fetched the block it read; no block read, no time passed on the chain.
        if (result.timestamp !== undefined && result.timestamp !== this.#chainTime) {
          this.#chainTime = result.timestamp;
          this.#chainTimeSeenAt = Date.now();
        }
        metrics.headLag.set(Number(result.head - result.block));
        if (result.inserted > 0 || result.rewoundTo !== undefined) this.#jobsWaiting.notify();
        this.#answersWaiting.notify();
      } catch (error) {
        if (isFatal(error)) throw error;
        this.#recordError("listener", error);
        await sleep(BACKOFF_MS, shutdown);
      }
      const counts = await store.countByState();
      for (const state of JOB_STATES) metrics.jobsByState.set({ state }, counts[state]);
      if (caughtUp) await sleep(config.chain.pollIntervalMs, shutdown);
      else logger.debug({ block: String(listener.lastBlock) }, "catching up");
    }
  }

  async #runJobs(): Promise<void> {
    const { store } = this.#parts;
    const { config, shutdown } = this.#context;
    const availability = this.#availability;
    const running = new Set<Promise<void>>();
    while (!shutdown.aborted) {
      await this.#expireNearDeadline();
      // Only this operator's requests, and others' once their exclusive window is over.
      const turn = { operator: this.#parts.submitter.address, chainTime: this.#nextBlockTime() };
      // A stopped model gets one request at a time, as its probe, once its pause is over: one that has
      // not failed since the stop if there is one, so a request that fails alone cannot hold it.
      const probes: Job[] = [];
      for (const modelId of availability.dueProbes()) {
        if (running.size + probes.length >= config.execution.concurrency) break;
        const probe =
          (await store.claimForRun([modelId], 1, turn, availability.probeSkips(modelId)))[0] ??
          (await store.claimForRun([modelId], 1, turn))[0];
        if (probe === undefined) continue;
        availability.probeStarted(modelId);
        probes.push(probe);
      }
      const free = config.execution.concurrency - running.size - probes.length;
      const claimed = (await store.claimForRun(availability.serving(), free, turn)).map((job) => ({
        job,
        probe: false,
      }));
      for (const { job, probe } of [...probes.map((job) => ({ job, probe: true })), ...claimed]) {
        const run: Promise<void> = this.#runJob(job, probe)
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

  /** Runs one claimed job; a `probe` is the call that tells whether a stopped model works again. */
  async #runJob(job: Job, probe: boolean): Promise<void> {
    const { store, served } = this.#parts;
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
        this.#availability.succeeded(modelId, job.requestId);
      } catch (error) {
        // The operator's fault stops the model instead of answering with a paid error, unless this
        // request keeps failing alone while the model answers others.
        if (!(error instanceof OperatorFaultError)) throw error;
        const verdict = this.#availability.failed(modelId, job.requestId, error.fault, error, probe);
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
      this.#failing.delete("runner");
      if (recorded) {
        this.#context.crashAt("after-answer");
        this.#answersWaiting.notify();
        this.#cosignWaiting.notify();
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
      else this.#recordError("runner", error);
      if ((await store.job(job.requestId))?.state === "running")
        await store.transition(job.requestId, "running", "received", note);
    } finally {
      if (probe) this.#availability.probeEnded(modelId);
    }
  }

  /**
   * The time a transaction sent now would be mined at: the latest block's time plus what has passed
   * since it was seen. A quiet chain (a devnet on automine) makes no blocks, so its latest time stands
   * still while an exclusive window runs out, though the next block will be stamped later; and a devnet's
   * clock may run ahead of the wall's (fast-mined blocks, evm_increaseTime), so the wall's alone is wrong.
   */
  #nextBlockTime(): bigint {
    if (this.#chainTime === 0n) return 0n;
    return this.#chainTime + BigInt(Math.floor((Date.now() - this.#chainTimeSeenAt) / 1000));
  }

  async #expireNearDeadline(): Promise<void> {
    if (this.#chainTime === 0n) return;
    const margin = BigInt(this.#context.config.submission.deadlineMarginSeconds);
    const expired = await this.#parts.store.expireBefore(this.#chainTime + margin);
    if (expired.length > 0)
      this.#context.logger.warn({ requestIds: expired.map(String) }, "skipped: deadline too close");
  }

  #recordError(kind: string, error: unknown): void {
    this.#failing.set(kind, errorCategory(error));
    this.#context.metrics.errors.inc({ kind });
    this.#context.logger.error({ err: error }, `${kind} error`);
  }
}

function isFatal(error: unknown): boolean {
  // Fenced: another replica leads now; this one must stop at once, not retry.
  return error instanceof TreeMismatchError || error instanceof FencedError;
}
