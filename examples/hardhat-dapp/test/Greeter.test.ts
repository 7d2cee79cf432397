import assert from "node:assert/strict";
import { network } from "hardhat";
import { estimateFee, modelIdFromName, ResultStatus, sibylCoordinatorAbi, verifyResult } from "sibyl";
import { mockSibyl, startSibyl } from "sibyl/hardhat";
import { type Address, hexToString, parseEventLogs } from "viem";

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
