import { type Address, type Chain, type Client, getAddress, type Transport } from "viem";
import { getBlockNumber, getContractEvents, readContract } from "viem/actions";
import { operatorLedgerAbi, sibylAbi } from "../shared/abi/generated.js";
import { eventSources, resolveSibylContracts } from "../shared/contracts.js";

export type GetOperatorStatsParameters = {
  coordinator: Address;
  /**
   * First block to read events from. The default 0 suits local chains; elsewhere pass the
   * coordinator's deployment block, as RPC providers limit how far back one log query reaches.
   */
  fromBlock?: bigint;
  /** The block to report at: events up to it, stakes and endpoints as of it. Defaults to the latest. */
  blockNumber?: bigint;
};

/**
 * active: new requests are assigned to it. exiting: out of the active set (it asked to leave, or was
 * deactivated by a slash or a stake below the minimum) with stake still held. exited: nothing staked.
 */
export type OperatorState = "active" | "exiting" | "exited";

export interface OperatorStats {
  operator: Address;
  state: OperatorState;
  stake: bigint;
  /** When its stake unlocks (unix seconds) once it left the active set; 0 if it never did. */
  unlockAt: bigint;
  /** Where its node takes co-signing requests, as it published it; empty when it published none. */
  endpoint: string;
  /** Results it delivered. */
  served: number;
  /**
   * Requests assigned to it that it let go, each counted once: taken over by another operator
   * (reassign), delivered by another after its window, cancelled unanswered, or penalized for.
   */
  missed: number;
  /** Liveness penalties taken from its stake, and their sum. */
  penalties: number;
  penaltiesPaid: bigint;
  /** Equivocation slashes, and the stake they took. */
  slashes: number;
  slashed: bigint;
}

export type GetOperatorStatsReturnType = OperatorStats[];

/**
 * Every operator that ever registered with the coordinator (or is active now), with its stake, state
 * and published endpoint, and its record read from the coordinator's events: results served,
 * assignments missed, liveness penalties and equivocation slashes. In order of first registration.
 *
 * @example
 * import { getOperatorStats } from "sibyl";
 *
 * for (const stats of await getOperatorStats(client, { coordinator: "0x5FbD…" }))
 *   console.log(`${stats.operator} ${stats.state}: served ${stats.served}, missed ${stats.missed}`);
 */
export async function getOperatorStats<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: GetOperatorStatsParameters,
): Promise<GetOperatorStatsReturnType> {
  const { coordinator, fromBlock = 0n } = parameters;
  const blockNumber = parameters.blockNumber ?? (await getBlockNumber(client));
  const contracts = await resolveSibylContracts(client, coordinator, blockNumber);
  const ledger = { address: contracts.ledger, abi: operatorLedgerAbi, blockNumber } as const;
  const range = {
    address: eventSources(contracts),
    abi: sibylAbi,
    fromBlock,
    toBlock: blockNumber,
    strict: true,
  } as const;
  const [registered, requested, reassigned, delivered, cancelled, penalized, slashed, active] =
    await Promise.all([
      getContractEvents(client, { ...range, eventName: "OperatorRegistered" }),
      getContractEvents(client, { ...range, eventName: "InferenceRequested" }),
      getContractEvents(client, { ...range, eventName: "RequestReassigned" }),
      getContractEvents(client, { ...range, eventName: "ResultDelivered" }),
      getContractEvents(client, { ...range, eventName: "RequestCancelled" }),
      getContractEvents(client, { ...range, eventName: "OperatorPenalized" }),
      getContractEvents(client, { ...range, eventName: "OperatorSlashed" }),
      readContract(client, { ...ledger, functionName: "activeOperators" }),
    ]);

  const records = new Map<Address, Tally>();
  const recordOf = (operator: Address) => {
    const address = getAddress(operator);
    let record = records.get(address);
    if (record === undefined) {
      record = { served: 0, missed: new Set(), penalties: 0, penaltiesPaid: 0n, slashes: 0, slashed: 0n };
      records.set(address, record);
    }
    return record;
  };
  for (const event of registered) recordOf(event.args.operator);
  for (const operator of active) recordOf(operator);

  // Who each request is assigned to, as it moves: its draw at request time, then each takeover.
  const assignee = new Map<bigint, Address>();
  for (const event of requested)
    assignee.set(event.args.requestId, getAddress(event.args.commitment.operator));
  const letGo = (requestId: bigint, unless?: Address) => {
    const operator = assignee.get(requestId);
    if (operator !== undefined && operator !== unless) recordOf(operator).missed.add(requestId);
  };
  for (const event of reassigned) {
    letGo(event.args.requestId, getAddress(event.args.operator));
    assignee.set(event.args.requestId, getAddress(event.args.operator));
  }
  for (const event of delivered) {
    recordOf(event.args.operator).served++;
    letGo(event.args.requestId, getAddress(event.args.operator));
  }
  for (const event of cancelled) letGo(event.args.requestId);
  for (const event of penalized) {
    const record = recordOf(event.args.operator);
    record.missed.add(event.args.requestId);
    record.penalties++;
    record.penaltiesPaid += event.args.amount;
  }
  for (const event of slashed) {
    const record = recordOf(event.args.operator);
    record.slashes++;
    record.slashed += event.args.amount;
  }

  return Promise.all(
    [...records].map(async ([operator, record]) => {
      const [registration, endpoint] = await Promise.all([
        readContract(client, { ...ledger, functionName: "operatorOf", args: [operator] }),
        readContract(client, { ...ledger, functionName: "operatorEndpoint", args: [operator] }),
      ]);
      const state: OperatorState = registration.active
        ? "active"
        : registration.stake > 0n
          ? "exiting"
          : "exited";
      return {
        operator,
        state,
        stake: registration.stake,
        unlockAt: registration.unlockAt,
        endpoint,
        served: record.served,
        missed: record.missed.size,
        penalties: record.penalties,
        penaltiesPaid: record.penaltiesPaid,
        slashes: record.slashes,
        slashed: record.slashed,
      };
    }),
  );
}

interface Tally {
  served: number;
  /** Ids of the requests it let go: one request can be both taken over and penalized for. */
  missed: Set<bigint>;
  penalties: number;
  penaltiesPaid: bigint;
  slashes: number;
  slashed: bigint;
}
