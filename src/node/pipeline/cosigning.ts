/**
 * The co-signing loop: each answered result of a quorum model that this node is to deliver waits here
 * until q − 1 other operators have signed the same answer. One that cannot get them is answered
 * NoConsensus (no output, no signatures, no model fee) before its exclusive window ends, so every request
 * still ends and the assignee is never late for what its peers refused: at `noConsensusMarginSeconds`
 * before the window's end, and never before halfway through it, when the coordinator first accepts a
 * NoConsensus without evidence. Unless a quorum of peers signed one other answer: then this node's is
 * the odd one out (its model misbehaves), and it leaves the request to them to take over, at the cost
 * of its liveness penalty, rather than deny the requester the answer they agree on.
 */
import type { Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import { ResultStatus } from "../../shared/encoding.js";
import type { NodeContext } from "../context.js";
import type { CosignatureCollector } from "../cosign/collector.js";
import { answerKey } from "../cosign/peerServer.js";
import { packSignatures, type StatementDomain, signStatement, statementOf } from "../cosign/statement.js";
import type { Job, JobStore } from "../store/store.js";
import type { Wakeup } from "./wakeup.js";

export interface CosigningParts {
  store: JobStore;
  collector: CosignatureCollector;
  account: LocalAccount;
  domain: StatementDomain;
  quorums: ReadonlyMap<Hex, number>;
}

export interface CosigningHooks {
  /** Woken when a job was answered; notified when one is ready to deliver. */
  answersWaiting: Wakeup;
  cosignWaiting: Wakeup;
  nextBlockTime(): bigint;
  /** The ledger's exclusive window now, in seconds. */
  exclusiveWindow(): Promise<bigint>;
}

/** Results asked for at once. */
const CONCURRENCY = 8;

export class CosigningLoop {
  readonly #context: NodeContext;
  readonly #parts: CosigningParts;
  readonly #hooks: CosigningHooks;
  /** When a result short of signatures is asked for again (ms). */
  readonly #retryAt = new Map<bigint, number>();
  /** Requests left to the peers that agree on another answer. */
  readonly #yielded = new Set<bigint>();

  constructor(context: NodeContext, parts: CosigningParts, hooks: CosigningHooks) {
    this.#context = context;
    this.#parts = parts;
    this.#hooks = hooks;
  }

  /**
   * Each result is asked for on its own, up to CONCURRENCY at once: a round a peer holds open never
   * holds up another result's (it would make that one late).
   */
  async run(): Promise<void> {
    const { shutdown, config } = this.#context;
    const asking = new Map<bigint, Promise<void>>();
    let failure: unknown;
    while (!shutdown.aborted && failure === undefined) {
      const due = (await this.#due()).filter((job) => !asking.has(job.requestId));
      for (const job of due.slice(0, CONCURRENCY - asking.size)) {
        const ask = this.#cosign(job)
          .catch((error: unknown) => {
            failure ??= error;
          })
          .finally(() => {
            asking.delete(job.requestId);
            this.#hooks.cosignWaiting.notify();
          });
        asking.set(job.requestId, ask);
      }
      await this.#hooks.cosignWaiting.wait(config.cosigning.retryAfterMs, shutdown);
    }
    await Promise.allSettled(asking.values());
    if (failure !== undefined) throw failure;
  }

  async #due(): Promise<Job[]> {
    const me = this.#parts.account.address.toLowerCase();
    const now = Date.now();
    return (await this.#parts.store.jobsIn("answered")).filter(
      (job) =>
        job.commitment.operator.toLowerCase() === me &&
        (this.#parts.quorums.get(job.commitment.modelId) ?? 1) > 1 &&
        job.cosignatures === undefined &&
        !this.#yielded.has(job.requestId) &&
        (this.#retryAt.get(job.requestId) ?? 0) <= now,
    );
  }

  async #cosign(job: Job): Promise<void> {
    const { store, collector, account, domain, quorums } = this.#parts;
    const { config, logger } = this.#context;
    const result = job.result;
    if (result === undefined) return;
    const requestId = job.requestId;
    const quorum = quorums.get(job.commitment.modelId) ?? 1;
    if (collector.largestOtherAgreement(requestId) >= quorum) return this.#yieldToPeers(job, quorum);
    const secondsLeft = (await this.#noConsensusAt(job)) - this.#hooks.nextBlockTime();
    if (result.status === ResultStatus.NoConsensus || secondsLeft <= 0n) return this.#noConsensus(job);
    const needed = quorum - 1;
    const statement = statementOf(requestId, result);
    // Its own signature authenticates the ask; one answer per request, or it could be slashed.
    const verdict = await store.markSigned(requestId, answerKey(statement));
    if (verdict === "unknown" && !this.#retryAt.has(requestId))
      logger.warn(
        { requestId: String(requestId) },
        "not signing: the store is newer than the request, so an earlier signature cannot be ruled out",
      );
    if (verdict === "signed") {
      const signature = await signStatement(account, domain, statement);
      // A round ends by the NoConsensus time, whatever the peers do: a peer that holds it open (a 403
      // retried as "not read yet") must not make this node late.
      const cosignatures = await collector.collect(
        job.commitment.modelId,
        statement,
        signature,
        needed,
        Number(secondsLeft) * 1000,
      );
      if (cosignatures.length >= needed) {
        await store.recordCosignatures(requestId, packSignatures(cosignatures));
        this.#retryAt.delete(requestId);
        logger.debug(
          { requestId: String(requestId), signers: cosignatures.map((c) => c.signer) },
          "co-signed",
        );
        this.#hooks.answersWaiting.notify();
        return;
      }
      logger.debug(
        { requestId: String(requestId), got: cosignatures.length, needed },
        "short of co-signatures",
      );
    }
    this.#retryAt.set(requestId, Date.now() + config.cosigning.retryAfterMs);
  }

  /**
   * When a result still short of co-signatures is answered NoConsensus: `noConsensusMarginSeconds`
   * before its window ends (or before its deadline margin, if nearer), but not before the coordinator
   * takes one without evidence (halfway through the window, or one window before the deadline if
   * sooner; a second later, for the node's clock).
   */
  async #noConsensusAt(job: Job): Promise<bigint> {
    const { config } = this.#context;
    const { exclusiveUntil, deadline } = job.commitment;
    const window = await this.#hooks.exclusiveWindow();
    const halfway = exclusiveUntil - window / 2n;
    const provableFrom = (deadline - window < halfway ? deadline - window : halfway) + 1n;
    const margin = BigInt(config.cosigning.noConsensusMarginSeconds);
    const beforeWindowEnds = exclusiveUntil - margin;
    const beforeDeadline = deadline - BigInt(config.submission.deadlineMarginSeconds) - margin;
    const latest = beforeWindowEnds < beforeDeadline ? beforeWindowEnds : beforeDeadline;
    return latest > provableFrom ? latest : provableFrom;
  }

  /** Leaves the request to the peers that agree on another answer: they take it over after the window. */
  #yieldToPeers(job: Job, quorum: number): void {
    this.#yielded.add(job.requestId);
    this.#retryAt.delete(job.requestId);
    this.#context.logger.warn(
      { requestId: String(job.requestId), model: job.commitment.modelId, quorum },
      "a quorum of peers signed another answer: leaving the request to them (its takeover costs the liveness penalty)",
    );
  }

  /** Answers NoConsensus: no output, no signatures, no model fee; the request ends in time. */
  async #noConsensus(job: Job): Promise<void> {
    const { store } = this.#parts;
    const result = job.result;
    if (result === undefined) return;
    if (result.status !== ResultStatus.NoConsensus) {
      await store.reanswer(
        job.requestId,
        { ...result, status: ResultStatus.NoConsensus, output: "0x" },
        "no consensus",
      );
      this.#context.logger.warn(
        { requestId: String(job.requestId) },
        "no consensus: answered NoConsensus inside its window",
      );
    }
    await store.recordCosignatures(job.requestId, "0x");
    this.#retryAt.delete(job.requestId);
    this.#hooks.answersWaiting.notify();
  }
}
