import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { network } from "hardhat";
import { getAddress } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  deploymentFromJson,
  deploymentToJson,
  deploySibylStack,
  registerModel,
  registerOperator,
  type SibylDeployment,
} from "../../src/deploy/index.js";
import { signingProvider } from "../../src/deploy/signingProvider.js";
import { configHashOf } from "../../src/node/models/configHash.js";
import { createProvider, type ModelSpecInput, modelSpecSchema } from "../../src/node/models/registry.js";
import { BATCH_SIZES, modelIdFromName } from "../../src/shared/encoding.js";
import { SibylError } from "../../src/shared/errors.js";
import { REPO_ROOT } from "../helpers/processes.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

const DEPLOYMENTS_DIR = path.join(REPO_ROOT, "ignition/deployments");

/** A chat model spec whose key variable is unset: registering must not need the key. */
const CHAT_SPEC = {
  provider: "openai",
  name: "chat",
  model: "gpt-4o-mini",
  apiKeyEnv: "SIBYL_TEST_KEY_THAT_IS_NOT_SET",
} satisfies ModelSpecInput;

async function journalsInRepo(): Promise<string[]> {
  return readdir(DEPLOYMENTS_DIR).catch(() => []);
}

describe("deploySibylStack on the in-process network", () => {
  let connection: Connection;
  let deployment: SibylDeployment;
  let journalsBefore: string[];

  before(async () => {
    journalsBefore = await journalsInRepo();
    connection = await network.create();
    deployment = await deploySibylStack(connection);
  });

  after(async () => {
    await connection?.close();
  });

  const coordinator = () => connection.viem.getContractAt("SibylCoordinator", deployment.coordinator);
  const log = () => connection.viem.getContractAt("SibylLog", deployment.log);
  const ledger = () => connection.viem.getContractAt("OperatorLedger", deployment.ledger);

  it("wires an adapter of the right size for every batch size", async () => {
    const contract = await log();
    assert.deepEqual(await contract.read.batchSizes(), BATCH_SIZES.map(BigInt));
    for (const batchSize of BATCH_SIZES) {
      const adapter = deployment.verifiers[batchSize];
      assert.equal(await contract.read.verifierFor([BigInt(batchSize)]), adapter);
      const verifier = await connection.viem.getContractAt("Groth16BatchVerifier", adapter);
      assert.equal(await verifier.read.batchSize(), BigInt(batchSize));
    }
  });

  it("registers language-id, enabled, pinned to the hash a node serving it computes", async () => {
    const spec = modelSpecSchema.parse({ provider: "builtin", name: "language-id", builtin: "language-id" });
    const configHash = configHashOf(createProvider(spec));
    const modelId = modelIdFromName("language-id");
    const model = await (await coordinator()).read.modelOf([modelId]);
    assert.deepEqual(model, {
      fee: 10n ** 14n,
      maxInputBytes: 4096,
      maxOutputBytes: 256,
      timeout: 3600,
      enabled: true,
      quorum: 1,
      configHash,
    });
    assert.deepEqual(deployment.models, [{ name: "language-id", modelId, configHash }]);
  });

  it("points PromptBoard at language-id with its callback gas, through the log", async () => {
    const board = await connection.viem.getContractAt("PromptBoard", deployment.promptBoard);
    assert.equal(await board.read.modelId(), modelIdFromName("language-id"));
    assert.equal(await board.read.callbackGasLimit(), 300_000);
    assert.equal(await board.read.sibylLog(), deployment.log);
    assert.equal(await board.read.sibylCoordinator(), deployment.coordinator);
  });

  it("reports the block of the log's deployment and the chain id", async () => {
    const client = await connection.viem.getPublicClient();
    assert.equal(deployment.chainId, await client.getChainId());
    const address = deployment.log;
    assert.equal(await client.getCode({ address, blockNumber: deployment.deploymentBlock - 1n }), undefined);
    assert.ok(await client.getCode({ address, blockNumber: deployment.deploymentBlock }));
  });

  it("owns the log, the ledger and the coordinator with the first account", async () => {
    const [owner] = await connection.viem.getWalletClients();
    assert.ok(owner);
    for (const contract of [await log(), await ledger(), await coordinator()])
      assert.equal(await contract.read.owner(), getAddress(owner.account.address));
  });

  it("round-trips the deployment through JSON", () => {
    const text = JSON.stringify(deploymentToJson(deployment));
    assert.deepEqual(deploymentFromJson(JSON.parse(text)), deployment);
    assert.match(text, new RegExp(`"deploymentBlock":"${deployment.deploymentBlock}"`));
  });

  it("rejects a deployment file with a bad field, naming it", () => {
    const json = { ...deploymentToJson(deployment), verifiers: { 1: deployment.verifiers[1] } };
    assert.throws(
      () => deploymentFromJson(json),
      (error: unknown) => error instanceof SibylError && /verifiers\.4/.test(error.message),
    );
  });

  it("writes no Ignition journal into the repository", async () => {
    assert.deepEqual(await journalsInRepo(), journalsBefore);
  });

  it("takes module parameters from the caller", async () => {
    const other = await network.create();
    try {
      const custom = await deploySibylStack(other, {
        parameters: {
          BuiltinModels: { fee: 5n * 10n ** 14n },
          Examples: { promptBoardCallbackGasLimit: 123_456 },
        },
      });
      const contract = await other.viem.getContractAt("SibylCoordinator", custom.coordinator);
      assert.equal((await contract.read.modelOf([modelIdFromName("language-id")])).fee, 5n * 10n ** 14n);
      const board = await other.viem.getContractAt("PromptBoard", custom.promptBoard);
      assert.equal(await board.read.callbackGasLimit(), 123_456);
    } finally {
      await other.close();
    }
  });

  it("deploys through a signing provider, from a key the chain does not hold (what sibyl deploy does)", async () => {
    const key = generatePrivateKey();
    const owner = privateKeyToAccount(key);
    const [funder] = await connection.viem.getWalletClients();
    assert.ok(funder);
    const publicClient = await connection.viem.getPublicClient();
    await publicClient.waitForTransactionReceipt({
      hash: await funder.sendTransaction({ to: owner.address, value: 10n ** 18n }),
    });
    const keyed = await deploySibylStack({ provider: signingProvider(connection.provider, owner) });
    const coordinator = await connection.viem.getContractAt("SibylCoordinator", keyed.coordinator);
    const keyedLog = await connection.viem.getContractAt("SibylLog", keyed.log);
    const keyedLedger = await connection.viem.getContractAt("OperatorLedger", keyed.ledger);
    for (const contract of [coordinator, keyedLog, keyedLedger])
      assert.equal(getAddress(await contract.read.owner()), owner.address);
    assert.deepEqual(await keyedLog.read.batchSizes(), [1n, 4n, 16n, 64n]);
  });

  describe("registerModel", () => {
    it("registers a model pinned to its spec's hash, once", async () => {
      const first = await registerModel(connection, { coordinator: deployment.coordinator, spec: CHAT_SPEC });
      assert.equal(first.registered, true);
      assert.equal(first.modelId, modelIdFromName("chat"));
      const expectedHash = configHashOf(
        createProvider(modelSpecSchema.parse(CHAT_SPEC), { [CHAT_SPEC.apiKeyEnv]: "any-key" }),
      );
      assert.equal(first.configHash, expectedHash);
      const model = await (await coordinator()).read.modelOf([first.modelId]);
      assert.equal(model.configHash, expectedHash);
      assert.equal(model.enabled, true);
      assert.equal(model.maxOutputBytes, 1024);

      const again = await registerModel(connection, { coordinator: deployment.coordinator, spec: CHAT_SPEC });
      assert.deepEqual(again, { ...first, registered: false });
    });

    it("refuses a name already registered with another config", async () => {
      await assert.rejects(
        registerModel(connection, {
          coordinator: deployment.coordinator,
          spec: { ...CHAT_SPEC, temperature: 0.7 },
        }),
        (error: unknown) =>
          error instanceof SibylError &&
          /model "chat" is already registered .* with config hash/.test(error.message),
      );
    });
  });

  describe("registerOperator", () => {
    it("stakes minStake and activates the operator, once", async () => {
      const wallets = await connection.viem.getWalletClients();
      assert.ok(wallets[1]);
      const operator = getAddress(wallets[1].account.address);
      const first = await registerOperator(connection, { coordinator: deployment.coordinator, operator: 1 });
      assert.deepEqual(first, { operator, registered: true });
      const registration = await (await ledger()).read.operatorOf([operator]);
      assert.equal(registration.active, true);
      assert.equal(registration.stake, 10n ** 18n);

      const again = await registerOperator(connection, { coordinator: deployment.coordinator, operator });
      assert.deepEqual(again, { operator, registered: false });
    });

    it("says which accounts it can sign for when the operator is not one", async () => {
      await assert.rejects(
        registerOperator(connection, {
          coordinator: deployment.coordinator,
          operator: "0x000000000000000000000000000000000000dEaD",
        }),
        (error: unknown) =>
          error instanceof SibylError && /is not one the default connection can sign for/.test(error.message),
      );
    });
  });
});
