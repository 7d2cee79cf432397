/**
 * A whole Sibyl deployment for process-level tests: `hardhat node` (or anvil) in its own process, the
 * contracts deployed to it, models registered with the hashes of the node's own specs, and a node
 * config file.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { network } from "hardhat";
import type { Hex } from "viem";

import { hardhatKey } from "../../src/cli/devAccounts.js";
import type { NodeConfigInput } from "../../src/node/config.js";
import { configHashOf } from "../../src/node/models/configHash.js";
import { createProvider, type ModelSpecInput, modelSpecSchema } from "../../src/node/models/registry.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import type { FrontierSnapshot } from "../../src/shared/merkle.js";
import { type ChildRun, startHardhatNode, startSibyl } from "./processes.js";
import { deploySibyl, quoteEscrow } from "./sibyl.js";

export { hardhatKey };

/** The coordinator's operator in deploySibyl is Hardhat's second account. */
export const OPERATOR_KEY = hardhatKey(1);

/**
 * A devnet with `models` registered, each with `options.quorum` (1) and `options.timeout` (3600 s), on
 * `hardhat node` or the chain `options.chain` starts (e.g. anvil, with the same accounts).
 */
export async function startDevnet(
  models: ModelSpecInput[],
  options: {
    quorum?: number;
    timeout?: number;
    chain?: () => Promise<{ url: string; run: ChildRun }>;
  } = {},
) {
  const chain = await (options.chain ?? startHardhatNode)();
  const connection = await network.create({ network: "localhost", override: { url: chain.url } });
  const sibyl = await deploySibyl(connection.viem);
  for (const spec of models) {
    const parsed = modelSpecSchema.parse(spec);
    await sibyl.coordinator.write.registerModel([
      modelIdFromName(parsed.name),
      {
        fee: 10n ** 14n,
        maxInputBytes: 4096,
        maxOutputBytes: 1024,
        timeout: options.timeout ?? 3600,
        enabled: true,
        quorum: options.quorum ?? 1,
        configHash: configHashOf(createProvider(parsed, { OPENAI_API_KEY: "test-key" })),
      },
    ]);
    await sibyl.publicClient.waitForTransactionReceipt({
      hash: await sibyl.ledger.write.declareModel([modelIdFromName(parsed.name)], {
        account: sibyl.operator.account,
      }),
    });
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-node-"));
  return {
    chain,
    connection,
    sibyl,
    dir,
    /** The ids of the models registered here; the default operator serves them all. */
    modelIds: models.map((spec) => modelIdFromName(modelSpecSchema.parse(spec).name)),
    /** Writes a node config for this deployment (overridable per test). */
    async writeConfig(overrides: Partial<NodeConfigInput> = {}, name = "node.json"): Promise<string> {
      const config: NodeConfigInput = {
        chain: { rpcUrl: chain.url, coordinator: sibyl.coordinator.address, pollIntervalMs: 100 },
        database: { path: "node.db" },
        models,
        api: { port: 0 },
        log: { level: "info", format: "json" },
        // Tests look at proven results: prove what was delivered within half a second.
        proving: { maxWaitMs: 500 },
        ...overrides,
      };
      const file = path.join(dir, name);
      await writeFile(
        file,
        JSON.stringify(config, (_key, value) => (typeof value === "bigint" ? String(value) : value)),
      );
      return file;
    },
    startNode(configFile: string, env: NodeJS.ProcessEnv = {}): ChildRun {
      return startSibyl(["node", "--config", configFile], {
        SIBYL_OPERATOR_KEY: OPERATOR_KEY,
        OPENAI_API_KEY: "test-key",
        ...env,
      });
    },
    async stop(): Promise<void> {
      await connection.close();
      await chain.run.stop();
    },
  };
}

export type Devnet = Awaited<ReturnType<typeof startDevnet>>;

/**
 * Sends `count` requests at once from several accounts, each sending its share in nonce order, paying
 * the quoted fee (or what `escrowOf` says), no callback. `ids[i]` is request i's id.
 */
export async function sendRequests(
  devnet: Devnet,
  count: number,
  model: Hex | ((i: number) => Hex),
  inputOf: (i: number) => Hex,
  senders = devnet.sibyl.users.slice(2, 12),
  escrowOf: (modelId: Hex) => Promise<bigint> = (modelId) => quoteEscrow(devnet.sibyl, modelId),
): Promise<bigint[]> {
  const { coordinator, publicClient } = devnet.sibyl;
  const ids: bigint[] = new Array(count);
  await Promise.all(
    senders.map(async (user, s) => {
      for (let i = s; i < count; i += senders.length) {
        const modelId = typeof model === "function" ? model(i) : model;
        const hash = await coordinator.write.request([modelId, inputOf(i), 0, user.account.address], {
          account: user.account,
          value: await escrowOf(modelId),
        });
        const receipt = await publicClient.waitForTransactionReceipt({ hash });
        const [event] = await coordinator.getEvents.InferenceRequested({}, { blockHash: receipt.blockHash });
        ids[i] = event?.args.requestId as bigint;
      }
    }),
  );
  return ids;
}

/** A node's newest checkpoint (the block it has read up to, and the result tree then), read from its
 * database as another process would. */
export function nodeCheckpoint(file: string): { block: number; tree: FrontierSnapshot } | undefined {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare("SELECT block, tree FROM checkpoints ORDER BY block DESC LIMIT 1").get() as
      | { block: number; tree: string }
      | undefined;
    return row && { block: row.block, tree: JSON.parse(row.tree) };
  } finally {
    db.close();
  }
}

/** The result tree at a node's newest checkpoint. */
export function nodeTree(file: string): FrontierSnapshot | undefined {
  return nodeCheckpoint(file)?.tree;
}

/** A node's tree root once it equals `contractRoot` (or whatever it is after 20 s). */
export async function nodeRootWhenSynced(file: string, contractRoot: bigint): Promise<bigint | undefined> {
  const started = Date.now();
  for (;;) {
    const tree = nodeTree(file);
    const root = tree && BigInt(tree.root);
    if (root === contractRoot || Date.now() - started > 20_000) return root;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
