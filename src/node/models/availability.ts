/**
 * Which models this node serves right now. A call that fails through the operator's fault (a wrong or
 * revoked key, an exhausted quota, a model the server does not have, a server down past its retries:
 * see OPERATOR_FAULTS) is not answered onchain, where the requester would pay for it; it stops the
 * model on this node instead:
 * - its requests are no longer claimed: they wait in `received`, and another operator may serve them
 *   after the assignment window, or the requester cancels for a refund after the deadline;
 * - `/readyz` is unready with "model <name>: <fault>", a fixed text with no server words in it;
 * - `sibyl_model_unavailable{model}` is 1 and `sibyl_operator_faults_total{model,fault}` counts;
 * - one `warn` line when it stops (and when a probe fails with another fault), one `info` line when
 *   it resumes, each with the provider's detail on one line (redacted); failed probes with the same
 *   fault and every stack go to `debug` only, so an outage of hours is two lines, not one per probe.
 *
 * Recovery: a stopped model is probed with a real call (its next request, claimed alone) after a
 * pause of `probeAfterMs` (30 s by default) that doubles after each failed probe, up to
 * `maxProbeAfterMs` (10 min). The first call that ends without an operator fault (an answer, or an
 * error about the request, which shows the server and the account work) resumes the model. This
 * holds for authentication and quota faults too: an operator fixes those at the provider (a key
 * re-enabled, billing topped up) and expects the node to notice without a restart, and a probe every
 * ten minutes costs one rejected call. A restart serves every model again at once.
 *
 * A fault one request gets alone is that request's: an input the model always takes longer than
 * `timeoutMs` to answer looks, call by call, like a server that is down. So a probe passes over the
 * requests that failed since the stop (while others wait), and a request that gets an operator fault
 * for the third time with the model having answered other requests in between is answered after all
 * ("model timeout" for timeouts, else "model error") instead of stopping the model again. A wrong key
 * or a spent quota fails every request and never lets one through, so those are never answered.
 */
import type { Hex } from "viem";
import type { Logger } from "../observe/logger.js";
import type { Metrics } from "../observe/metrics.js";
import type { OperatorFault } from "./provider.js";

/** Operator faults, each after other requests of the model were answered, that make a fault the request's. */
export const ISOLATED_FAULT_STRIKES = 3;

/** Requests whose strikes are remembered; the oldest are forgotten past this (they expired meanwhile). */
const MAX_TRACKED_REQUESTS = 10_000;

export interface ProbePolicy {
  probeAfterMs: number;
  maxProbeAfterMs: number;
}

interface Stopped {
  fault: OperatorFault;
  /** When the model stopped, for the resume line. */
  since: number;
  /** The pause before the next probe; doubles after each failed one. */
  pauseMs: number;
  probeAt: number;
  /** A probe call is in flight: no other request of the model is claimed meanwhile. */
  probing: boolean;
  /** Requests that failed since the stop: a probe tries another one first. */
  failedSinceStop: Set<bigint>;
}

interface Strikes {
  count: number;
  /** The model's answered calls when this request last failed. */
  answeredAtLast: number;
}

export class ModelAvailability {
  readonly #names: ReadonlyMap<Hex, string>;
  readonly #policy: ProbePolicy;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #now: () => number;
  readonly #stopped = new Map<Hex, Stopped>();
  /** Calls each model answered (answers and errors about the request alike). */
  readonly #answered = new Map<Hex, number>();
  readonly #strikes = new Map<bigint, Strikes>();

  constructor(
    context: { logger: Logger; metrics: Metrics },
    names: ReadonlyMap<Hex, string>,
    policy: ProbePolicy,
    now: () => number = Date.now,
  ) {
    this.#names = names;
    this.#policy = policy;
    this.#logger = context.logger;
    this.#metrics = context.metrics;
    this.#now = now;
    for (const name of names.values()) this.#metrics.modelUnavailable.set({ model: name }, 0);
  }

  /** Models whose requests may be claimed freely. */
  serving(): Hex[] {
    return [...this.#names.keys()].filter((modelId) => !this.#stopped.has(modelId));
  }

  /**
   * The models to keep declared onchain: serving, or stopped for less than `graceMs` (a blip is not
   * worth withdrawing the model and declaring it again).
   */
  keepDeclared(graceMs: number): Hex[] {
    const now = this.#now();
    return [...this.#names.keys()].filter((modelId) => {
      const stopped = this.#stopped.get(modelId);
      return stopped === undefined || now - stopped.since < graceMs;
    });
  }

  /** Stopped models whose next probe is due and not yet in flight. */
  dueProbes(): Hex[] {
    const now = this.#now();
    return [...this.#stopped]
      .filter(([, stopped]) => !stopped.probing && stopped.probeAt <= now)
      .map(([modelId]) => modelId);
  }

  /** The requests a probe of `modelId` should pass over while it has others to try. */
  probeSkips(modelId: Hex): bigint[] {
    return [...(this.#stopped.get(modelId)?.failedSinceStop ?? [])];
  }

  /** A request of the stopped model was claimed as its probe. */
  probeStarted(modelId: Hex): void {
    const stopped = this.#stopped.get(modelId);
    if (stopped) stopped.probing = true;
  }

  /** A call ended without an operator fault: the model works, and serves again if it was stopped. */
  succeeded(modelId: Hex, requestId: bigint): void {
    this.#answered.set(modelId, (this.#answered.get(modelId) ?? 0) + 1);
    this.#strikes.delete(requestId);
    const stopped = this.#stopped.get(modelId);
    if (!stopped) return;
    this.#stopped.delete(modelId);
    const model = this.#name(modelId);
    this.#metrics.modelUnavailable.set({ model }, 0);
    this.#logger.info(
      { model, fault: stopped.fault, downForMs: this.#now() - stopped.since },
      `model ${model} resumed`,
    );
  }

  /**
   * A call for `requestId` failed through the operator's fault. "isolated": the request failed alone
   * often enough to be answered as its own error, and the model serves on. Otherwise "stopped": the
   * first fault stops the model; a failed probe doubles the pause; calls that were already running
   * when it stopped change nothing but the count.
   */
  failed(
    modelId: Hex,
    requestId: bigint,
    fault: OperatorFault,
    error: unknown,
    probe: boolean,
  ): "isolated" | "stopped" {
    const model = this.#name(modelId);
    if (this.#strike(modelId, requestId) >= ISOLATED_FAULT_STRIKES) {
      this.#strikes.delete(requestId);
      this.#logger.warn(
        { model, fault, requestId: String(requestId), reason: oneLine(error) },
        `request ${requestId} fails alone on model ${model}: answered as an error`,
      );
      this.#logger.debug({ model, requestId: String(requestId), err: error }, "isolated fault");
      return "isolated";
    }
    this.#metrics.operatorFaults.inc({ model, fault });
    const stopped = this.#stopped.get(modelId);
    const now = this.#now();
    stopped?.failedSinceStop.add(requestId);
    if (stopped === undefined) {
      const pauseMs = this.#policy.probeAfterMs;
      const failedSinceStop = new Set([requestId]);
      this.#stopped.set(modelId, {
        fault,
        since: now,
        pauseMs,
        probeAt: now + pauseMs,
        probing: false,
        failedSinceStop,
      });
      this.#metrics.modelUnavailable.set({ model }, 1);
      this.#logger.warn(
        { model, fault, reason: oneLine(error), probeInMs: pauseMs },
        `model ${model} stopped: ${fault}; its requests are left unanswered until it works again`,
      );
      this.#logger.debug({ model, err: error }, `model ${model} stopped`);
      return "stopped";
    }
    if (!probe) return "stopped";
    const pauseMs = Math.min(stopped.pauseMs * 2, this.#policy.maxProbeAfterMs);
    const previousFault = stopped.fault;
    Object.assign(stopped, { fault, pauseMs, probeAt: now + pauseMs, probing: false });
    // A different fault is a new state worth a line (a server back up but refusing the key).
    if (fault !== previousFault) {
      this.#logger.warn(
        { model, fault, reason: oneLine(error), probeInMs: pauseMs },
        `model ${model} still stopped, now: ${fault}`,
      );
    }
    this.#logger.debug({ model, fault, err: error, probeInMs: pauseMs }, `model ${model} still stopped`);
    return "stopped";
  }

  /** Counts a fault of `requestId` as a strike if the model answered other calls since its last one. */
  #strike(modelId: Hex, requestId: bigint): number {
    const answered = this.#answered.get(modelId) ?? 0;
    const previous = this.#strikes.get(requestId);
    const count = previous === undefined ? 1 : previous.count + (answered > previous.answeredAtLast ? 1 : 0);
    this.#strikes.delete(requestId);
    this.#strikes.set(requestId, { count, answeredAtLast: answered });
    if (this.#strikes.size > MAX_TRACKED_REQUESTS) {
      const [oldest] = this.#strikes.keys();
      if (oldest !== undefined) this.#strikes.delete(oldest);
    }
    return count;
  }

  /** The probe ended some other way (shutdown, a store error): the next one may start at once. */
  probeEnded(modelId: Hex): void {
    const stopped = this.#stopped.get(modelId);
    if (stopped) stopped.probing = false;
  }

  /** The readiness check: every stopped model by name and fixed fault text. */
  check(): { ok: boolean; detail: string } {
    if (this.#stopped.size === 0) return { ok: true, detail: `serving ${this.#names.size} models` };
    const stopped = [...this.#stopped].map(
      ([modelId, { fault }]) => `model ${this.#name(modelId)}: ${fault}`,
    );
    return { ok: false, detail: stopped.join("; ") };
  }

  #name(modelId: Hex): string {
    return this.#names.get(modelId) ?? modelId;
  }
}

/** The first line of what went wrong, deepest detail first: a log line at warn carries no stack. */
function oneLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error).split("\n")[0] ?? "";
  const { details, shortMessage } = error as { details?: unknown; shortMessage?: unknown };
  const text =
    typeof details === "string" ? details : typeof shortMessage === "string" ? shortMessage : error.message;
  return text.split("\n")[0] ?? "";
}
