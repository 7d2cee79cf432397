/**
 * Names for the coordinator's storage slots, events and call targets in a trace. The result log's
 * fixed slots are found from where `root` is stored, in the order ResultLog and SibylCoordinator
 * declare them (root, _cursor, verifierFor, _checkpoints[1024]; after Pausable's flag, nextRequestId,
 * _feeParameters, balanceOf, ...); the rest is found by probing storage against the public getters. Each
 * assumption is checked against a getter, so a changed layout fails loudly instead of mislabelling.
 */
import { encodeAbiParameters, type Hex, keccak256, toEventSelector, toHex } from "viem";
import { BATCH_SIZES } from "../../src/shared/encoding.js";
import type { Sibyl } from "../../test/helpers/sibyl.js";
import type { TraceLabels } from "./trace.js";

const ROOT_SEARCHED = 64n;
const CHECKPOINTS = 1024n;
/** After root: _cursor, verifierFor, then the checkpoints. */
const CURSOR_AFTER_ROOT = 1n;
const VERIFIERS_AFTER_ROOT = 2n;
const CHECKPOINTS_AFTER_ROOT = 3n;
/** Slots searched after the checkpoints for nextRequestId (inherited contracts' flags come first). */
const AFTER_CHECKPOINTS_SEARCHED = 4n;
const MAPPINGS_SEARCHED = 16n;

export interface LabelledKeys {
  /** Addresses whose entries in balanceOf and the operator registry may be touched, by role. */
  accounts: Record<string, Hex>;
  requestIds: bigint[];
  /** A request still pending, to find where commitments are stored. */
  pendingRequestId: bigint;
  modelIds: Hex[];
  /** Contracts the coordinator may call or look at, by role. */
  callees: Record<string, Hex>;
}

function mappingSlot(key: bigint, base: bigint): bigint {
  return BigInt(keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [key, base])));
}

export async function coordinatorLabels(sibyl: Sibyl, keys: LabelledKeys): Promise<TraceLabels> {
  const { coordinator, publicClient } = sibyl;
  const storageAt = async (slot: bigint) =>
    BigInt((await publicClient.getStorageAt({ address: coordinator.address, slot: toHex(slot) })) ?? "0x0");
  const root = await coordinator.read.root();
  let rootAt: bigint | undefined;
  for (let slot = 0n; slot < ROOT_SEARCHED && rootAt === undefined; slot++) {
    if ((await storageAt(slot)) === root) rootAt = slot;
  }
  if (rootAt === undefined) throw new Error("the coordinator's root slot was not found: its layout changed");
  const cursorAt = rootAt + CURSOR_AFTER_ROOT;
  const checkpointsEnd = rootAt + CHECKPOINTS_AFTER_ROOT + CHECKPOINTS;
  if (((await storageAt(cursorAt)) & ((1n << 40n) - 1n)) !== BigInt(await coordinator.read.nextIndex())) {
    throw new Error("the slot after root is not the log's cursor: the storage layout changed");
  }
  const nextRequestId = await coordinator.read.nextRequestId();
  let nextRequestIdAt: bigint | undefined;
  for (
    let slot = checkpointsEnd;
    slot < checkpointsEnd + AFTER_CHECKPOINTS_SEARCHED && nextRequestIdAt === undefined;
    slot++
  ) {
    if ((await storageAt(slot)) === nextRequestId) nextRequestIdAt = slot;
  }
  if (nextRequestIdAt === undefined)
    throw new Error("nextRequestId is not after the checkpoints: the layout changed");
  const mappingsFrom = nextRequestIdAt;
  /** The first mapping base after nextRequestId where `key`'s entry holds `expected`. */
  const findBase = async (key: bigint, expected: bigint, what: string) => {
    for (let base = mappingsFrom; base < mappingsFrom + MAPPINGS_SEARCHED; base++) {
      if ((await storageAt(mappingSlot(key, base))) === expected) return base;
    }
    throw new Error(`${what} was not found in storage: the layout changed`);
  };
  const operator = sibyl.operator.account.address;
  const balanceAt = await findBase(
    BigInt(operator),
    await coordinator.read.balanceOf([operator]),
    "balanceOf",
  );
  const commitmentsAt = await findBase(
    keys.pendingRequestId,
    BigInt(await coordinator.read.commitmentOf([keys.pendingRequestId])),
    "a commitment",
  );

  const named = new Map<bigint, string>([
    [rootAt, "root"],
    [cursorAt, "the log's cursor"],
    ...BATCH_SIZES.map((size): [bigint, string] => [
      mappingSlot(BigInt(size), rootAt + VERIFIERS_AFTER_ROOT),
      `verifierFor[${size}]`,
    ]),
    [nextRequestIdAt, "nextRequestId"],
    [nextRequestIdAt + 1n, "fee parameters"],
  ]);
  for (const [role, address] of Object.entries(keys.accounts)) {
    named.set(mappingSlot(BigInt(address), balanceAt), `balanceOf[${role}]`);
    for (let base = 0n; base < rootAt; base++) {
      named.set(mappingSlot(BigInt(address), base), `operator registry entry of ${role}`);
    }
  }
  for (const requestId of keys.requestIds)
    named.set(mappingSlot(requestId, commitmentsAt), "the request's commitment");
  for (let base = balanceAt + 1n; base < commitmentsAt; base++) {
    for (const modelId of keys.modelIds) named.set(mappingSlot(BigInt(modelId), base), "the model's entry");
  }
  const events = new Map<bigint, string>(
    coordinator.abi
      .filter((item) => item.type === "event")
      .map((item) => [BigInt(toEventSelector(item)), item.name]),
  );
  const callees = new Map(Object.entries(keys.callees).map(([role, address]) => [BigInt(address), role]));
  return {
    slot: (slot) => {
      const name = named.get(slot);
      if (name !== undefined) return name;
      if (slot >= rootAt + CHECKPOINTS_AFTER_ROOT && slot < checkpointsEnd)
        return "a checkpoint of the chain";
      return `slot ${toHex(slot)}`;
    },
    event: (topic0) => events.get(topic0) ?? toHex(topic0),
    callee: (address) => callees.get(address) ?? toHex(address, { size: 20 }),
  };
}
