/**
 * The contracts of one Sibyl deployment, found from any one of their addresses. The result log is the
 * long-lived root: it names the operators' ledger's coordinators (every version, oldest first) and the
 * current one. A coordinator names its log. So a node, the SDK or the explorer can be pointed at the
 * log or at any coordinator version and find the rest, and follow an upgrade by asking again.
 */
import { type Address, type Chain, type Client, getAddress, type Transport } from "viem";
import { readContract } from "viem/actions";
import { sibylCoordinatorAbi, sibylLogAbi } from "./abi/generated.js";
import { SibylError } from "./errors.js";

export interface CoordinatorVersion {
  address: Address;
  /** The first request id this version took; it took every id from here to the next version's first. */
  firstRequestId: bigint;
}

export interface SibylContracts {
  log: Address;
  ledger: Address;
  /** Every coordinator the log ever authorized, oldest first. */
  coordinators: readonly CoordinatorVersion[];
  /** The coordinator new requests go to. */
  current: Address;
}

/**
 * Finds the deployment `address` belongs to (the log itself, or any of its coordinators), as of
 * `blockNumber` (default: latest).
 */
export async function resolveSibylContracts<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  address: Address,
  blockNumber?: bigint,
): Promise<SibylContracts> {
  const at = blockNumber === undefined ? {} : { blockNumber };
  const log = await logOf(client, address, at);
  const [current, addresses] = await Promise.all([
    readContract(client, { address: log, abi: sibylLogAbi, functionName: "coordinator", ...at }),
    readContract(client, { address: log, abi: sibylLogAbi, functionName: "coordinators", ...at }),
  ]);
  if (addresses.length === 0) throw new SibylError(`the Sibyl log ${log} has no coordinator yet`);
  const [ledger, ...firstIds] = await Promise.all([
    readContract(client, {
      address: addresses[0] as Address,
      abi: sibylCoordinatorAbi,
      functionName: "ledger",
      ...at,
    }),
    ...addresses.map((coordinator) =>
      readContract(client, {
        address: coordinator,
        abi: sibylCoordinatorAbi,
        functionName: "firstRequestId",
        ...at,
      }),
    ),
  ]);
  return {
    log,
    ledger: getAddress(ledger),
    coordinators: addresses.map((coordinator, index) => ({
      address: getAddress(coordinator),
      firstRequestId: firstIds[index] as bigint,
    })),
    current: getAddress(current),
  };
}

/** The log behind `address`: itself when it is a log, its log() when it is a coordinator. */
async function logOf<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  address: Address,
  at: { blockNumber?: bigint },
): Promise<Address> {
  try {
    return getAddress(
      await readContract(client, { address, abi: sibylCoordinatorAbi, functionName: "log", ...at }),
    );
  } catch {
    // Not a coordinator: a log answers coordinator(); anything else is not Sibyl.
  }
  try {
    await readContract(client, { address, abi: sibylLogAbi, functionName: "coordinators", ...at });
    return getAddress(address);
  } catch (error) {
    throw new SibylError(`${address} is neither a Sibyl log nor a Sibyl coordinator`, { cause: error });
  }
}

/** The coordinator version that took request `requestId` (ids never repeat across versions). */
export function coordinatorOfRequest(contracts: SibylContracts, requestId: bigint): Address {
  let found: CoordinatorVersion | undefined;
  for (const version of contracts.coordinators) if (version.firstRequestId <= requestId) found = version;
  if (found === undefined)
    throw new SibylError(`request ${requestId} is older than every coordinator of ${contracts.log}`);
  return found.address;
}

/** Every address whose events make up the deployment's history: its coordinators, log and ledger. */
export function eventSources(contracts: SibylContracts): Address[] {
  return [...contracts.coordinators.map((version) => version.address), contracts.log, contracts.ledger];
}
