/**
 * JSON answers: the answer parsed as JSON (a whole-answer ```json fence is tolerated, models add it
 * unasked), checked against a small subset of JSON Schema, and written as canonical JSON (keys
 * sorted, no whitespace), so two answers that differ only in layout or key order are the same bytes.
 *
 * The subset: type, properties, required, additionalProperties (true or false), enum, items (one
 * schema for every element), minimum, maximum — with JSON Schema's meaning (a keyword about objects
 * says nothing about a string). Anything else in a schema is refused at config time, so a keyword the
 * node would silently ignore can never make an operator believe an answer is checked when it is not.
 *
 * Property names are looked up as own properties only: an answer key such as "__proto__" or
 * "toString" is a key like any other, never something inherited from Object.prototype.
 */
import type { ConstraintProblem, NormalizedAnswer } from "./answerConstraint.js";
import { canonicalJson } from "./configHash.js";

const JSON_TYPES = ["object", "array", "string", "number", "integer", "boolean", "null"] as const;
type JsonType = (typeof JSON_TYPES)[number];

export interface JsonSchema {
  readonly type?: JsonType | readonly JsonType[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean;
  readonly enum?: readonly unknown[];
  readonly items?: JsonSchema;
  readonly minimum?: number;
  readonly maximum?: number;
}

const KEYWORDS: readonly string[] = [
  "type",
  "properties",
  "required",
  "additionalProperties",
  "enum",
  "items",
  "minimum",
  "maximum",
] satisfies (keyof JsonSchema)[];

/** Answers nested deeper are refused: it bounds the work (and the recursion) one answer can cause. */
export const MAX_ANSWER_DEPTH = 64;

type Path = (string | number)[];

/** Every problem with a schema from the config, at its path; none means normalizeJsonAnswer may use it. */
export function checkJsonSchema(schema: unknown, path: Path): ConstraintProblem[] {
  if (!isJsonObject(schema)) return [{ path, message: "a schema must be a JSON object" }];
  const problems: ConstraintProblem[] = [];
  const at = (keyword: string, message: string, ...rest: Path) =>
    problems.push({ path: [...path, keyword, ...rest], message });
  for (const keyword of Object.keys(schema)) {
    if (!KEYWORDS.includes(keyword)) {
      at(keyword, `unsupported JSON Schema keyword "${keyword}" (supported: ${KEYWORDS.join(", ")})`);
    }
  }
  const has = (keyword: string) => Object.hasOwn(schema, keyword);
  if (has("type") && !isTypeList(schema.type)) {
    at("type", `type must be one of ${JSON_TYPES.join(", ")}, or a non-empty list of distinct ones`);
  }
  if (has("properties")) {
    if (!isJsonObject(schema.properties)) at("properties", "properties must be an object of schemas");
    else {
      for (const [name, property] of Object.entries(schema.properties)) {
        problems.push(...checkJsonSchema(property, [...path, "properties", name]));
      }
    }
  }
  if (has("required") && !isDistinctStrings(schema.required)) {
    at("required", "required must be a list of distinct property names");
  }
  if (has("additionalProperties") && typeof schema.additionalProperties !== "boolean") {
    at("additionalProperties", "additionalProperties must be true or false (schemas are not supported)");
  }
  if (has("enum")) problems.push(...enumProblems(schema.enum, [...path, "enum"]));
  if (has("items")) problems.push(...checkJsonSchema(schema.items, [...path, "items"]));
  for (const bound of ["minimum", "maximum"] as const) {
    if (has(bound) && !(typeof schema[bound] === "number" && Number.isFinite(schema[bound]))) {
      at(bound, `${bound} must be a number`);
    }
  }
  if (typeof schema.minimum === "number" && typeof schema.maximum === "number") {
    if (schema.minimum > schema.maximum) {
      at("maximum", `maximum ${schema.maximum} is below minimum ${schema.minimum}`);
    }
  }
  return problems;
}

export function normalizeJsonAnswer(schema: JsonSchema, text: string): NormalizedAnswer {
  const body = unfenced(text);
  if (body === undefined) return { ok: false, reason: "the answer has an unclosed code fence" };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, reason: "the answer is not JSON" };
  }
  const problem = plainDataProblem(value, "$", 0) ?? schemaProblem(value, schema, "$");
  if (problem !== undefined) return { ok: false, reason: problem };
  return { ok: true, output: canonicalJson(value) };
}

/** The answer without a code fence around all of it; undefined for a fence that is opened only. */
function unfenced(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith("```")) return trimmed;
  if (trimmed.length < 6 || !trimmed.endsWith("```")) return undefined;
  const inside = trimmed.slice(3, -3);
  // The fence's info string: none, or json. Any other language makes the body fail to parse.
  return (/^json(?![\w-])/i.test(inside) ? inside.slice(4) : inside).trim();
}

/** JSON.parse turns a number too large for a double into Infinity, which no JSON can carry back. */
function plainDataProblem(value: unknown, path: string, depth: number): string | undefined {
  if (depth >= MAX_ANSWER_DEPTH) return `${path} is nested deeper than ${MAX_ANSWER_DEPTH} levels`;
  if (typeof value === "number" && !Number.isFinite(value)) return `${path} is a number too large for JSON`;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = plainDataProblem(item, `${path}[${index}]`, depth + 1);
      if (problem !== undefined) return problem;
    }
  } else if (isJsonObject(value)) {
    // Paths name no answer key: the reason is logged, and the answer's own words stay out of logs.
    for (const member of Object.values(value)) {
      const problem = plainDataProblem(member, `${path}.*`, depth + 1);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}

/** The first way `value` breaks `schema`, naming only what the schema names (never answer text). */
function schemaProblem(value: unknown, schema: JsonSchema, path: string): string | undefined {
  if (schema.type !== undefined && !hasType(value, schema.type)) {
    return `${path} is not of type ${[schema.type].flat().join(" or ")}`;
  }
  if (schema.enum !== undefined) {
    const canonical = canonicalJson(value);
    if (!schema.enum.some((member) => canonicalJson(member) === canonical)) {
      return `${path} is not one of the schema's enum values`;
    }
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) {
      return `${path} is below the minimum ${schema.minimum}`;
    }
    if (schema.maximum !== undefined && value > schema.maximum) {
      return `${path} is above the maximum ${schema.maximum}`;
    }
  }
  if (Array.isArray(value) && schema.items !== undefined) {
    for (const [index, item] of value.entries()) {
      const problem = schemaProblem(item, schema.items, `${path}[${index}]`);
      if (problem !== undefined) return problem;
    }
  }
  if (isJsonObject(value)) return objectProblem(value, schema, path);
  return undefined;
}

function objectProblem(value: Record<string, unknown>, schema: JsonSchema, path: string): string | undefined {
  const properties = schema.properties ?? {};
  for (const name of schema.required ?? []) {
    if (!Object.hasOwn(value, name)) return `${path} lacks the required property ${JSON.stringify(name)}`;
  }
  for (const [name, property] of Object.entries(properties)) {
    if (!Object.hasOwn(value, name)) continue;
    const problem = schemaProblem(value[name], property, `${path}.${name}`);
    if (problem !== undefined) return problem;
  }
  if (schema.additionalProperties === false) {
    if (Object.keys(value).some((name) => !Object.hasOwn(properties, name))) {
      return `${path} has a property the schema does not list`;
    }
  }
  return undefined;
}

function hasType(value: unknown, type: JsonType | readonly JsonType[]): boolean {
  return [type].flat().some((one) => {
    switch (one) {
      case "object":
        return isJsonObject(value);
      case "array":
        return Array.isArray(value);
      case "integer":
        return Number.isInteger(value);
      case "null":
        return value === null;
      default:
        return typeof value === one;
    }
  });
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isTypeList(type: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  return (
    types.length > 0 &&
    new Set(types).size === types.length &&
    types.every((one) => (JSON_TYPES as readonly unknown[]).includes(one))
  );
}

function isDistinctStrings(list: unknown): boolean {
  return (
    Array.isArray(list) &&
    list.every((item) => typeof item === "string") &&
    new Set(list).size === list.length
  );
}

function enumProblems(members: unknown, path: Path): ConstraintProblem[] {
  if (!Array.isArray(members) || members.length === 0) {
    return [{ path, message: "enum must be a non-empty list of JSON values" }];
  }
  for (const [index, member] of members.entries()) {
    try {
      canonicalJson(member);
    } catch {
      return [{ path: [...path, index], message: "enum values must be plain JSON" }];
    }
  }
  return [];
}
