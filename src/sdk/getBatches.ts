import type { Address, Chain, Client, Transport } from "viem";
import { getContractEvents } from "viem/actions";
import { sibylCoordinatorAbi } from "../shared/abi/generated.js";
import type { AppendedBatch } from "./types.js";

export type GetBatchesParameters = {
  coordinator: Address;
  fromBlock: bigint;
  /** Last block to read; defaults to the latest. */
  toBlock?: bigint;
};

/**
 * The batches appended to the coordinator's log in a block range, oldest first: where a result
 * delivered in `fromBlock` or later finds the proof that gave it its slot.
 *
 * @example
 * import { getBatches, leafIndexIn } from "sibyl";
 *
 * const batches = await getBatches(client, { coordinator: "0x5FbD…", fromBlock: result.blockNumber });
 * const leafIndex = leafIndexIn(batches, result.sequence); // undefined while its proof is pending
 */
export async function getBatches<chain extends Chain | undefined>(
  client: Client<Transport, chain>,
  parameters: GetBatchesParameters,
): Promise<AppendedBatch[]> {
  const { coordinator, fromBlock, toBlock } = parameters;
  const events = await getContractEvents(client, {
    address: coordinator,
    abi: sibylCoordinatorAbi,
    eventName: "BatchAppended",
    fromBlock,
    ...(toBlock === undefined ? {} : { toBlock }),
    strict: true,
  });
  return events.map((event) => ({
    ...event.args,
    blockNumber: event.blockNumber,
    blockHash: event.blockHash,
    transactionHash: event.transactionHash,
  }));
}
