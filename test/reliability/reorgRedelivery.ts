/**
 * A reorg removes a delivery while its requests stay: the node rewinds and rebuilds the same delivery
 * (same calldata, nonce and fees, so the same transaction hash), and must send it again at once. It
 * used to fail on the stored transaction's hash (`UNIQUE constraint failed: transactions.hash`) and
 * retry about once a second without ever delivering (issue 22). On `hardhat node` the reorg is an
 * `evm_revert` to a snapshot taken between the requests' block and the delivery's; on anvil it is
 * `anvil_reorg`, which replaces the delivery's block with an empty one at the same height. Both chains
 * first sit at the base-fee floor, as a quiet chain does, so the fees rebuilt after any number of
 * blocks are the same: a node that cannot send the same transaction again never delivers. The scenario
 * mines every block itself (automine off), one every BLOCK_MS, so "within two blocks" means what it
 * would on a chain with that block time.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, OPERATOR_KEY, startDevnet } from "../helpers/devnet.js";
import { findAnvil, startAnvil } from "../helpers/processes.js";
import { quoteEscrow } from "../helpers/sibyl.js";
import { until } from "../helpers/wait.js";
import { countLogged, type DaemonCheck, LANGUAGE_ID, rpc, sentence, withLog } from "./chainFaults.js";
import { report, type ScenarioSize, type Tally, tally } from "./harness.js";

export type ReorgChain = "hardhat node" | "anvil";

const MODEL_ID = modelIdFromName(LANGUAGE_ID.name);
/** An OP Stack chain's block time: the node has this long per block to send the delivery again. */
const BLOCK_MS = 2_000;
/** Blocks mined after the reorg within which every removed delivery must be back. */
export const REDELIVERY_BLOCKS = 2;
/** Blocks mined after the reorg before the scenario stops waiting for a delivery that does not come. */
export const GIVE_UP_BLOCKS = 6;
/** Requests per round: one delivery without a proof (a full proof's worth would be a slower fulfil). */
const PER_ROUND = 3;

export interface RedeliveryCheck extends DaemonCheck {
  chain: ReorgChain;
  /** Per round: blocks mined after the reorg until every request was delivered again (undefined: none by GIVE_UP_BLOCKS). */
  blocksToRedeliver: Array<number | undefined>;
  /** Per round: the delivery came back under the removed transaction's hash (a byte-identical rebuild). */
  sameTransaction: boolean[];
  /** The node's log lines that mention a unique constraint (SQLite's or PostgreSQL's wording). */
  uniqueErrors: string[];
  /** "chain reorganised" lines in the node's log. */
  reorgsLogged: number;
}

/** Why `chain` cannot be had here, or undefined when it can. */
export function unavailable(chain: ReorgChain): string | undefined {
  if (chain === "hardhat node") return undefined;
  const anvil = findAnvil();
  return "missing" in anvil ? anvil.missing : undefined;
}

/** The scenario on every chain that can be had, for `npm run soak`. */
export async function runReorgRedelivery(size: ScenarioSize): Promise<RedeliveryCheck[]> {
  const checks: RedeliveryCheck[] = [];
  for (const chain of ["hardhat node", "anvil"] as const) {
    const missing = unavailable(chain);
    if (missing) process.stdout.write(`  reorg re-delivery on ${chain}: skipped (${missing})\n`);
    else checks.push(await reorgRedelivery(chain, size));
  }
  return checks;
}

export async function reorgRedelivery(chain: ReorgChain, size: ScenarioSize): Promise<RedeliveryCheck> {
  const started = Date.now();
  const anvil = findAnvil();
  const devnet = await startDevnet([LANGUAGE_ID], {
    chain: chain === "anvil" && "binary" in anvil ? () => startAnvil(anvil.binary) : undefined,
  });
  const name = chain === "anvil" ? "reorg-redelivery-anvil" : "reorg-redelivery";
  const database = path.join(devnet.dir, `${name}.db`);
  const node = devnet.startNode(
    await devnet.writeConfig(
      {
        database: { path: `${name}.db` },
        batching: { maxSize: 16, maxWaitMs: 100 },
        // Nothing is proven meanwhile: a proof sent between would take the nonce the rebuild reuses.
        proving: { maxWaitMs: 600_000 },
      },
      `${name}.json`,
    ),
  );
  const log = path.join(devnet.dir, `${name}.log`);
  const { publicClient } = devnet.sibyl;
  const rounds = size.soak ? Math.max(1, Math.round(size.requests / PER_ROUND)) : 1;
  try {
    await node.waitFor("sibyl node started", 120_000);
    await toBaseFeeFloor(devnet);
    await rpc(devnet, "evm_setAutomine", [false]);
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const ids: bigint[] = [];
    const blocksToRedeliver: Array<number | undefined> = [];
    const sameTransaction: boolean[] = [];
    for (let round = 0; round < rounds; round++) {
      const { requested, requestBlock } = await requestInOneBlock(devnet, round);
      ids.push(...requested);
      const snapshot = chain === "hardhat node" ? await rpc(devnet, "evm_snapshot") : undefined;
      const removed = await deliveryMined(devnet, requested, requestBlock);
      await until(() => (statesOf(database, requested).every(isConfirmed) ? true : undefined), 30_000);

      if (snapshot !== undefined) await rpc(devnet, "evm_revert", [snapshot]);
      else
        await rpc(devnet, "anvil_reorg", [Number((await publicClient.getBlockNumber()) - requestBlock), []]);
      const forkHead = await publicClient.getBlockNumber();
      // Automine is off: nothing lands before the first block mined after the reorg.
      let blocks = 0;
      let delivered: Tally | undefined;
      while (blocks < GIVE_UP_BLOCKS && !(delivered?.lost === 0)) {
        await sleep(BLOCK_MS);
        await rpc(devnet, "evm_mine");
        blocks++;
        delivered = await tally(devnet, requested, forkHead + 1n);
      }
      blocksToRedeliver.push(delivered?.lost === 0 ? blocks : undefined);
      sameTransaction.push(
        (await deliveryHashes(devnet, requested, forkHead + 1n)).every((hash) => removed.has(hash)),
      );
      // The node reads its delivery again before the next round removes another.
      if (delivered?.lost === 0)
        await until(() => (statesOf(database, requested).every(isConfirmed) ? true : undefined), 30_000);
    }
    const result = await tally(devnet, ids, fromBlock);
    const reorgKind = chain === "anvil" ? "anvil_reorg" : "evm_revert";
    return {
      report: report(
        `reorg re-delivery (${chain})`,
        `${rounds} × delivery removed by ${reorgKind}, rebuilt byte for byte; a block every ${BLOCK_MS / 1000} s`,
        ids.length,
        result,
        Date.now() - started,
      ),
      chain,
      blocksToRedeliver,
      sameTransaction,
      uniqueErrors: node.text.split("\n").filter((line) => /unique constraint|duplicate key/i.test(line)),
      reorgsLogged: countLogged(node, "chain reorganised"),
      survived: node.running,
      log,
    };
  } catch (error) {
    throw withLog(error, node, log);
  } finally {
    await rpc(devnet, "evm_setAutomine", [true]).catch(() => undefined);
    await node.stop("SIGTERM");
    writeFileSync(log, node.text);
    await devnet.stop();
  }
}

/** Sends PER_ROUND requests and mines them in one block; their ids and that block. */
async function requestInOneBlock(devnet: Devnet, round: number) {
  const { coordinator, publicClient, users } = devnet.sibyl;
  const fee = await quoteEscrow(devnet.sibyl, MODEL_ID);
  for (let i = 0; i < PER_ROUND; i++) {
    const sender = users[2 + i] as (typeof users)[number];
    await coordinator.write.request(
      [MODEL_ID, sentence("de", round * PER_ROUND + i), 0, sender.account.address],
      {
        account: sender.account,
        value: fee,
      },
    );
  }
  await rpc(devnet, "evm_mine");
  const block = await publicClient.getBlock();
  const events = await coordinator.getEvents.InferenceRequested({}, { blockHash: block.hash });
  if (events.length !== PER_ROUND) throw new Error(`${events.length} of ${PER_ROUND} requests in the block`);
  return { requested: events.map((event) => event.args.requestId as bigint), requestBlock: block.number };
}

/**
 * Waits until the node's delivery of `requested` waits in the mempool, mines it, and returns the hashes
 * of the transactions that delivered them.
 */
async function deliveryMined(devnet: Devnet, requested: bigint[], requestBlock: bigint): Promise<Set<Hex>> {
  const { publicClient } = devnet.sibyl;
  const operator = privateKeyToAccount(OPERATOR_KEY).address;
  await until(async () => {
    const [mined, pending] = await Promise.all([
      publicClient.getTransactionCount({ address: operator, blockTag: "latest" }),
      publicClient.getTransactionCount({ address: operator, blockTag: "pending" }),
    ]);
    return pending > mined ? true : undefined;
  }, 60_000);
  await rpc(devnet, "evm_mine");
  const hashes = await deliveryHashes(devnet, requested, requestBlock + 1n);
  if ((await tally(devnet, requested, requestBlock + 1n)).lost > 0)
    throw new Error("the node's first transaction did not deliver every request");
  return new Set(hashes);
}

/** The transactions that delivered `requested` since `fromBlock`. */
async function deliveryHashes(devnet: Devnet, requested: bigint[], fromBlock: bigint): Promise<Hex[]> {
  const events = await devnet.sibyl.coordinator.getEvents.ResultDelivered({}, { fromBlock });
  const wanted = new Set(requested);
  return [
    ...new Set(
      events
        .filter((event) => wanted.has(event.args.requestId as bigint))
        .map((event) => event.transactionHash),
    ),
  ];
}

/**
 * Mines empty blocks until the base fee stops falling (EIP-1559's floor, 7 wei), where a quiet chain's
 * sits: blocks mined later, empty or nearly, leave the next base fee, and so the rebuilt fees, alone.
 * One block at a time: `hardhat_mine` of many blocks does not lower the base fee per block.
 */
async function toBaseFeeFloor(devnet: Devnet): Promise<void> {
  const { publicClient } = devnet.sibyl;
  let previous: bigint | null = null;
  for (let mined = 0; mined < 400; mined++) {
    await rpc(devnet, "evm_mine");
    const { baseFeePerGas } = await publicClient.getBlock();
    if (baseFeePerGas === previous) return;
    previous = baseFeePerGas;
  }
  throw new Error(`the base fee still falls after 400 empty blocks (${previous})`);
}

/** Job states in the node's SQLite database, read as another process would. */
function statesOf(file: string, requestIds: bigint[]): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const query = db.prepare("SELECT state FROM jobs WHERE request_id = ?");
    return requestIds.map(
      (id) => (query.get(String(id)) as { state: string } | undefined)?.state ?? "unread",
    );
  } finally {
    db.close();
  }
}

function isConfirmed(state: string): boolean {
  return state === "confirmed";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
