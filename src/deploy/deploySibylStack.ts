/**
 * Deploys the whole stack (result log, operators' ledger, coordinator, verifiers, built-in models,
 * example dapps) with the Ignition modules in ignition/modules, and returns plain addresses.
 *
 * Ignition keeps a journal of every transaction it sends and, on the next run with the same deployment
 * id, reconciles with it instead of deploying again. That is right for a lasting network (an
 * interrupted deployment resumes) and wrong for a devnet started fresh each time: a journal left by the
 * previous chain names contracts the new chain has never seen. The hardhat-ignition plugin's
 * `connection.ignition.deploy` always journals to `<paths.ignition>/deployments/<id>` on an HTTP
 * network, so this calls ignition-core's `deploy` (which the plugin wraps) and chooses the directory:
 * with a `deploymentId`, the plugin's own path (`ignition/deployments/<id>` in the working directory),
 * so `hardhat ignition status <id>` and resumption work;
 * without one, a fresh temporary directory removed afterwards, so every call deploys a new stack and
 * nothing is left in the repository. The journal is kept (not in-memory) in both cases because it is
 * where the log's deployment transaction, and from it the deployment block, is found.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  type DeployConfig,
  type DeploymentParameters,
  DeploymentResultType,
  deploy,
  type EIP1193Provider,
  listTransactions,
} from "@nomicfoundation/ignition-core";
import { type Address, getAddress, type Hash, isAddressEqual } from "viem";
import { BUILTIN_MODELS } from "../../ignition/modules/BuiltinModels.js";
import ExamplesModule from "../../ignition/modules/Examples.js";
import SibylModule, { adapterId } from "../../ignition/modules/Sibyl.js";
import { PACKAGE_ROOT } from "../node/packageRoot.js";
import { BATCH_SIZES, type BatchSize } from "../shared/encoding.js";
import { SibylError } from "../shared/errors.js";
import { SibylArtifactResolver } from "./artifacts.js";
import { publicClientOf, type SibylConnection } from "./connection.js";
import type { SibylDeployment } from "./deployment.js";
import { deploymentFailure, JOURNALS_DIR, readParametersFile } from "./ignitionFiles.js";

export interface DeploySibylStackParameters {
  /**
   * Module parameters as Ignition takes them (`{ Sibyl: { minStake: 10n ** 18n }, BuiltinModels: {...} }`),
   * or the path of a parameters file. Default: `ignition/parameters/<network name>.json` when it exists
   * (`localhost`, or `default` for the in-process network), else the modules' own defaults.
   */
  parameters?: DeploymentParameters | string;
  /**
   * Journal the deployment in `ignition/deployments/<deploymentId>` so that a rerun resumes it: pass
   * one for a lasting network. Without it each call deploys a fresh stack (what a devnet needs). Ignored
   * on the in-process network, whose chain ends with the process.
   */
  deploymentId?: string;
}

export type DeploySibylStackReturnType = SibylDeployment;

/** The directory of the per-network parameter files. */
export const PARAMETERS_DIR = path.join(PACKAGE_ROOT, "ignition", "parameters");

/**
 * @example
 * const connection = await network.create({ network: "localhost", override: { url } });
 * const deployment = await deploySibylStack(connection);
 * console.log(deployment.coordinator, deployment.deploymentBlock);
 */
export async function deploySibylStack(
  connection: SibylConnection,
  { parameters, deploymentId }: DeploySibylStackParameters = {},
): Promise<DeploySibylStackReturnType> {
  const provider = connection.provider as EIP1193Provider;
  const ignition = connection.networkConfig?.ignition ?? {};
  const publicClient = publicClientOf(connection);
  const chainId = await publicClient.getChainId();
  const accounts = (await provider.request({ method: "eth_accounts" })) as string[];
  const artifactResolver = new SibylArtifactResolver();
  const journal = await openJournal(connection, deploymentId);
  try {
    const result = await deploy({
      config: deployConfig(connection),
      artifactResolver,
      provider,
      deploymentDir: journal.dir,
      ignitionModule: ExamplesModule,
      deploymentParameters: await resolveParameters(parameters, connection.networkName ?? "default"),
      accounts,
      maxFeePerGasLimit: ignition.maxFeePerGasLimit,
      maxFeePerGas: ignition.maxFeePerGas,
      maxPriorityFeePerGas: ignition.maxPriorityFeePerGas,
      gasPrice: ignition.gasPrice,
      disableFeeBumping: ignition.disableFeeBumping,
    });
    if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
      throw new SibylError(`deploying the Sibyl stack to chain ${chainId} failed`, {
        details: deploymentFailure(result),
      });
    }
    const addressOf = (futureId: string): Address => {
      const contract = result.contracts[futureId];
      if (contract === undefined) throw new SibylError(`the deployment has no contract ${futureId}`);
      return getAddress(contract.address);
    };
    const log = addressOf(SibylModule.results.log.id);
    const ledger = addressOf(SibylModule.results.ledger.id);
    const coordinator = addressOf(SibylModule.results.coordinator.id);
    const promptBoard = addressOf(ExamplesModule.results.promptBoard.id);
    const verifiers = Object.fromEntries(
      BATCH_SIZES.map((batchSize) => [batchSize, addressOf(`${SibylModule.id}#${adapterId(batchSize)}`)]),
    ) as Record<BatchSize, Address>;
    // Ignition trusts its journal: one left by an earlier chain (a devnet restarted with the same
    // deploymentId) "succeeds" without sending anything and returns addresses with no code.
    for (const contract of [log, ledger, coordinator, promptBoard, ...Object.values(verifiers)]) {
      const code = await publicClient.getCode({ address: contract });
      if (code === undefined || code === "0x") {
        throw new SibylError(
          `the Ignition journal ${journal.dir} is not of this chain: ${contract} has no code`,
          {
            details: "delete that directory or pass another deploymentId; omit it for a devnet started fresh",
          },
        );
      }
    }
    const deploymentTx = await deploymentTransaction(journal.dir, artifactResolver, log);
    const receipt = await publicClient.getTransactionReceipt({ hash: deploymentTx });
    return {
      chainId,
      log,
      ledger,
      coordinator,
      promptBoard,
      verifiers,
      deploymentBlock: receipt.blockNumber,
      models: BUILTIN_MODELS.map(({ name, modelId, configHash }) => ({ name, modelId, configHash })),
    };
  } finally {
    await journal.discard();
  }
}

/**
 * The network's Ignition retry settings, when the project uses the Ignition plugin. Unset keys are left
 * out, not set to undefined: ignition-core spreads this over its defaults.
 */
function deployConfig(connection: SibylConnection): Partial<DeployConfig> {
  const { maxRetries, retryInterval } = connection.networkConfig?.ignition ?? {};
  return {
    ...(maxRetries === undefined ? {} : { maxRetries }),
    ...(retryInterval === undefined ? {} : { retryInterval }),
  };
}

interface Journal {
  dir: string;
  discard(): Promise<void>;
}

async function openJournal(connection: SibylConnection, deploymentId: string | undefined): Promise<Journal> {
  if (deploymentId !== undefined && connection.networkConfig?.type !== "edr-simulated") {
    const dir = path.join(JOURNALS_DIR, deploymentId);
    return { dir, discard: async () => {} };
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), "sibyl-ignition-"));
  return { dir, discard: () => rm(dir, { recursive: true, force: true }) };
}

async function resolveParameters(
  parameters: DeploymentParameters | string | undefined,
  networkName: string,
): Promise<DeploymentParameters> {
  if (typeof parameters === "string") return readParametersFile(parameters);
  if (parameters !== undefined) return parameters;
  const networkFile = path.join(PARAMETERS_DIR, `${networkName}.json`);
  const exists = await stat(networkFile).then(
    (file) => file.isFile(),
    () => false,
  );
  return exists ? readParametersFile(networkFile) : {};
}

/** The transaction that deployed `contract`, from the journal (this run's or, resumed, an earlier one's). */
async function deploymentTransaction(
  journalDir: string,
  artifactResolver: SibylArtifactResolver,
  contract: Address,
): Promise<Hash> {
  const transactions = await listTransactions(journalDir, artifactResolver);
  const deployment = transactions.find(
    (transaction) =>
      transaction.address !== undefined && isAddressEqual(transaction.address as Address, contract),
  );
  if (deployment === undefined) {
    throw new SibylError(`the deployment journal in ${journalDir} has no transaction deploying ${contract}`);
  }
  return deployment.txHash as Hash;
}
