/**
 * Follows a deployment's events (every coordinator version's and the result log's) from a persisted
 * checkpoint, `confirmations` blocks behind the head. Each range is committed with the hash of its last
 * block and the tree after it; when a stored hash no longer matches the chain, it rewinds to the newest
 * checkpoint that still does and reads again. A range in which the log authorizes a new coordinator is
 * read again with it, so the node follows an upgrade without a restart.
 */
import { BlockNotFoundError, type Hex, type PublicClient } from "viem";
import { sibylLogAbi } from "../../shared/abi/generated.js";
import { eventSources, resolveSibylContracts, type SibylContracts } from "../../shared/contracts.js";
import type { NodeContext } from "../context.js";
import type { Checkpoint, JobStore } from "../store/store.js";
import { applyLogs, WATCHED_EVENTS } from "./events.js";
import { LogMirror, TreeMismatchError } from "./logMirror.js";

export interface ListenerOptions {
  client: PublicClient;
  store: JobStore;
  /** The deployment as the node found it at start; the listener keeps it up to date. */
  contracts: SibylContracts;
  deploymentBlock: bigint;
  confirmations: number;
  maxLogRange: number;
  reorgDepth: number;
  servedModels: ReadonlySet<Hex>;
}

export interface PollResult {
  /** The last block now read. */
  block: bigint;
  head: bigint;
  inserted: number;
  /** The block rewound to, when a reorg was found. */
  rewoundTo: bigint | undefined;
  /** Timestamp of `block`, when known (not before the first checkpoint, nor right after a rewind). */
  timestamp: bigint | undefined;
  caughtUp: boolean;
}

export class ChainListener {
  readonly #options: ListenerOptions;
  readonly #context: NodeContext;
  #log: LogMirror;
  #checkpoint: Checkpoint | undefined;
  #rewinds = 0;
  #rootChecked = false;
  #contracts: SibylContracts;
  #resumed = false;

  constructor(context: NodeContext, options: ListenerOptions) {
    this.#context = context;
    this.#options = options;
    this.#contracts = options.contracts;
    this.#log = new LogMirror();
  }

  /** Resumes from the store's last checkpoint, if it has one (read at the first poll: when this node leads). */
  async #resume(): Promise<void> {
    this.#checkpoint = await this.#options.store.checkpoint();
    this.#log = this.#checkpoint ? LogMirror.fromSnapshot(this.#checkpoint.tree) : new LogMirror();
    this.#resumed = true;
  }

  /** A copy of the result log (tree and pending queue) as of the last block read. */
  get log(): LogMirror {
    return this.#log.copy();
  }

  /** The deployment's contracts, coordinator versions included, as of the last block read. */
  get contracts(): SibylContracts {
    return this.#contracts;
  }

  /** How many times the listener has rewound: a block it was waiting for may be gone with one. */
  get rewinds(): number {
    return this.#rewinds;
  }

  get lastBlock(): bigint {
    return this.#checkpoint?.block ?? this.#options.deploymentBlock - 1n;
  }

  /** Reads the next range (or detects a reorg and rewinds); safe to call in a loop. */
  async poll(): Promise<PollResult> {
    const { client, confirmations, maxLogRange } = this.#options;
    if (!this.#resumed) await this.#resume();
    const head = await client.getBlockNumber({ cacheTime: 0 });
    const { rewoundTo, checkpointTime } = await this.#rewindIfReorged();
    const target = head - BigInt(confirmations);
    const from = this.lastBlock + 1n;
    if (target < from) {
      return {
        block: this.lastBlock,
        head,
        inserted: 0,
        rewoundTo,
        timestamp: checkpointTime,
        caughtUp: true,
      };
    }
    const to = from + BigInt(maxLogRange) - 1n < target ? from + BigInt(maxLogRange) - 1n : target;
    const before = await client.getBlock({ blockNumber: to });
    let logs = await this.#logsOf(from, to);
    if (logs.some((log) => log.eventName === "CoordinatorAuthorized")) {
      // A new version may have taken requests in this very range: learn it, then read the range again.
      this.#contracts = await resolveSibylContracts(client, this.#contracts.log, to);
      logs = await this.#logsOf(from, to);
      this.#context.logger.info(
        { coordinator: this.#contracts.current, block: String(to) },
        "following the coordinator the log authorized",
      );
    }
    const after = await client.getBlock({ blockNumber: to });
    // The chain moved under the read: try again on the next poll rather than mix two forks.
    if (
      before.hash !== after.hash ||
      logs.some((log) => log.blockNumber === to && log.blockHash !== after.hash)
    ) {
      return {
        block: this.lastBlock,
        head,
        inserted: 0,
        rewoundTo,
        timestamp: checkpointTime,
        caughtUp: false,
      };
    }
    const log = this.log;
    const update = applyLogs(logs, log, this.#options.servedModels);
    const checkpoint = { block: to, hash: after.hash, tree: log.snapshot() };
    const { inserted } = await this.#options.store.commitRange({
      ...update,
      checkpoint,
      keep: this.#options.reorgDepth,
    });
    this.#log = log;
    this.#checkpoint = checkpoint;
    if (inserted > 0) this.#context.crashAt("after-read");
    if (update.requested.length > 0 || update.batches > 0) {
      this.#context.logger.debug(
        { from, to, requests: update.requested.length, batches: update.batches, inserted },
        "read block range",
      );
    }
    const caughtUp = to === target;
    if (caughtUp && !this.#rootChecked) await this.#checkRootAgainstChain(to);
    return { block: to, head, inserted, rewoundTo, timestamp: after.timestamp, caughtUp };
  }

  #logsOf(fromBlock: bigint, toBlock: bigint) {
    return this.#options.client.getLogs({
      address: eventSources(this.#contracts),
      events: WATCHED_EVENTS,
      fromBlock,
      toBlock,
      strict: true,
    });
  }

  /**
   * Checks the checkpoint's block is still on the chain (and returns its time), or rewinds. A checkpoint
   * block the chain no longer has (it got shorter: `evm_revert`, which Hardhat's loadFixture uses
   * between tests, or a reorg onto a shorter fork) is a reorg like a changed hash.
   */
  async #rewindIfReorged(): Promise<{ rewoundTo?: bigint; checkpointTime?: bigint }> {
    if (this.#checkpoint === undefined) return {};
    const current = await this.#blockAt(this.#checkpoint.block);
    if (current?.hash === this.#checkpoint.hash) return { checkpointTime: current.timestamp };
    const { store, reorgDepth, deploymentBlock } = this.#options;
    let ancestor: Checkpoint | undefined;
    for (const checkpoint of await store.recentCheckpoints(reorgDepth)) {
      const block = await this.#blockAt(checkpoint.block);
      if (block?.hash === checkpoint.hash) {
        ancestor = checkpoint;
        break;
      }
    }
    // Deeper than every hash kept: start over from the deployment block.
    const rewindBlock = ancestor?.block ?? deploymentBlock - 1n;
    const { dropped, reopened } = await store.rewindTo(rewindBlock);
    this.#rewinds++;
    this.#checkpoint = ancestor;
    this.#log = ancestor ? LogMirror.fromSnapshot(ancestor.tree) : new LogMirror();
    this.#context.logger.warn(
      { rewindBlock, dropped, reopened },
      "chain reorganised: rewound and re-reading",
    );
    this.#context.metrics.errors.inc({ kind: "reorg" });
    return { rewoundTo: rewindBlock };
  }

  /** The block at `blockNumber`, or undefined when the chain has none (it is shorter than that). */
  async #blockAt(blockNumber: bigint) {
    try {
      return await this.#options.client.getBlock({ blockNumber });
    } catch (error) {
      if (error instanceof BlockNotFoundError) return undefined;
      throw error;
    }
  }

  /** After a resync, the rebuilt tree must be the contract's, or nothing the node proves can land. */
  async #checkRootAgainstChain(block: bigint): Promise<void> {
    const root = await this.#options.client.readContract({
      address: this.#contracts.log,
      abi: sibylLogAbi,
      functionName: "root",
      blockNumber: block,
    });
    if (root !== this.#log.tree.root) {
      throw new TreeMismatchError(
        `the contract's root at block ${block} is ${root}, the node rebuilt ${this.#log.tree.root}`,
      );
    }
    this.#rootChecked = true;
    this.#context.logger.info(
      {
        block,
        root: String(root),
        nextIndex: String(this.#log.tree.nextIndex),
        pending: this.#log.pending.length,
      },
      "result log in sync",
    );
  }
}
