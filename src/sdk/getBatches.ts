import type { Address, Chain, Client, Transport } from "viem";
import { getContractEvents } from "viem/actions";
import { sibylLogAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts } from "../shared/contracts.js";
import type { AppendedBatch } from "./types.js";

export type GetBatchesParameters = {
  /** The deployment's log, or any of its coordinator versions. */
  coordinator: Address;
  fromBlock: bigint;
  /** Last block to read; defaults to the latest. */
  toBlock?: bigint;
};

/**
 * The batches appended to the deployment's result log in a block range, oldest first: where a result
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
  const { log } = await resolveSibylContracts(client, coordinator);
  const events = await getContractEvents(client, {
    address: log,
    abi: sibylLogAbi,
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
