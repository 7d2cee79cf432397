/**
 * `sibyl/hardhat/plugin` in a Hardhat runtime of its own, over this repository's build: a consumer
 * whose request the coordinator refuses must fail in the test with the coordinator's error by name.
 * This project's own runtime (without the plugin) is the control: viem decodes with the called
 * contract's ABI only and cannot name it.
 */
import assert from "node:assert/strict";
import path from "node:path";
import hardhatViem from "@nomicfoundation/hardhat-viem";
import { network, artifacts as projectArtifacts } from "hardhat";
import { createHardhatRuntimeEnvironment } from "hardhat/hre";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { BaseError, ContractFunctionRevertedError } from "viem";
import { mockSibyl } from "../../src/hardhat/index.js";
import sibylPlugin from "../../src/hardhat/plugin.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { REPO_ROOT } from "../helpers/processes.js";

type Connection = Awaited<ReturnType<HardhatRuntimeEnvironment["network"]["create"]>>;

/** Deploys a PromptBoard (a SibylConsumer) on the mock's log and asks it with 1 wei. */
async function askWithOneWei(connection: Connection): Promise<unknown> {
  const sibyl = await mockSibyl(connection);
  const board = await connection.viem.deployContract("PromptBoard", [
    sibyl.log,
    modelIdFromName("language-id"),
    100_000,
  ]);
  return board.write.ask(["Is it raining?"], { value: 1n }).then(
    () => assert.fail("a request with 1 wei went through"),
    (error: unknown) => error,
  );
}

function revertOf(error: unknown): ContractFunctionRevertedError {
  assert.ok(error instanceof BaseError, `a viem error, got ${error}`);
  const revert = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
  assert.ok(revert instanceof ContractFunctionRevertedError, error.message);
  return revert;
}

describe("sibyl/hardhat/plugin: the coordinator's errors decoded in a consumer's tests", () => {
  let hre: HardhatRuntimeEnvironment;

  before(async () => {
    hre = await createHardhatRuntimeEnvironment(
      { plugins: [hardhatViem, sibylPlugin], paths: { artifacts: path.join(REPO_ROOT, "artifacts") } },
      {},
      REPO_ROOT,
    );
  });

  it("without the plugin, viem cannot name the coordinator's error (the control)", async () => {
    const connection = await network.create();
    try {
      const revert = revertOf(await askWithOneWei(connection));
      assert.equal(revert.data, undefined);
      assert.match(revert.message, /Unable to decode signature "0xb99e2ab7"/);
    } finally {
      await connection.close();
    }
  });

  it("with the plugin, the consumer's call fails with InsufficientPayment and its values", async () => {
    const connection = await hre.network.create();
    try {
      const revert = revertOf(await askWithOneWei(connection));
      assert.equal(revert.data?.errorName, "InsufficientPayment");
      const [paid, required] = (revert.data?.args ?? []) as [bigint, bigint];
      assert.equal(paid, 1n);
      assert.ok(required > paid);
      assert.match(revert.message, /InsufficientPayment\(uint256 paid, uint256 required\)/);
    } finally {
      await connection.close();
    }
  });

  it("leaves a contract that is not a consumer as compiled, and the build infos as they are", async () => {
    const errorsOf = async (name: string) =>
      ((await hre.artifacts.readArtifact(name)).abi as readonly { type: string; name?: string }[]).flatMap(
        (item) => (item.type === "error" ? [item.name] : []),
      );
    assert.ok(!(await errorsOf("MockBatchVerifier")).includes("InsufficientPayment"));
    const names = await errorsOf("PromptBoard");
    assert.equal(new Set(names).size, names.length, "each error once");
    assert.ok(names.includes("SibylConsumer__OnlyCoordinator") && names.includes("UnknownModel"));
    assert.deepEqual(
      [...(await hre.artifacts.getAllBuildInfoIds())].sort(),
      [...(await projectArtifacts.getAllBuildInfoIds())].sort(),
    );
  });
});
