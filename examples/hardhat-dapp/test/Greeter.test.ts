import assert from "node:assert/strict";
import { network } from "hardhat";
import {
  CallbackOutcome,
  estimateFee,
  modelIdFromName,
  ResultStatus,
  sibylCoordinatorAbi,
  verifyResult,
} from "sibyl";
import { mockSibyl, startSibyl } from "sibyl/hardhat";
import { type Address, BaseError, ContractFunctionRevertedError, hexToString, parseEventLogs } from "viem";

type Connection = Awaited<ReturnType<typeof network.create>>;

/**
 * Deploys a Greeter built on the deployment's result `log` and returns a function that asks it and gives
 * the request id.
 */
async function greeterOn(connection: Connection, log: Address) {
  const greeter = await connection.viem.deployContract("Greeter", [log]);
  const client = await connection.viem.getPublicClient();
  const model = modelIdFromName("language-id");
  async function ask(greeting: string): Promise<bigint> {
    const fee = await estimateFee(client, { coordinator: log, model, callbackGasLimit: 100_000 });
    const hash = await greeter.write.ask([model, greeting], { value: fee });
    const receipt = await client.waitForTransactionReceipt({ hash });
    const [event] = parseEventLogs({
      abi: sibylCoordinatorAbi,
      logs: receipt.logs,
      eventName: "InferenceRequested",
    });
    assert.ok(event, "no InferenceRequested event");
    return event.args.requestId;
  }
  return { greeter, client, ask };
}

describe("Greeter with Sibyl's mock (no node, no proof)", () => {
  it("stores the answer it is given", async () => {
    const connection = await network.create();
    const sibyl = await mockSibyl(connection);
    const { greeter, ask } = await greeterOn(connection, sibyl.log);
    const requestId = await ask("Bonjour tout le monde");
    await sibyl.fulfill(requestId, { output: "fr 0.9900" });
    assert.equal(hexToString(await greeter.read.answers([requestId])), "fr 0.9900");
    assert.equal(await greeter.read.statuses([requestId]), ResultStatus.Ok);
  });

  it("records an error status and stores no answer", async () => {
    const connection = await network.create();
    const sibyl = await mockSibyl(connection);
    const { greeter, ask } = await greeterOn(connection, sibyl.log);
    const requestId = await ask("Hello");
    await sibyl.fulfill(requestId, { status: ResultStatus.ModelError });
    assert.equal(await greeter.read.statuses([requestId]), ResultStatus.ModelError);
    assert.equal(await greeter.read.answers([requestId]), "0x");
  });

  it("records a callback that ran out of gas: the answer is in Sibyl's log, not in the Greeter", async () => {
    const connection = await network.create();
    const sibyl = await mockSibyl(connection);
    const { greeter, ask } = await greeterOn(connection, sibyl.log);
    const requestId = await ask("Hi");
    // 256 bytes cost more to store than the Greeter's 100,000 callback gas.
    const result = await sibyl.fulfill(requestId, { output: "x".repeat(256) });
    assert.equal(result.callback, CallbackOutcome.Failed);
    assert.equal(await greeter.read.answers([requestId]), "0x");
  });

  it("names the coordinator's error when the Greeter asks with too little", async () => {
    const connection = await network.create();
    const sibyl = await mockSibyl(connection);
    const { greeter } = await greeterOn(connection, sibyl.log);
    const error = await greeter.write.ask([modelIdFromName("language-id"), "Hi"], { value: 1n }).then(
      () => assert.fail("asked with 1 wei"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof BaseError, String(error));
    const revert = error.walk((cause) => cause instanceof ContractFunctionRevertedError);
    assert.ok(revert instanceof ContractFunctionRevertedError, error.message);
    assert.equal(revert.data?.errorName, "InsufficientPayment", error.message);
    assert.equal(revert.data?.args?.[0], 1n);
    // Sibyl's own contracts read by name too, from the package's artifacts.
    const coordinator = await connection.viem.getContractAt("SibylCoordinator", sibyl.coordinator);
    const model = (await coordinator.read.modelOf([modelIdFromName("language-id")])) as { enabled: boolean };
    assert.equal(model.enabled, true);
  });
});

describe("Greeter with Sibyl's real node in process", () => {
  it("gets the built-in model's answer, proved and verifiable against the onchain root", async () => {
    const connection = await network.create();
    const sibyl = await startSibyl(connection);
    try {
      const { greeter, client, ask } = await greeterOn(connection, sibyl.log);
      const requestId = await ask("Guten Morgen, wie geht es dir?");
      const result = await sibyl.waitForResult(requestId);
      assert.match(result.outputText ?? "", /^de 0\.\d{4}$/);
      assert.equal(hexToString(await greeter.read.answers([requestId])), result.outputText);
      const audit = await verifyResult(client, { coordinator: sibyl.coordinator, requestId });
      assert.equal(audit.valid, true);
    } finally {
      await sibyl.stop();
    }
  });
});
