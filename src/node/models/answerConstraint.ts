/**
 * A constrained answer: what lets operators of a model that is not reproducible (a hosted server
 * answering in its own words) still agree on the same output bytes. Each operator calls the model
 * itself and normalizes the answer into one canonical form; answers that differ only in wording
 * ("Yes." and "yes") become the same bytes, and an answer outside the constraint is never guessed at.
 *
 * The constraint is part of the model's settings, so it is pinned in the onchain configHash and every
 * operator of the model normalizes the same way.
 */
import { z } from "zod";
import { canonicalJson } from "./configHash.js";
import { checkJsonSchema, type JsonSchema, normalizeJsonAnswer } from "./jsonAnswer.js";
import { checkNumberConstraint, normalizeNumberAnswer } from "./numberAnswer.js";

export type NormalizedAnswer = { ok: true; output: string } | { ok: false; reason: string };

const labelsConstraint = z
  .object({ kind: z.literal("labels"), labels: z.array(z.string()).min(1, "list at least one label") })
  .strict();

const yesNoConstraint = z.object({ kind: z.literal("yes-no") }).strict();

const numberConstraint = z
  .object({
    kind: z.literal("number"),
    min: z.number().finite(),
    max: z.number().finite(),
    decimals: z.number().int().min(0).max(18),
  })
  .strict();

/**
 * Taken as it is written, not copied: a copy made by assignment would turn a property named
 * `__proto__` into the copy's prototype. checkJsonSchema below decides what it may hold.
 */
const jsonSchemaValue = z.custom<JsonSchema>(
  (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  "a JSON schema object",
);

const jsonConstraint = z.object({ kind: z.literal("json"), schema: jsonSchemaValue }).strict();

/**
 * The constraint is part of the settings, and so of every result's metadata, which the coordinator
 * caps at 1024 bytes (MAX_METADATA_BYTES) next to the model name, version, other settings and usage.
 */
export const MAX_CONSTRAINT_BYTES = 512;

export const answerConstraintSchema = z
  .discriminatedUnion("kind", [labelsConstraint, yesNoConstraint, numberConstraint, jsonConstraint])
  .superRefine((constraint, ctx) => {
    const problems = constraintProblems(constraint);
    for (const { path, message } of problems) ctx.addIssue({ code: "custom", path, message });
    if (problems.length > 0) return;
    let canonical: string;
    try {
      canonical = canonicalJson(constraint);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `the constraint must be plain JSON data (${error})` });
      return;
    }
    const bytes = new TextEncoder().encode(canonical).length;
    if (bytes > MAX_CONSTRAINT_BYTES) {
      ctx.addIssue({
        code: "custom",
        message: `the constraint is ${bytes} bytes as canonical JSON, over ${MAX_CONSTRAINT_BYTES}: it is recorded in every result's metadata, which the coordinator caps at 1024 bytes`,
      });
    }
  });

export type AnswerConstraint = z.infer<typeof answerConstraintSchema>;

/** A problem with a constraint, at a path relative to the constraint object. */
export interface ConstraintProblem {
  path: (string | number)[];
  message: string;
}

/** The answer in the constraint's canonical form, or why it does not fit. Never throws. */
export function normalizeAnswer(constraint: AnswerConstraint, text: string): NormalizedAnswer {
  switch (constraint.kind) {
    case "labels":
      return normalizeLabel(constraint.labels, text);
    case "yes-no":
      return normalizeYesNo(text);
    case "number":
      return normalizeNumberAnswer(constraint, text);
    case "json":
      return normalizeJsonAnswer(constraint.schema, text);
  }
}

/**
 * Sentence punctuation a model adds after a one-word answer ("Positive.", "Yes!"), in ASCII and its
 * common full-width and ellipsis forms. Only trailing: leading characters are part of the answer.
 */
const TRAILING_PUNCTUATION = new Set([...".,;:!?…。，；：！？"]);

/**
 * What two wordings of one short answer have in common: NFC, surrounding whitespace and trailing
 * punctuation gone, lower case. Scanned by hand rather than with a regex so a long run of spaces
 * costs linear time.
 */
export function answerKey(text: string): string {
  const trimmed = text.normalize("NFC").trim();
  let end = trimmed.length;
  while (end > 0 && (TRAILING_PUNCTUATION.has(trimmed.charAt(end - 1)) || /\s/.test(trimmed.charAt(end - 1))))
    end--;
  return trimmed.slice(0, end).toLowerCase();
}

function constraintProblems(constraint: AnswerConstraint): ConstraintProblem[] {
  switch (constraint.kind) {
    case "labels":
      return labelProblems(constraint.labels);
    case "yes-no":
      return [];
    case "number":
      return checkNumberConstraint(constraint);
    case "json":
      return checkJsonSchema(constraint.schema, ["schema"]);
  }
}

function labelProblems(labels: readonly string[]): ConstraintProblem[] {
  const problems: ConstraintProblem[] = [];
  const seen = new Map<string, number>();
  for (const [index, label] of labels.entries()) {
    const key = answerKey(label);
    const earlier = seen.get(key);
    if (key === "") {
      problems.push({
        path: ["labels", index],
        message: `label ${JSON.stringify(label)} is empty once whitespace and trailing punctuation are dropped`,
      });
    } else if (earlier !== undefined) {
      problems.push({
        path: ["labels", index],
        message: `label ${JSON.stringify(label)} matches label ${earlier} (${JSON.stringify(labels[earlier])}): labels are matched ignoring case, surrounding whitespace and trailing punctuation`,
      });
    } else {
      seen.set(key, index);
    }
  }
  return problems;
}

function normalizeLabel(labels: readonly string[], text: string): NormalizedAnswer {
  const key = answerKey(text);
  const label = labels.find((candidate) => answerKey(candidate) === key);
  return label === undefined
    ? { ok: false, reason: "the answer is not one of the labels" }
    : { ok: true, output: label };
}

const YES_NO: Readonly<Record<string, "yes" | "no">> = {
  yes: "yes",
  y: "yes",
  true: "yes",
  no: "no",
  n: "no",
  false: "no",
};

function normalizeYesNo(text: string): NormalizedAnswer {
  const key = answerKey(text);
  const output = Object.hasOwn(YES_NO, key) ? YES_NO[key] : undefined;
  return output === undefined ? { ok: false, reason: "the answer is not yes or no" } : { ok: true, output };
}
