/**
 * The batcher loop: cuts batches from the answered jobs (by count, gas and what each escrow pays for)
 * and sends each the cheaper way for its size: a full batch with its proof in one transaction (fulfil),
 * anything smaller at once without one (deliver), its proof following in bulk (see pendingProver.ts).
 * Every transaction goes with a computed gas limit, one at a time; rejected jobs are retried alone,
 * then with an error result, then given up.
 */
import type { Address, Hex, PublicClient } from "viem";
import { sibylCoordinatorAbi, sibylLogAbi } from "../../shared/abi/generated.js";
import { coordinatorOfRequest } from "../../shared/contracts.js";
import { deliverData, fulfillData, proveData, reassignData } from "../chain/calls.js";
import type { ChainListener } from "../chain/listener.js";
import type { LogMirror } from "../chain/logMirror.js";
import { type SubmitOutcome, type Submitter, sleep } from "../chain/submitter.js";
import { MAX_PENDING_LEAVES } from "../config.js";
import type { NodeContext } from "../context.js";
import { toProofWords } from "../prover/calldata.js";
import type { BatchProver } from "../prover/prover.js";
import type { Batch, Job, JobStore } from "../store/store.js";
import {
  affordable,
  batchWitness,
  type ChainLimits,
  fulfillArgs,
  fulfillmentsOf,
  selectBatch,
} from "./batch.js";
import {
  deliverGasLimit,
  fulfilGasLimit,
  proveGasLimit,
  reassignGasLimit,
  TRANSACTION_GAS_CAP,
} from "./deliveryGas.js";
import { nextReportStep, type ReportStep, settleReportStep } from "./equivocationReports.js";
import type { DeclarationStep, ModelDeclarations } from "./modelDeclarations.js";
import { PendingProver, type ReadyProof } from "./pendingProver.js";
import { endRepeatedFailures, rejectionOutcomes } from "./rejections.js";
import type { Wakeup } from "./wakeup.js";

export interface BatcherParts {
  client: PublicClient;
  store: JobStore;
  prover: BatchProver;
  listener: ChainListener;
  submitter: Submitter;
  /** The model fee registered onchain for each served model. */
  modelFees: ReadonlyMap<Hex, bigint>;
  /** Each served model's quorum: above 1, a result goes out only with its co-signatures. */
  quorums: ReadonlyMap<Hex, number>;
  /** The models declared onchain, kept in step with the ones this node can serve now. */
  declarations: ModelDeclarations;
}

/** What the batcher shares with the other loops of the node. */
export interface BatcherHooks {
  answersWaiting: Wakeup;
  caughtUp(): boolean;
  /** The time the next block will have, as the node reckons it (a quiet chain makes no blocks). */
  nextBlockTime(): bigint;
  expireNearDeadline(): Promise<void>;
  recordError(kind: string, error: unknown): void;
  /** The loop of that kind works again. */
  recovered(kind: string): void;
  isFatal(error: unknown): boolean;
}

const BACKOFF_MS = 1_000;

export class Batcher {
  readonly #context: NodeContext;
  readonly #parts: BatcherParts;
  readonly #hooks: BatcherHooks;
  /** When each answered job was first seen, for the max-wait rule. */
  readonly #answeredAt = new Map<bigint, number>();
  readonly #reportedUnaffordable = new Set<bigint>();
  readonly #pendingProver: PendingProver;
  #aboveFeeCap = false;
  #queueFull = false;

  constructor(context: NodeContext, parts: BatcherParts, hooks: BatcherHooks) {
    this.#context = context;
    this.#parts = parts;
    this.#hooks = hooks;
    this.#pendingProver = new PendingProver(context, parts.prover, () => hooks.answersWaiting.notify());
  }

  /** Runs until shutdown; throws only a fatal error. */
  async run(): Promise<void> {
    const { shutdown } = this.#context;
    while (!shutdown.aborted) {
      try {
        const waitMs = await this.#batchOnce();
        this.#hooks.recovered("batcher");
        if (waitMs > 0) await this.#hooks.answersWaiting.wait(waitMs, shutdown);
      } catch (error) {
        if (this.#hooks.isFatal(error)) throw error;
        this.#hooks.recordError("batcher", error);
        await sleep(BACKOFF_MS, shutdown);
      }
    }
  }

  /** Sends one transaction if one is due; returns how long to wait before looking again. */
  async #batchOnce(): Promise<number> {
    const { store, listener, submitter } = this.#parts;
    const { config, metrics } = this.#context;
    if (!this.#hooks.caughtUp()) return config.chain.pollIntervalMs;
    // A transaction left submitted (a restart, an RPC outage) is settled before anything new is sent.
    const unsettled = (await store.batchesIn("submitted"))[0];
    if (unsettled) {
      await this.#settle(unsettled, await submitter.resume(unsettled.id));
      return 0;
    }
    await this.#hooks.expireNearDeadline();
    const log = listener.log;
    metrics.pendingLeaves.set(log.pending.length);
    // Withdrawing a model it cannot serve first: until then it may be drawn for requests it leaves late.
    const declaration = await this.#parts.declarations.next();
    if (declaration) {
      await this.#sendDeclaration(declaration);
      return 0;
    }
    // An equivocation report next: it takes a cheating operator out of the set.
    const report = await nextReportStep(store, submitter.address, listener.contracts);
    if (report) {
      await this.#sendReport(report);
      return 0;
    }
    // A finished proof goes first: it frees room in the queue and puts its results under a root.
    const proving = this.#pendingProver.next(log, this.#provingPolicy(), Date.now());
    if (proving.ready) {
      await this.#sendProof(proving.ready);
      return 0;
    }
    const deliveryWaitMs = await this.#deliverOnce(log);
    return Math.min(deliveryWaitMs, proving.waitMs);
  }

  #provingPolicy() {
    const { proving } = this.#context.config;
    return { ...proving, maxPending: Math.min(proving.maxPending, MAX_PENDING_LEAVES) };
  }

  /** Cuts a batch from the answered jobs and sends it, if one is due; returns how long to wait. */
  async #deliverOnce(log: LogMirror): Promise<number> {
    const { store } = this.#parts;
    const { config, logger } = this.#context;
    const room = this.#provingPolicy().maxPending - log.pending.length;
    if (room <= 0) {
      if (!this.#queueFull)
        logger.warn({ pending: log.pending.length }, "proof queue full: delivering again once proofs land");
      this.#queueFull = true;
      return config.chain.pollIntervalMs;
    }
    this.#queueFull = false;
    const chainTime = this.#hooks.nextBlockTime();
    // Another operator's request is this node's to take over only once its window has passed (it may
    // have been taken over again meanwhile); until then it waits.
    const me = this.#parts.submitter.address.toLowerCase();
    const quorums = this.#parts.quorums;
    const ready = (await store.jobsIn("answered")).filter((job) =>
      job.commitment.operator.toLowerCase() === me
        ? (quorums.get(job.commitment.modelId) ?? 1) <= 1 || job.cosignatures !== undefined
        : job.commitment.exclusiveUntil < chainTime,
    );
    if (ready.length === 0) return config.chain.pollIntervalMs;
    // One transaction goes to one coordinator version: the oldest version's requests first, so a
    // retired version finishes its own after an upgrade.
    const contracts = this.#parts.listener.contracts;
    const coordinatorOf = (job: Job) => coordinatorOfRequest(contracts, job.requestId);
    const oldest = ready.reduce((a, b) => (a.requestId < b.requestId ? a : b));
    const coordinator = coordinatorOf(oldest);
    const answered = ready.filter((job) => coordinatorOf(job) === coordinator);
    // All of them: requests waiting for a lower gas price must not hide affordable ones behind them.
    const limits = await this.#chainLimits(coordinator);
    const now = Date.now();
    for (const job of answered)
      if (!this.#answeredAt.has(job.requestId)) this.#answeredAt.set(job.requestId, now);
    // A proof may only end where a delivery ended: deliveries that fill up the queue's proof-sized
    // chunks let every proof be a full one.
    const chunk = config.proving.batchSize;
    const toChunkEnd = chunk - (log.pending.length % chunk);
    const choice = selectBatch(
      answered,
      (job) => this.#answeredAt.get(job.requestId) ?? now,
      { ...config.batching, maxSize: Math.min(config.batching.maxSize, room, toChunkEnd) },
      now,
      limits,
    );
    if (choice === undefined) return config.chain.pollIntervalMs;
    this.#reportUnaffordable(choice.unaffordable);
    if ("waitMs" in choice) return choice.waitMs;
    const jobs = choice.jobs;
    for (const job of jobs) {
      this.#answeredAt.delete(job.requestId);
      this.#reportedUnaffordable.delete(job.requestId);
    }
    // A full batch with its proof in one transaction is the cheapest, but its proof holds everything
    // behind it: only when nothing else waits (no backlog, nothing pending). A burst is delivered at
    // once instead and proven in the background.
    const fulfilFrom = config.proving.fulfilWithProofFrom;
    const backlog = answered.length - jobs.length - choice.unaffordable.length;
    if (fulfilFrom > 0 && jobs.length >= fulfilFrom && log.pending.length === 0 && backlog === 0)
      return this.#fulfil(coordinator, jobs, log);
    // Only a request's assigned operator may deliver it without a proof: take over the others first.
    const others = jobs.filter((job) => job.commitment.operator.toLowerCase() !== me);
    if (others.length > 0) return this.#reassign(coordinator, others);
    return this.#deliver(coordinator, jobs, log);
  }

  /**
   * Takes over requests whose assigned operator let its window pass; once the listener has read the
   * new commitments, they are delivered like this node's own.
   */
  async #reassign(coordinator: Address, jobs: Job[]): Promise<number> {
    const batch = await this.#batchWithoutResults();
    const commitments = jobs.map((job) => job.commitment);
    await this.#submitAndSettle(
      batch,
      coordinator,
      reassignData(commitments),
      reassignGasLimit(jobs.length),
      "reassigned",
    );
    return 0;
  }

  /** Sends `jobs` without a proof: their leaves join the log's queue, proven later. */
  async #deliver(coordinator: Address, jobs: Job[], log: LogMirror): Promise<number> {
    const { store } = this.#parts;
    const batch = await store.createBatch({
      requestIds: jobs.map((job) => job.requestId),
      oldRoot: log.tree.root,
      newRoot: log.tree.root,
      startIndex: log.delivered,
      batchSize: 0,
    });
    await this.#submitAndSettle(
      batch,
      coordinator,
      deliverData(fulfillmentsOf(jobs)),
      deliverGasLimit(jobs),
      "delivered",
    );
    this.#context.crashAt("after-delivery");
    return 0;
  }

  /** Proves `jobs` on top of the contract's root and sends them with their proof in one transaction. */
  async #fulfil(coordinator: Address, jobs: Job[], log: LogMirror): Promise<number> {
    const { client, prover, store, submitter, listener } = this.#parts;
    const { config, metrics, logger } = this.#context;
    // Prove only on top of the log's current root with nothing queued; otherwise wait for the
    // listener to catch up (another operator's delivery or proof landed).
    const resultLog = { address: listener.contracts.log, abi: sibylLogAbi } as const;
    const [root, [proven, delivered]] = await Promise.all([
      client.readContract({ ...resultLog, functionName: "root" }),
      client.readContract({ ...resultLog, functionName: "pendingLog" }),
    ]);
    if (root !== log.tree.root || proven !== delivered) return config.chain.pollIntervalMs;

    const witness = batchWitness(jobs, log.tree, submitter.address);
    const batch = await store.createBatch({
      requestIds: jobs.map((job) => job.requestId),
      oldRoot: witness.oldRoot,
      newRoot: witness.newRoot,
      startIndex: witness.startIndex,
      batchSize: witness.leaves.length,
    });
    let proof: Awaited<ReturnType<BatchProver["prove"]>>;
    try {
      const proving = prover.prove(witness);
      this.#context.crashAt("during-proving");
      proof = await proving;
    } catch (error) {
      await store.abandonBatch(batch.id);
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
    await this.#submitAndSettle(
      batch,
      coordinator,
      fulfillData(fulfillArgs(jobs, proof)),
      fulfilGasLimit(jobs, witness.leaves.length),
      "fulfilled",
    );
    return 0;
  }

  /** A batch record for a transaction that carries no results (a takeover, a report step). */
  #batchWithoutResults(): Promise<Batch> {
    return this.#parts.store.createBatch({
      requestIds: [],
      oldRoot: 0n,
      newRoot: 0n,
      startIndex: 0n,
      batchSize: 0,
    });
  }

  /** Declares or withdraws one model onchain. */
  async #sendDeclaration(step: DeclarationStep): Promise<void> {
    const batch = await this.#batchWithoutResults();
    const label = step.declare ? "model declared" : "model withdrawn";
    const outcome = await this.#submitAndSettle(batch, step.to, step.data, step.gas, label);
    if (outcome === "mined" || outcome === "rejected")
      this.#parts.declarations.settled(step, outcome === "mined");
  }

  /** Sends one step of an equivocation report; a refused one is given up (slashed by someone else). */
  async #sendReport(report: ReportStep): Promise<void> {
    const { store } = this.#parts;
    const batch = await this.#batchWithoutResults();
    const outcome = await this.#submitAndSettle(
      batch,
      report.to,
      report.data,
      report.gas,
      `${report.step} of an equivocation report`,
    );
    // Dropped or parked: sent again on the next look.
    if (outcome === "mined" || outcome === "rejected")
      await settleReportStep(store, report, outcome === "mined");
  }

  /** Sends a finished proof of the queue's first results; anyone's, so others may have been first. */
  async #sendProof(ready: ReadyProof): Promise<void> {
    const { store } = this.#parts;
    const { metrics, logger } = this.#context;
    const { witness, proof, leaves } = ready;
    metrics.proofSeconds.observe(
      { batch_size: String(proof.batchSize) },
      (proof.witnessMs + proof.proveMs) / 1000,
    );
    logger.info(
      {
        firstSequence: String(ready.firstSequence),
        results: leaves.length,
        batchSize: proof.batchSize,
        proveMs: Math.round(proof.proveMs),
      },
      "pending results proved",
    );
    const batch = await store.createBatch({
      requestIds: [],
      oldRoot: witness.oldRoot,
      newRoot: witness.newRoot,
      startIndex: witness.startIndex,
      batchSize: witness.leaves.length,
    });
    await this.#submitAndSettle(
      batch,
      this.#parts.listener.contracts.log,
      proveData(leaves, witness.newRoot, toProofWords(proof.proof)),
      proveGasLimit(leaves.length, witness.leaves.length),
      "proven",
    );
  }

  async #submitAndSettle(
    batch: Batch,
    to: Address,
    data: Hex,
    gas: bigint,
    done: string,
  ): Promise<SubmitOutcome["kind"]> {
    const { store, submitter } = this.#parts;
    let outcome: SubmitOutcome;
    try {
      outcome = await submitter.submit(batch.id, to, data, gas);
    } catch (error) {
      // Not yet signed: nothing can be out there, so the answers go back to be batched again.
      if ((await store.batch(batch.id))?.state === "proving") await store.abandonBatch(batch.id);
      throw error;
    }
    await this.#settle(batch, outcome, done);
    return outcome.kind;
  }

  /** Applies a submission's outcome to the batch and its jobs. */
  async #settle(batch: Batch, outcome: SubmitOutcome, done = "mined"): Promise<void> {
    const { store, listener } = this.#parts;
    const { metrics, logger, shutdown, config } = this.#context;
    switch (outcome.kind) {
      case "mined": {
        this.#context.crashAt("after-receipt");
        await store.markBatchMined(batch.id);
        metrics.submittedBatches.inc({ outcome: "success" });
        metrics.batchSize.observe(batch.requestIds.length);
        logger.info(
          {
            batchId: batch.id,
            results: batch.requestIds.length,
            tx: outcome.receipt.transactionHash,
            block: String(outcome.receipt.blockNumber),
            gasUsed: String(outcome.receipt.gasUsed),
          },
          `batch ${done}`,
        );
        // The next batch builds on this one's root, which the listener must read first, unless the chain
        // dropped that block meanwhile (a rewind: evm_revert, a reorg onto a shorter fork).
        const rewinds = listener.rewinds;
        while (
          !shutdown.aborted &&
          listener.rewinds === rewinds &&
          listener.lastBlock < outcome.receipt.blockNumber
        ) {
          await sleep(Math.min(config.chain.pollIntervalMs, 50), shutdown);
        }
        return;
      }
      case "rejected": {
        metrics.submittedBatches.inc({ outcome: "reverted" });
        if (batch.requestIds.length === 0) {
          // A proof or a takeover: another operator was first, or the queue moved; the next look
          // sees the chain as it is now and does what is left.
          logger.info({ batchId: batch.id, error: outcome.rejection.errorName }, `not ${done} any more`);
          await store.abandonBatch(batch.id);
          return;
        }
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
        await store.abandonBatch(batch.id, rejectionOutcomes(outcome.rejection, batch));
        await endRepeatedFailures(batch, store, this.#context);
        return;
      }
      case "dropped":
        logger.warn({ batchId: batch.id }, "batch transaction dropped: re-batching");
        await store.abandonBatch(batch.id);
        return;
      case "parked":
        return;
    }
  }

  /**
   * The gas one fulfil may use (EIP-7825's cap, or the block's limit if lower), and which jobs pay for
   * their gas at the going price by the coordinator's own escrow terms. Nothing pays while the base fee
   * is above `submission.maxFeePerGas`: a fulfil could not be mined.
   */
  async #chainLimits(coordinator: Address): Promise<ChainLimits> {
    const { client, submitter, modelFees } = this.#parts;
    const [block, terms] = await Promise.all([
      client.getBlock({ blockTag: "latest" }),
      client.readContract({
        address: coordinator,
        abi: sibylCoordinatorAbi,
        functionName: "feeParameters",
      }),
    ]);
    const maxGas = block.gasLimit < TRANSACTION_GAS_CAP ? block.gasLimit : TRANSACTION_GAS_CAP;
    const gasPrice = await submitter.gasPriceAt(block.baseFeePerGas ?? 0n);
    if (gasPrice === undefined) {
      if (!this.#aboveFeeCap) {
        this.#context.logger.warn(
          {
            baseFee: String(block.baseFeePerGas),
            maxFeePerGas: String(this.#context.config.submission.maxFeePerGas),
          },
          "base fee above submission.maxFeePerGas: nothing is delivered until it falls",
        );
      }
      this.#aboveFeeCap = true;
      return { maxGas, affordable: () => false };
    }
    this.#aboveFeeCap = false;
    const baseFee = block.baseFeePerGas ?? 0n;
    const tipCap = baseFee + terms.maxPriorityFeePerGas;
    const takeoverPrice = gasPrice < tipCap ? gasPrice : tipCap;
    const me = submitter.address.toLowerCase();
    const chainTime = this.#hooks.nextBlockTime();
    return {
      maxGas,
      // Its own request, inside its window, is served if it pays half today's base fee, the rest and
      // the tip from the operator's pocket: request() took it at the base fee of its block, and one left
      // waiting could be taken over once the fee falls back, costing the penalty. Only a base fee that
      // more than doubled within the window (six full blocks on L1, costly to cause) excuses it.
      // Taking others' over is a choice, made only when their escrow pays the whole price.
      affordable: (job: Job) => {
        const own =
          job.commitment.operator.toLowerCase() === me && job.commitment.exclusiveUntil >= chainTime;
        const modelFee = modelFees.get(job.commitment.modelId) ?? 0n;
        return affordable(job, own ? baseFee / 2n : takeoverPrice, terms, modelFee);
      },
    };
  }

  /** Jobs whose escrow does not pay for their gas at today's price wait; say so once per job. */
  #reportUnaffordable(jobs: readonly Job[]): void {
    this.#context.metrics.unaffordableJobs.set(jobs.length);
    const fresh = jobs.filter((job) => !this.#reportedUnaffordable.has(job.requestId));
    for (const job of fresh) this.#reportedUnaffordable.add(job.requestId);
    if (fresh.length > 0) {
      this.#context.logger.warn(
        { requestIds: fresh.map((job) => String(job.requestId)) },
        "waiting: escrow below the going gas price",
      );
    }
  }
}

function stringify(values: readonly unknown[]): string[] {
  return values.map(String);
}
