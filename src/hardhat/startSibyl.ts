/**
 * `startSibyl(connection)`: the whole Sibyl stack inside a user's Hardhat test, in one call. The
 * contracts are deployed from the package's precompiled artifacts onto the connection's network (the
 * in-process one included), a fresh operator is funded and staked, and the real node runs in this
 * process against the connection's provider: real model, real Groth16 proofs, real fulfilments.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { publicClientOf, transportOf } from "../deploy/connection.js";
import type { SibylConnection, SibylDeployment } from "../deploy/index.js";
import {
  type DeploySibylStackParameters,
  deploySibylStack,
  registerModel,
  registerOperator,
} from "../deploy/index.js";
import { parseConfig } from "../node/config.js";
import { type RunningNode, startNode } from "../node/daemon.js";
import { type ModelSpecInput, parseModelSpec } from "../node/models/registry.js";
import { createLogger } from "../node/observe/logger.js";
import type { SibylResult } from "../sdk/types.js";
import { waitForResult } from "../sdk/waitForResult.js";
import { operatorLedgerAbi } from "../shared/abi/generated.js";
import { modelIdFromName } from "../shared/encoding.js";
import { fundedKey } from "./connection.js";

export interface StartSibylOptions {
  /**
   * Models the node serves besides the built-in `language-id` (e.g. an OpenAI-compatible server); each
   * is registered with its config hash before the node starts.
   */
  models?: ModelSpecInput[];
  /** Ignition module parameters for the deployment (fees, limits). */
  parameters?: DeploySibylStackParameters["parameters"];
  /** Node log level; the default only reports problems. */
  logLevel?: "silent" | "error" | "warn" | "info" | "debug";
}

export interface SibylFixture {
  deployment: SibylDeployment;
  /** The result log: what a consumer contract is built on (SibylConsumer(log)); it names the coordinator. */
  log: Address;
  coordinator: Address;
  /** The staked operator the embedded node signs with. */
  operator: Address;
  node: RunningNode;
  /** A registered model's onchain id: its name as bytes32. */
  modelId(name: string): Hex;
  /** Resolves with the request's result once it is on chain (rejects after `timeoutMs`, 60 s by default). */
  waitForResult(requestId: bigint, options?: { timeoutMs?: number }): Promise<SibylResult>;
  /** Stops the node and removes its database; the contracts stay on the chain. */
  stop(): Promise<void>;
}

const OPERATOR_FUNDS = 10n ** 18n;

/**
 * @example
 * import { network } from "hardhat";
 * import { startSibyl } from "sibyl/hardhat";
 *
 * const connection = await network.create();
 * const sibyl = await startSibyl(connection);
 * // ... deploy a consumer with sibyl.log (SibylConsumer's constructor), make it ask, then:
 * const result = await sibyl.waitForResult(requestId);
 * await sibyl.stop();
 */
export async function startSibyl(
  connection: SibylConnection,
  options: StartSibylOptions = {},
): Promise<SibylFixture> {
  // A mistake in a spec fails here, in one line naming the field, before anything is deployed.
  const extraModels = (options.models ?? []).map((spec, index) => {
    parseModelSpec(spec, `models.${index}`);
    return spec;
  });
  const deployment = await deploySibylStack(connection, { parameters: options.parameters });
  const { coordinator } = deployment;
  const served = deployment.models.map((model) => model.modelId);
  for (const spec of extraModels)
    served.push((await registerModel(connection, { coordinator, spec })).modelId);
  const { minStake } = await publicClientOf(connection, 50).readContract({
    address: deployment.ledger,
    abi: operatorLedgerAbi,
    functionName: "operatorParameters",
  });
  const operatorKey = await fundedKey(connection, minStake + OPERATOR_FUNDS);
  const operator = privateKeyToAccount(operatorKey);
  await registerOperator(connection, { coordinator, operator, stake: minStake, models: served });

  const dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-fixture-"));
  const config = parseConfig({
    // The node reaches the chain through the connection (`transport` below); this URL is never dialled.
    chain: {
      rpcUrl: "http://hardhat-connection.invalid",
      coordinator,
      deploymentBlock: deployment.deploymentBlock,
      pollIntervalMs: 50,
    },
    database: { path: path.join(dir, "node.db") },
    models: [{ provider: "builtin", name: "language-id", builtin: "language-id" }, ...extraModels],
    batching: { maxWaitMs: 20 },
    // Results reach their consumers at once; their proofs follow within a second, so a test that
    // verifies them waits little.
    proving: { maxWaitMs: 1_000 },
    api: { enabled: false },
    log: { level: options.logLevel ?? "warn", format: "pretty" },
  });
  let node: RunningNode;
  try {
    node = await startNode(config, {
      transport: transportOf(connection),
      env: { SIBYL_OPERATOR_KEY: operatorKey },
      logger: createLogger(config.log),
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const client = publicClientOf(connection, 50);
  return {
    deployment,
    log: deployment.log,
    coordinator,
    operator: operator.address,
    node,
    modelId: (name) => modelIdFromName(name),
    waitForResult: (requestId, { timeoutMs = 60_000 } = {}) =>
      waitForResult(client, { coordinator, requestId, timeoutMs, fromBlock: deployment.deploymentBlock }),
    async stop() {
      await node.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
