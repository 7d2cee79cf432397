/**
 * A whole Sibyl deployment for process-level tests: `hardhat node` in its own process, the contracts
 * deployed to it, models registered with the hashes of the node's own specs, and a node config file.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { network } from "hardhat";

import { hardhatKey } from "../../src/cli/devAccounts.js";
import type { NodeConfigInput } from "../../src/node/config.js";
import { configHashOf } from "../../src/node/models/configHash.js";
import { createProvider, type ModelSpecInput, modelSpecSchema } from "../../src/node/models/registry.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type ChildRun, startHardhatNode, startSibyl } from "./processes.js";
import { deploySibyl } from "./sibyl.js";

export { hardhatKey };

/** The coordinator's operator in deploySibyl is Hardhat's second account. */
export const OPERATOR_KEY = hardhatKey(1);

export async function startDevnet(models: ModelSpecInput[]) {
  const chain = await startHardhatNode();
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
        timeout: 3600,
        enabled: true,
        configHash: configHashOf(createProvider(parsed, { OPENAI_API_KEY: "test-key" })),
      },
    ]);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-node-"));
  return {
    chain,
    connection,
    sibyl,
    dir,
    /** Writes a node config for this deployment (overridable per test). */
    async writeConfig(overrides: Partial<NodeConfigInput> = {}, name = "node.json"): Promise<string> {
      const config: NodeConfigInput = {
        chain: { rpcUrl: chain.url, coordinator: sibyl.coordinator.address, pollIntervalMs: 100 },
        database: { path: "node.db" },
        models,
        api: { port: 0 },
        log: { level: "info", format: "json" },
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
