/**
 * The composition root of `sibyl node`: builds the context, checks the deployment (deploymentCheck.ts),
 * opens the store and takes the lead (or waits for it as a standby), then runs the loops of
 * nodeLoops.ts; serves /readyz and the co-signing endpoint whichever role it has.
 */
import { type Address, createPublicClient, type Hex, http, type PublicClient, type Transport } from "viem";
import { coordinatorOfRequest, type SibylContracts } from "../shared/contracts.js";
import { BATCH_SIZES, batchSizeFor } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { declareServedModels } from "./chain/declarations.js";
import { ChainListener } from "./chain/listener.js";
import { Submitter } from "./chain/submitter.js";
import { type NodeConfig, storeSpecOf } from "./config.js";
import type { NodeContext } from "./context.js";
import { CosignatureCollector } from "./cosign/collector.js";
import { publishEndpoint } from "./cosign/endpoint.js";
import { startPeerServer } from "./cosign/peerServer.js";
import type { StatementDomain } from "./cosign/statement.js";
import { crashPointsFrom } from "./crashPoints.js";
import { checkDeployment, StartupError } from "./deploymentCheck.js";
import { Leadership, LeadershipLostError } from "./leadership.js";
import type { Served } from "./models/served.js";
import { NodeLoops } from "./nodeLoops.js";
import { type HealthReport, startApiServer } from "./observe/api.js";
import { errorCategory } from "./observe/errorCategory.js";
import { createLogger, type Logger } from "./observe/logger.js";
import { createMetrics } from "./observe/metrics.js";
import { redact, redactUrl } from "./observe/redact.js";
import { assertKeyAllowedOnChain, loadOperatorAccount } from "./operatorKey.js";
import { BatchProver } from "./prover/prover.js";
import { openStore } from "./store/openStore.js";
import type { JobStore } from "./store/store.js";

export { StartupError } from "./deploymentCheck.js";

export interface RunningNode {
  readonly operator: Address;
  readonly apiUrl: string | undefined;
  readonly store: JobStore;
  /** Resolves when the node has stopped (after stop(), or a fatal error). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

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
  // A raw key in an environment variable is for devnets; elsewhere the operator must say it means it.
  assertKeyAllowedOnChain(config.operator, chainId);
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
      const declared = await declareServedModels(
        client,
        account,
        contracts.ledger,
        [...served.keys()],
        options.transport ?? http(config.chain.rpcUrl),
      );
      if (declared.length > 0) logger.info({ models: declared }, "declared the models it serves onchain");
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
