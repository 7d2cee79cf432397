/**
 * Names for a deployment's storage slots, events and call targets in a trace, by contract: the
 * coordinator's, the result log's (named "log: …") and the operators' ledger's ("ledger: …"). Each
 * contract's first variable is found by probing storage against its getter; the rest follow in the
 * order the contract declares them (after Ownable2Step's two slots, and Pausable's flag in the
 * coordinator), and each is checked against a getter, so a changed layout fails loudly instead of
 * mislabelling.
 */
import { encodeAbiParameters, type Hex, keccak256, toEventSelector, toHex } from "viem";
import { BATCH_SIZES } from "../../src/shared/encoding.js";
import type { Sibyl } from "../../test/helpers/sibyl.js";
import type { TraceLabels } from "./trace.js";

const SLOTS_SEARCHED = 64n;
const CHECKPOINTS = 1024n;
const LOW_40_BITS = (1n << 40n) - 1n;
const LOW_128_BITS = (1n << 128n) - 1n;

export interface LabelledKeys {
  /** Addresses whose balances and ledger entries may be touched, by role. */
  accounts: Record<string, Hex>;
  requestIds: bigint[];
  /** A request still pending, to check where commitments are stored. */
  pendingRequestId: bigint;
  modelIds: Hex[];
  /** Contracts besides the deployment's own that the transaction may call or look at, by role. */
  callees: Record<string, Hex>;
}

type StorageReader = (slot: bigint) => Promise<bigint>;

function mappingSlot(key: bigint, base: bigint): bigint {
  return BigInt(keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [key, base])));
}

/** Where a dynamic array stored at `base` keeps its element `index`. */
function arraySlot(base: bigint, index: bigint): bigint {
  return BigInt(keccak256(toHex(base, { size: 32 }))) + index;
}

function readerOf(sibyl: Sibyl, address: Hex): StorageReader {
  return async (slot) =>
    BigInt((await sibyl.publicClient.getStorageAt({ address, slot: toHex(slot) })) ?? "0x0");
}

/** The first slot below SLOTS_SEARCHED whose value, masked by `mask`, is `expected`. */
async function findSlot(read: StorageReader, expected: bigint, what: string, mask = -1n): Promise<bigint> {
  for (let slot = 0n; slot < SLOTS_SEARCHED; slot++)
    if (((await read(slot)) & mask) === expected) return slot;
  throw new Error(`${what} was not found in storage: the layout changed`);
}

async function expectAt(read: StorageReader, slot: bigint, expected: bigint, what: string, mask = -1n) {
  if (((await read(slot)) & mask) !== expected)
    throw new Error(`${what} is not at slot ${toHex(slot)}: the storage layout changed`);
}

/** The log's slots: root, cursor, coordinator, isCoordinator, coordinators, verifierFor, checkpoints. */
async function logSlots(sibyl: Sibyl): Promise<(slot: bigint) => string | undefined> {
  const { log } = sibyl;
  const read = readerOf(sibyl, log.address);
  const rootAt = await findSlot(read, await log.read.root(), "the log's root");
  const [cursorAt, coordinatorAt, isCoordinatorAt, coordinatorsAt, verifiersAt, checkpointsFrom] = [
    1n,
    2n,
    3n,
    4n,
    5n,
    6n,
  ].map((offset) => rootAt + offset) as [bigint, bigint, bigint, bigint, bigint, bigint];
  const current = await log.read.coordinator();
  const coordinators = await log.read.coordinators();
  await expectAt(read, cursorAt, BigInt(await log.read.nextIndex()), "the log's cursor", LOW_40_BITS);
  await expectAt(read, coordinatorAt, BigInt(current), "the log's coordinator");
  await expectAt(read, mappingSlot(BigInt(current), isCoordinatorAt), 1n, "isCoordinator");
  await expectAt(read, coordinatorsAt, BigInt(coordinators.length), "the log's coordinators");
  await expectAt(
    read,
    mappingSlot(64n, verifiersAt),
    BigInt(await log.read.verifierFor([64n])),
    "verifierFor",
  );
  const named = new Map<bigint, string>([
    [rootAt, "root"],
    [cursorAt, "cursor"],
    [coordinatorAt, "current coordinator"],
    ...BATCH_SIZES.map((size): [bigint, string] => [
      mappingSlot(BigInt(size), verifiersAt),
      `verifierFor[${size}]`,
    ]),
    ...coordinators.map((address): [bigint, string] => [
      mappingSlot(BigInt(address), isCoordinatorAt),
      "isCoordinator[coordinator]",
    ]),
    ...coordinators.map((_, index): [bigint, string] => [
      arraySlot(coordinatorsAt, BigInt(index)),
      "the coordinators list",
    ]),
  ]);
  return (slot) => {
    const name = named.get(slot);
    if (name !== undefined) return name;
    if (slot >= checkpointsFrom && slot < checkpointsFrom + CHECKPOINTS) return "a checkpoint of the chain";
    return undefined;
  };
}

/** The ledger's slots: burned, parameters, operators, the active set, positions, endpoints. */
async function ledgerSlots(sibyl: Sibyl, accounts: Record<string, Hex>) {
  const { ledger } = sibyl;
  const read = readerOf(sibyl, ledger.address);
  const { minStake } = await ledger.read.operatorParameters();
  const parametersAt = await findSlot(read, minStake, "the ledger's parameters", LOW_128_BITS);
  const burnedAt = parametersAt - 1n;
  // Parameters take two slots: minStake with the two delays, then the penalty with the slash share.
  const [operatorsAt, activeAt, positionsAt, endpointsAt] = [2n, 3n, 4n, 5n].map(
    (offset) => parametersAt + offset,
  ) as [bigint, bigint, bigint, bigint];
  const active = await ledger.read.activeOperators();
  const operator = sibyl.operator.account.address;
  await expectAt(read, burnedAt, await ledger.read.burned(), "burned");
  await expectAt(
    read,
    mappingSlot(BigInt(operator), operatorsAt),
    (await ledger.read.operatorOf([operator])).stake,
    "the operators' entries",
    LOW_128_BITS,
  );
  await expectAt(read, activeAt, BigInt(active.length), "the active set");
  const position = active.findIndex((address) => address.toLowerCase() === operator.toLowerCase());
  await expectAt(read, mappingSlot(BigInt(operator), positionsAt), BigInt(position + 1), "active positions");
  const named = new Map<bigint, string>([
    [burnedAt, "burned"],
    [parametersAt, "operator parameters"],
    [parametersAt + 1n, "operator parameters"],
    [activeAt, "the active set's length"],
    ...active.map((_, index): [bigint, string] => [arraySlot(activeAt, BigInt(index)), "the active set"]),
  ]);
  for (const [role, address] of Object.entries(accounts)) {
    named.set(mappingSlot(BigInt(address), operatorsAt), `operator entry of ${role}`);
    named.set(mappingSlot(BigInt(address), positionsAt), `active position of ${role}`);
    named.set(mappingSlot(BigInt(address), endpointsAt), `endpoint of ${role}`);
  }
  return (slot: bigint) => named.get(slot);
}

/** The coordinator's slots: its version (next request id, current, successor), fees, balances, models, commitments. */
async function coordinatorSlots(sibyl: Sibyl, keys: LabelledKeys) {
  const { coordinator } = sibyl;
  const read = readerOf(sibyl, coordinator.address);
  // nextRequestId in the low 88 bits, then `current`, then the successor's address.
  const versionAt = await findSlot(
    read,
    await coordinator.read.nextRequestId(),
    "the version (nextRequestId)",
    (1n << 88n) - 1n,
  );
  const [feesAt, balanceAt, modelsAt, commitmentsAt] = [1n, 2n, 3n, 4n].map(
    (offset) => versionAt + offset,
  ) as [bigint, bigint, bigint, bigint];
  const operator = sibyl.operator.account.address;
  const [modelId] = keys.modelIds;
  await expectAt(read, versionAt, BigInt(await coordinator.read.successor()) << 96n, "successor", -1n << 96n);
  await expectAt(
    read,
    feesAt,
    BigInt((await coordinator.read.feeParameters()).deliveryGas),
    "fee parameters",
    (1n << 32n) - 1n,
  );
  await expectAt(
    read,
    mappingSlot(BigInt(operator), balanceAt),
    await coordinator.read.balanceOf([operator]),
    "balanceOf",
  );
  if (modelId !== undefined)
    await expectAt(
      read,
      mappingSlot(BigInt(modelId), modelsAt) + 1n,
      BigInt((await coordinator.read.modelOf([modelId])).configHash),
      "the models",
    );
  await expectAt(
    read,
    mappingSlot(keys.pendingRequestId, commitmentsAt),
    BigInt(await coordinator.read.commitmentOf([keys.pendingRequestId])),
    "a commitment",
  );
  const named = new Map<bigint, string>([
    [versionAt, "the version (next request id)"],
    [feesAt, "fee parameters"],
  ]);
  for (const [role, address] of Object.entries(keys.accounts))
    named.set(mappingSlot(BigInt(address), balanceAt), `balanceOf[${role}]`);
  for (const requestId of keys.requestIds)
    named.set(mappingSlot(requestId, commitmentsAt), "the request's commitment");
  for (const id of keys.modelIds) {
    named.set(mappingSlot(BigInt(id), modelsAt), "the model's entry");
    named.set(mappingSlot(BigInt(id), modelsAt) + 1n, "the model's entry");
  }
  return (slot: bigint) => named.get(slot);
}

export async function coordinatorLabels(sibyl: Sibyl, keys: LabelledKeys): Promise<TraceLabels> {
  const { coordinator, log, ledger } = sibyl;
  const [ofCoordinator, ofLog, ofLedger] = await Promise.all([
    coordinatorSlots(sibyl, keys),
    logSlots(sibyl),
    ledgerSlots(sibyl, keys.accounts),
  ]);
  const contracts = new Map<bigint, { prefix: string; slot: (slot: bigint) => string | undefined }>([
    [BigInt(coordinator.address), { prefix: "", slot: ofCoordinator }],
    [BigInt(log.address), { prefix: "log: ", slot: ofLog }],
    [BigInt(ledger.address), { prefix: "ledger: ", slot: ofLedger }],
  ]);
  const events = new Map<bigint, string>(
    [...coordinator.abi, ...log.abi, ...ledger.abi]
      .filter((item) => item.type === "event")
      .map((item) => [BigInt(toEventSelector(item)), item.name]),
  );
  const callees = new Map(
    Object.entries({
      ...keys.callees,
      coordinator: coordinator.address,
      log: log.address,
      ledger: ledger.address,
    }).map(([role, address]) => [BigInt(address), role]),
  );
  return {
    slot: (contract, slot) => {
      const labels = contracts.get(contract);
      const name = labels?.slot(slot) ?? `slot ${toHex(slot)}`;
      return labels === undefined ? `${name} of ${toHex(contract, { size: 20 })}` : `${labels.prefix}${name}`;
    },
    event: (topic0) => events.get(topic0) ?? toHex(topic0),
    callee: (address) => callees.get(address) ?? toHex(address, { size: 20 }),
    opens: (address) => contracts.has(address),
  };
}
