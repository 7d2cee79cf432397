/**
 * Which of the node's loops are failing, for /readyz: each loop's latest failure by a fixed category
 * (never error text: it is served), cleared by that loop's next success.
 */
import { TreeMismatchError } from "../chain/logMirror.js";
import type { NodeContext } from "../context.js";
import { errorCategory } from "../observe/errorCategory.js";
import { FencedError } from "../store/postgres/pgWriter.js";

export class LoopFailures {
  readonly #context: NodeContext;
  readonly #failing = new Map<string, string>();

  constructor(context: NodeContext) {
    this.#context = context;
  }

  record(kind: string, error: unknown): void {
    this.#failing.set(kind, errorCategory(error));
    this.#context.metrics.errors.inc({ kind });
    this.#context.logger.error({ err: error }, `${kind} error`);
  }

  recovered(kind: string): void {
    this.#failing.delete(kind);
  }

  check(): { ok: boolean; detail?: string } {
    if (this.#failing.size === 0) return { ok: true };
    const detail = [...this.#failing].map(([kind, category]) => `${kind}: ${category}`).join("; ");
    return { ok: false, detail };
  }
}

/** An error no loop may retry: the node must stop. */
export function isFatal(error: unknown): boolean {
  // Fenced: another replica leads now; this one must stop at once, not retry.
  return error instanceof TreeMismatchError || error instanceof FencedError;
}
