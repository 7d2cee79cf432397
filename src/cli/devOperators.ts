/**
 * The devnet's operators: `count` staked operators, each running its own node in this process with its
 * own key, database and co-signing endpoint, so a quorum model's answers are really co-signed.
 */
import { rmSync } from "node:fs";
import path from "node:path";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { SibylConnection } from "../deploy/connection.js";
import { registerOperator } from "../deploy/index.js";
import { type NodeConfigInput, parseConfig } from "../node/config.js";
import { type RunningNode, startNode } from "../node/daemon.js";
import { createLogger } from "../node/observe/logger.js";
import { DEV_ACCOUNT, hardhatKey } from "./devAccounts.js";
import { STATE_DIR } from "./target.js";

/** Most operators `sibyl dev` runs: each is a node with its own prover process. */
export const MAX_DEV_OPERATORS = 5;
/** Operators after the first use Hardhat accounts from here on (the first three are owner, operator, user). */
const EXTRA_OPERATOR_ACCOUNT = 10;
/** How long the other nodes let pending results wait before proving them themselves. */
const BACKUP_PROVER_WAIT_MS = 15_000;
/** The first node's co-signing port; the others count up from it. */
const COSIGNING_PORT = 9465;

export interface DevOperator {
  address: Address;
  node: RunningNode;
}

export function devOperatorAccount(index: number): number {
  return index === 0 ? DEV_ACCOUNT.operator : EXTRA_OPERATOR_ACCOUNT + index - 1;
}

/** Stakes every operator first (so each node sees the others active), then starts their nodes. */
export async function startDevOperators(
  connection: SibylConnection,
  options: {
    count: number;
    coordinator: Address;
    /** The first node's settings; the others differ in key, database, API port and endpoint. */
    config: NodeConfigInput;
    apiPort: number;
  },
): Promise<DevOperator[]> {
  const accounts = Array.from({ length: options.count }, (_, i) => devOperatorAccount(i));
  for (const account of accounts) {
    await registerOperator(connection, {
      coordinator: options.coordinator,
      operator: account,
      stake: 10n ** 18n,
    });
  }
  const started: DevOperator[] = [];
  try {
    for (const [i, account] of accounts.entries()) {
      const key = hardhatKey(account);
      const database = path.join(STATE_DIR, i === 0 ? "dev-node.db" : `dev-node-${i + 1}.db`);
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${database}${suffix}`, { force: true });
      const port = COSIGNING_PORT + i;
      const config: NodeConfigInput = {
        ...options.config,
        database: { path: database },
        // Only the first node's API has a fixed port; the others take free ones.
        api: { port: i === 0 ? options.apiPort : 0 },
        // Its operators are all on this machine: loopback peers are the point.
        ...(options.count > 1
          ? { cosigning: { port, publicUrl: `http://127.0.0.1:${port}`, allowPrivatePeers: true } }
          : {}),
        // Anyone's pending results are anyone's to prove: the first node proves, the others stand by
        // (proving the same leaves at once would only share two cores three ways and race).
        ...(i > 0 ? { proving: { ...options.config.proving, maxWaitMs: BACKUP_PROVER_WAIT_MS } } : {}),
      };
      const node = await startNode(parseConfig(config), {
        env: { ...process.env, SIBYL_OPERATOR_KEY: key },
        logger: createLogger({ level: "warn", format: "pretty" }),
      });
      started.push({ address: privateKeyToAccount(key).address, node });
    }
    return started;
  } catch (error) {
    for (const { node } of started) await node.stop().catch(() => undefined);
    throw error;
  }
}
