/** Turns an append witness into the BatchAppend circuit input, checking its shape first. */
import { BATCH_SIZES, type BatchSize, TREE_DEPTH } from "../../shared/encoding.js";
import type { AppendWitness } from "../../shared/merkle.js";
import { InvalidWitnessError } from "./errors.js";

export type CircuitInput = Record<string, string | string[]>;

export function batchSizeOf(witness: AppendWitness): BatchSize {
  const size = BATCH_SIZES.find((candidate) => candidate === witness.leaves.length);
  if (size === undefined) {
    throw new InvalidWitnessError(
      `no circuit for ${witness.leaves.length} leaves; batch sizes are ${BATCH_SIZES.join(", ")}`,
    );
  }
  return size;
}

export function circuitInput(witness: AppendWitness): CircuitInput {
  const batchSize = batchSizeOf(witness);
  const pathLevels = TREE_DEPTH - Math.log2(batchSize);
  if (witness.siblings.length !== pathLevels) {
    throw new InvalidWitnessError(
      `batch of ${batchSize} needs ${pathLevels} siblings, got ${witness.siblings.length}`,
    );
  }
  return {
    oldRoot: witness.oldRoot.toString(),
    newRoot: witness.newRoot.toString(),
    startIndex: witness.startIndex.toString(),
    leaves: witness.leaves.map(String),
    siblings: witness.siblings.map(String),
  };
}
