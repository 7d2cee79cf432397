/** How the SDK reads the loose inputs people naturally pass: model names, text, hex and bytes. */
import { bytesToHex, type Hex, hexToBytes, hexToString, isHex, stringToHex } from "viem";
import { modelIdFromName } from "../shared/encoding.js";

/** A model's 32-byte id as hex, or its name (at most 32 bytes of UTF-8, e.g. "language-id"). */
export type ModelReference = string;

/** Bytes as `0x` hex or a Uint8Array; any other string is sent as its UTF-8 bytes. */
export type BytesInput = string | Uint8Array;

/**
 * The bytes32 id of `model`. A name can never look like an id (an id is 66 characters, a name at most
 * 32 bytes), so the two forms need no flag to tell them apart.
 */
export function resolveModelId(model: ModelReference): Hex {
  return /^0x[0-9a-fA-F]{64}$/.test(model) ? (model.toLowerCase() as Hex) : modelIdFromName(model);
}

/** The name a model id was made from when it is printable text, else the id itself. */
export function modelNameOf(modelId: Hex): string {
  const name = hexToString(modelId).replace(/\0+$/, "");
  return /^[\x20-\x7e]+$/.test(name) ? name : modelId;
}

/**
 * `value` as hex bytes. A string that is already even-length `0x` hex is taken as bytes; to send text
 * that happens to look like hex, pass `stringToHex(text)`.
 */
export function toBytesHex(value: BytesInput): Hex {
  if (value instanceof Uint8Array) return bytesToHex(value);
  return isHex(value, { strict: true }) && value.length % 2 === 0 ? value : stringToHex(value);
}

/** The UTF-8 text of `bytes`, or undefined when they are not valid UTF-8 (a model may answer binary). */
export function decodeUtf8(bytes: Hex): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(hexToBytes(bytes));
  } catch {
    return undefined;
  }
}
