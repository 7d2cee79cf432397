/**
 * Which replica of an operator leads: the one holding the store's lease (see JobStore.tryLead). A
 * standby asks for the lease every fifth of its length; the leader renews it as often, and stands
 * down by itself once a renewal has not succeeded for the lease's length minus a fifth, so it stops
 * before the database lets another take over. The store fences every write by the lease's epoch
 * besides, so a leader that missed that moment still cannot record (and so cannot send) anything.
 */

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { SibylError } from "../shared/errors.js";
import { sleep } from "./chain/submitter.js";
import type { Logger } from "./observe/logger.js";
import type { Metrics } from "./observe/metrics.js";
import type { JobStore } from "./store/store.js";

export type Role = "leader" | "standby";

export class LeadershipLostError extends SibylError {
  override name = "LeadershipLostError";
}

export interface LeadershipOptions {
  store: JobStore;
  /** Lease length; undefined for a store that has one node (SQLite): it leads from the start, for good. */
  leaseMs: number | undefined;
  logger: Logger;
  metrics: Metrics;
}

export class Leadership {
  /** Unique per process: a restarted replica is a new holder and takes over like any other. */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  readonly #options: LeadershipOptions;
  #role: Role = "standby";
  #since = Date.now();
  #epoch: number | undefined;

  constructor(options: LeadershipOptions) {
    this.#options = options;
    this.#report();
  }

  get role(): Role {
    return this.#role;
  }

  /** Wall-clock ms since which this replica has had its role. */
  get since(): number {
    return this.#since;
  }

  /** Takes the lead if it is free now; true when this replica leads. */
  async tryNow(): Promise<boolean> {
    const epoch = await this.#options.store.tryLead(this.holder, this.#options.leaseMs ?? 0);
    if (epoch === undefined) return false;
    this.#epoch = epoch;
    this.#role = "leader";
    this.#since = Date.now();
    this.#report();
    this.#options.logger.info({ holder: this.holder, epoch }, "leading");
    return true;
  }

  /** Waits until this replica leads; false when `signal` stopped it first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    const { leaseMs, logger } = this.#options;
    while (!signal.aborted) {
      try {
        if (await this.tryNow()) return true;
      } catch (error) {
        logger.warn({ err: error }, "standby: cannot reach the store to ask for the lead");
      }
      await sleep((leaseMs ?? 1_000) / 5, signal);
    }
    return false;
  }

  /**
   * Renews the lease until `signal`; resolves with the reason this replica must stop leading, if it
   * must, at the latest a fifth of the lease before the lease can expire in the database.
   */
  async hold(signal: AbortSignal): Promise<LeadershipLostError | undefined> {
    const { leaseMs, store, logger } = this.#options;
    if (leaseMs === undefined) {
      if (!signal.aborted)
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      return undefined;
    }
    const renewEveryMs = leaseMs / 5;
    let validUntil = Date.now() + leaseMs - renewEveryMs;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const epoch = await withTimeout(store.tryLead(this.holder, leaseMs), renewEveryMs);
        if (epoch !== this.#epoch) {
          return new LeadershipLostError(
            `another replica leads now (epoch ${epoch ?? "?"}, this one ${this.#epoch})`,
          );
        }
        validUntil = started + leaseMs - renewEveryMs;
      } catch (error) {
        logger.warn({ err: error }, "cannot renew the leader's lease");
      }
      if (Date.now() >= validUntil) {
        return new LeadershipLostError(
          "the leader's lease could not be renewed in time (the store is unreachable)",
        );
      }
      await sleep(Math.min(renewEveryMs, Math.max(0, validUntil - Date.now())), signal);
    }
    return undefined;
  }

  /** At a clean stop: hands the lease over at once instead of at its expiry. */
  async resign(): Promise<void> {
    if (this.#role === "leader") await this.#options.store.resign(this.holder);
  }

  #report(): void {
    this.#options.metrics.leader.set(this.#role === "leader" ? 1 : 0);
    this.#options.metrics.roleSince.set(Math.floor(this.#since / 1000));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SibylError(`no answer from the store within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}
