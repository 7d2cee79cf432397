/**
 * Keeps the models this node has declared onchain in step with the ones it can serve now. A model
 * stopped on an operator fault (models/availability.ts) is withdrawn, so the ledger stops drawing this
 * operator for requests it cannot answer, and so stops making it late on them; it is declared again
 * once it works. The batcher sends each change, one transaction at a time, through the submitter.
 */
import type { Address, Hex, PublicClient } from "viem";
import { declareModelData, withdrawModelData } from "../chain/calls.js";
import { declaredModels } from "../chain/declarations.js";

export interface DeclarationStep {
  modelId: Hex;
  declare: boolean;
  to: Address;
  data: Hex;
  gas: bigint;
}

/** Generous bounds: a declaration or withdrawal writes a handful of slots. */
const DECLARE_GAS = 200_000n;
/** The onchain set is read again this often: another replica or the CLI may have changed it. */
const REFRESH_MS = 60_000;

export interface DeclarationParts {
  client: PublicClient;
  operator: Address;
  ledger: () => Address;
  /** Every model this node runs. */
  served: readonly Hex[];
  /** The ones to keep declared (not stopped on an operator fault for long). */
  serving: () => readonly Hex[];
}

export class ModelDeclarations {
  readonly #parts: DeclarationParts;
  #declared: { at: number; ids: Set<Hex> } | undefined;

  constructor(parts: DeclarationParts) {
    this.#parts = parts;
  }

  /** The next declaration or withdrawal due, if any. */
  async next(): Promise<DeclarationStep | undefined> {
    const { client, operator, ledger, served, serving } = this.#parts;
    if (this.#declared === undefined || Date.now() - this.#declared.at > REFRESH_MS)
      this.#declared = { at: Date.now(), ids: await declaredModels(client, ledger(), operator) };
    const declared = this.#declared.ids;
    const wanted = new Set(serving().map((id) => id.toLowerCase()));
    for (const modelId of served) {
      const want = wanted.has(modelId.toLowerCase());
      if (want === declared.has(modelId.toLowerCase() as Hex)) continue;
      const data = want ? declareModelData(modelId) : withdrawModelData(modelId);
      return { modelId, declare: want, to: ledger(), data, gas: DECLARE_GAS };
    }
    return undefined;
  }

  /** Records a mined step; a refused one makes the next look read the chain again. */
  settled(step: DeclarationStep, mined: boolean): void {
    if (!mined || this.#declared === undefined) {
      this.#declared = undefined;
      return;
    }
    const id = step.modelId.toLowerCase() as Hex;
    if (step.declare) this.#declared.ids.add(id);
    else this.#declared.ids.delete(id);
  }
}
