/**
 * Room to grow (issue 19): every contract a deployment puts onchain compiles, with the classic
 * pipeline, to at most 75% of EIP-170's 24,576-byte limit on runtime code. A contract that grows past it
 * fails here, and so does a new deployable contract that is not on the list below.
 */
import assert from "node:assert/strict";
import hre from "hardhat";
import { describe, it } from "mocha";

const EIP_170_LIMIT = 24_576;
const SIZE_LIMIT = (EIP_170_LIMIT * 3) / 4;

/** Everything a deployment or its examples deploy: the long-lived contracts, the versioned coordinator,
 * the generated verifiers and their adapter, the example dapps. */
const DEPLOYED = [
  "contracts/SibylLog.sol:SibylLog",
  "contracts/OperatorLedger.sol:OperatorLedger",
  "contracts/SibylCoordinator.sol:SibylCoordinator",
  "contracts/verifiers/BatchAppendVerifier1.sol:BatchAppendVerifier1",
  "contracts/verifiers/BatchAppendVerifier4.sol:BatchAppendVerifier4",
  "contracts/verifiers/BatchAppendVerifier16.sol:BatchAppendVerifier16",
  "contracts/verifiers/BatchAppendVerifier64.sol:BatchAppendVerifier64",
  "contracts/verifiers/Groth16BatchVerifier.sol:Groth16BatchVerifier",
  "contracts/examples/PromptBoard.sol:PromptBoard",
  "contracts/examples/YesNoMarket.sol:YesNoMarket",
];

/** Compiled but never deployed by a deployment: test doubles, and code other contracts inline. */
const NOT_DEPLOYED = /^contracts\/(mocks|interfaces|libraries)\//;
/** A library's runtime code opens with PUSH20 <its address> ADDRESS EQ (its call protection). */
const LIBRARY_PREFIX = /^0x730{40}3014/;

async function runtimeCode(name: string): Promise<string> {
  return (await hre.artifacts.readArtifact(name)).deployedBytecode;
}

async function runtimeSize(name: string): Promise<number> {
  return ((await runtimeCode(name)).length - 2) / 2;
}

describe("contract sizes", () => {
  it(`every deployed contract's runtime code is at most ${SIZE_LIMIT} bytes (75% of EIP-170)`, async () => {
    const tooLarge: string[] = [];
    for (const name of DEPLOYED) {
      const size = await runtimeSize(name);
      assert.ok(size > 0, `${name} has runtime code`);
      if (size > SIZE_LIMIT) tooLarge.push(`${name}: ${size} bytes`);
    }
    assert.deepEqual(tooLarge, [], `over ${SIZE_LIMIT} bytes`);
  });

  it("every deployable contract under contracts/ is on the list", async () => {
    const names = [...(await hre.artifacts.getAllFullyQualifiedNames())].filter(
      (name) => name.startsWith("contracts/") && !NOT_DEPLOYED.test(name),
    );
    const unlisted: string[] = [];
    for (const name of names) {
      const code = await runtimeCode(name);
      if (!DEPLOYED.includes(name) && code !== "0x" && !LIBRARY_PREFIX.test(code)) unlisted.push(name);
    }
    assert.deepEqual(unlisted, [], "deployable contracts missing from DEPLOYED");
  });
});
