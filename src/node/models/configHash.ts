/**
 * The model registry pins each model's configuration by hash, so two nodes serving the same model
 * must hash the same settings to the same bytes32 whatever order their config lists the keys in.
 */
import type { Hex } from "viem";
import { keccak256 } from "../../shared/encoding.js";
import type { ModelProvider } from "./provider.js";

/**
 * JSON with object keys sorted by UTF-16 code unit, no whitespace, and undefined object members
 * dropped. Values JSON cannot carry faithfully (bigint, NaN, Infinity, functions) are rejected rather
 * than silently changed, since a changed value would change the hash.
 */
export function canonicalJson(value: unknown): string {
  const text = canonical(value, "$");
  if (text === undefined) throw new TypeError("canonicalJson: the value itself is undefined");
  return text;
}

function canonical(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is ${value}, not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item, index) => canonical(item, `${path}[${index}]`) ?? "null").join(",")}]`;
  }
  if (typeof value === "object" && isPlainObject(value)) {
    const members = Object.keys(value)
      .sort()
      .flatMap((key) => {
        const member = canonical((value as Record<string, unknown>)[key], `${path}.${key}`);
        return member === undefined ? [] : [`${JSON.stringify(key)}:${member}`];
      });
    return `{${members.join(",")}}`;
  }
  throw new TypeError(`canonicalJson: ${path} (${typeof value}) is not plain JSON data`);
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** keccak256 of the canonical JSON of `{ kind, settings }`: what the onchain registry stores. */
export function configHashOf(provider: Pick<ModelProvider, "kind" | "settings">): Hex {
  return keccak256(
    new TextEncoder().encode(canonicalJson({ kind: provider.kind, settings: provider.settings })),
  );
}
