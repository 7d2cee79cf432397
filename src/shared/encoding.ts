/**
 * Sibyl's encoding, defined once: the field mapping, the result leaf and the public-signal order of
 * the BatchAppend proof. The coordinator contract mirrors every function here byte for byte.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  type Address,
  bytesToHex,
  encodeAbiParameters,
  type Hex,
  hexToBigInt,
  hexToBytes,
  stringToHex,
} from "viem";

/** Order of the BN254 scalar field, the field of every circuit signal. */
export const SNARK_SCALAR_FIELD =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Depth of the result log: 2^32 leaves. */
export const TREE_DEPTH = 32;

/** Batch sizes with a circuit, a proving key and a verifier, smallest first. */
export const BATCH_SIZES = [1, 4, 16, 64] as const;
export type BatchSize = (typeof BATCH_SIZES)[number];

/** How a request was answered; recorded in its leaf and passed to its consumer. */
export const ResultStatus = {
  Ok: 0,
  InvalidInput: 1,
  ModelError: 2,
  ModelTimeout: 3,
  OutputTooLarge: 4,
  /** A quorum model's operators could not agree before the deadline: no answer, no model fee. */
  NoConsensus: 5,
} as const;
export type ResultStatus = (typeof ResultStatus)[keyof typeof ResultStatus];

export function keccak256(data: Uint8Array | Hex): Hex {
  const bytes = typeof data === "string" ? hexToBytes(data) : data;
  return bytesToHex(keccak_256(bytes));
}

/** Maps a 32-byte hash into the field by dropping its low byte: 248 bits are always below p. */
export function toField(hash: Hex): bigint {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hash)) {
    throw new TypeError(`toField expects a 32-byte hex string, got ${hash}`);
  }
  return hexToBigInt(hash) >> 8n;
}

export interface ResultLeafFields {
  requestId: bigint;
  modelId: Hex;
  inputHash: Hex;
  outputHash: Hex;
  metadataHash: Hex;
  status: ResultStatus;
  /** The account that delivered the result: a leaf is worth nothing to anyone else. */
  operator: Address;
}

const LEAF_ABI = [
  { type: "uint256", name: "requestId" },
  { type: "bytes32", name: "modelId" },
  { type: "bytes32", name: "inputHash" },
  { type: "bytes32", name: "outputHash" },
  { type: "bytes32", name: "metadataHash" },
  { type: "uint8", name: "status" },
  { type: "address", name: "operator" },
] as const;

/**
 * toField(keccak256(abi.encode(requestId, modelId, inputHash, outputHash, metadataHash, status,
 * operator))).
 */
export function leafOf(fields: ResultLeafFields): bigint {
  const encoded = encodeAbiParameters(LEAF_ABI, [
    fields.requestId,
    fields.modelId,
    fields.inputHash,
    fields.outputHash,
    fields.metadataHash,
    fields.status,
    fields.operator,
  ]);
  return toField(keccak256(encoded));
}

/** Mirror of the Solidity RequestCommitment: what a fulfilment re-supplies for each request. */
export interface RequestCommitment {
  requestId: bigint;
  modelId: Hex;
  inputHash: Hex;
  /** Called back with the result. */
  requester: Address;
  /** Credited what the escrow does not pay for. */
  refundTo: Address;
  /** The operator assigned at request time; only it may deliver until `exclusiveUntil`. */
  operator: Address;
  /** The most the request can be charged. */
  escrow: bigint;
  deadline: bigint;
  exclusiveUntil: bigint;
  callbackGasLimit: number;
  maxOutputBytes: number;
}

/** What an operator answers for one request. */
export interface ResultPayload {
  status: ResultStatus;
  output: Hex;
  metadata: Hex;
}

/**
 * The leaf of `result` for the request in `commitment` delivered by `operator`, exactly as the
 * coordinator computes it.
 */
export function resultLeaf(
  commitment: Pick<RequestCommitment, "requestId" | "modelId" | "inputHash">,
  result: ResultPayload,
  operator: Address,
): bigint {
  return leafOf({
    requestId: commitment.requestId,
    modelId: commitment.modelId,
    inputHash: commitment.inputHash,
    outputHash: keccak256(result.output),
    metadataHash: keccak256(result.metadata),
    status: result.status,
    operator,
  });
}

/** A model id from a short name: the name's UTF-8 bytes, right-padded to 32 (as Solidity bytes32("name")). */
export function modelIdFromName(name: string): Hex {
  if (name.length === 0 || new TextEncoder().encode(name).length > 32) {
    throw new RangeError(`a model name is 1 to 32 bytes of UTF-8, got "${name}"`);
  }
  return stringToHex(name, { size: 32 });
}

export interface BatchStatement {
  oldRoot: bigint;
  newRoot: bigint;
  startIndex: bigint;
  /** Exactly batchSize leaves; unused slots of a partial batch are EMPTY_LEAF. */
  leaves: readonly bigint[];
}

/** The value of an unused slot. */
export const EMPTY_LEAF = 0n;

/** Public signals of BatchAppend, in circuit order: oldRoot, newRoot, startIndex, leaves. */
export function publicSignals(statement: BatchStatement): bigint[] {
  return [statement.oldRoot, statement.newRoot, statement.startIndex, ...statement.leaves];
}

/** The smallest batch size with a circuit that holds `count` results. */
export function batchSizeFor(count: number): BatchSize {
  const size = BATCH_SIZES.find((candidate) => candidate >= count);
  if (count < 1 || size === undefined) {
    throw new RangeError(`a batch holds 1 to ${BATCH_SIZES[BATCH_SIZES.length - 1]} results, got ${count}`);
  }
  return size;
}

/** The first slot at or after `nextIndex` where a batch of `batchSize` may start. */
export function alignedStart(nextIndex: bigint, batchSize: number): bigint {
  const size = BigInt(batchSize);
  return ((nextIndex + size - 1n) / size) * size;
}

/** One operator's signed answer to a request, as `reportEquivocation` takes it. */
export interface SignedResultStatement {
  statement: { requestId: bigint; outputHash: Hex; status: number };
  signature: Hex;
}

const STATEMENT_TUPLE = {
  type: "tuple",
  components: [
    { name: "requestId", type: "uint256" },
    { name: "outputHash", type: "bytes32" },
    { name: "status", type: "uint8" },
  ],
} as const;

/**
 * What `commitEquivocationReport` takes before `reportEquivocation(a, b)` from `reporter`:
 * keccak256(abi.encode(reporter, a, signatureA, b, signatureB)), as the coordinator computes it.
 */
export function equivocationCommitment(
  reporter: Address,
  coordinator: Address,
  a: SignedResultStatement,
  b: SignedResultStatement,
): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: "address" },
        { type: "address" },
        STATEMENT_TUPLE,
        { type: "bytes" },
        STATEMENT_TUPLE,
        { type: "bytes" },
      ],
      [reporter, coordinator, a.statement, a.signature, b.statement, b.signature],
    ),
  );
}
