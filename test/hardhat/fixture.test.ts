/**
 * `sibyl/hardhat` as a dapp developer's test uses it: on the in-process network of this project's own
 * Hardhat, the fixture deploys from the precompiled artifacts, runs the real node in process and answers
 * a consumer with a real proof; the mock answers on demand with chosen outputs and survives evm_revert.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { type Hex, hexToString, isAddressEqual, parseEventLogs, toHex } from "viem";
import { declareModels } from "../../src/deploy/index.js";
import { mockSibyl, type SibylFixture, type SibylMock, startSibyl } from "../../src/hardhat/index.js";
import { estimateFee } from "../../src/sdk/estimateFee.js";
import { quoteGasPrice } from "../../src/sdk/quoteGasPrice.js";
import { requestInference } from "../../src/sdk/requestInference.js";
import { CallbackOutcome } from "../../src/sdk/types.js";
import { verifyResult } from "../../src/sdk/verifyResult.js";
import {
  operatorLedgerAbi,
  promptBoardAbi,
  sibylCoordinatorAbi,
  sibylLogAbi,
} from "../../src/shared/abi/generated.js";
import { type RequestCommitment, ResultStatus } from "../../src/shared/encoding.js";
import { SibylError } from "../../src/shared/errors.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

/** Asks PromptBoard (a SibylConsumer) a question from the third account; returns the request id. */
async function ask(connection: Connection, promptBoard: Hex, question: string): Promise<bigint> {
  const client = await connection.viem.getPublicClient();
  const [, , user] = await connection.viem.getWalletClients();
  assert.ok(user);
  const board = { address: promptBoard, abi: promptBoardAbi } as const;
  const fee = await client.readContract({
    ...board,
    functionName: "askFee",
    args: [await quoteGasPrice(client)],
  });
  const hash = await user.writeContract({ ...board, functionName: "ask", args: [question], value: fee });
  const receipt = await client.waitForTransactionReceipt({ hash });
  const [requested] = parseEventLogs({
    abi: sibylCoordinatorAbi,
    logs: receipt.logs,
    eventName: "InferenceRequested",
  });
  assert.ok(requested, "no InferenceRequested event");
  return requested.args.requestId;
}

describe("sibyl/hardhat startSibyl: the real node in process", () => {
  let connection: Connection;
  let sibyl: SibylFixture;

  before(async () => {
    connection = await network.create();
    sibyl = await startSibyl(connection);
  });

  after(async () => {
    await sibyl?.stop();
    await connection?.close();
  });

  it("answers a consumer's request with the built-in model, proved and verifiable", async () => {
    const requestId = await ask(connection, sibyl.deployment.promptBoard, "Il fait très beau aujourd'hui.");
    const result = await sibyl.waitForResult(requestId);
    assert.equal(result.status, ResultStatus.Ok);
    assert.match(result.outputText ?? "", /^fr 0\.\d{4}$/);
    const client = await connection.viem.getPublicClient();
    const entry = await client.readContract({
      address: sibyl.deployment.promptBoard,
      abi: promptBoardAbi,
      functionName: "entryOf",
      args: [requestId],
    });
    assert.equal(entry.answered, true);
    assert.equal(hexToString(entry.answer), result.outputText);
    const audit = await verifyResult(client, { coordinator: sibyl.coordinator, requestId });
    assert.equal(audit.valid, true, audit.reason);
  });

  it("stakes its own operator, not one of the accounts the user's tests send from", async () => {
    const accounts = (await connection.provider.request({ method: "eth_accounts" })) as string[];
    assert.ok(!accounts.map((a) => a.toLowerCase()).includes(sibyl.operator.toLowerCase()));
    const client = await connection.viem.getPublicClient();
    const info = await client.readContract({
      address: sibyl.deployment.ledger,
      abi: operatorLedgerAbi,
      functionName: "operatorOf",
      args: [sibyl.operator],
    });
    assert.equal(info.active, true);
  });
});

describe("sibyl/hardhat startSibyl: a mistake in a model spec", () => {
  let connection: Connection;

  before(async () => {
    connection = await network.create();
  });

  after(async () => {
    await connection?.close();
  });

  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      "a misspelt field",
      { provider: "openai", name: "gpt", model: "gpt-4o-mini", baseUrl: "http://127.0.0.1:8000/v1" },
      "invalid models.0: Unrecognized key(s) in object: 'baseUrl'",
    ],
    [
      "a value out of range",
      { provider: "openai", name: "gpt", model: "gpt-4o-mini", temperature: 7 },
      "invalid models.0.temperature: Number must be less than or equal to 2",
    ],
  ];
  for (const [what, spec, message] of cases) {
    it(`${what}: one line naming the field, before anything is deployed`, async () => {
      const client = await connection.viem.getPublicClient();
      const blockBefore = await client.getBlockNumber();
      const error = await startSibyl(connection, {
        models: [{ provider: "builtin", name: "lid", builtin: "language-id" }, spec as never],
      }).then(
        () => assert.fail("started with a bad spec"),
        (error: unknown) => error,
      );
      assert.ok(error instanceof SibylError, `a SibylError, got ${error}`);
      assert.equal(error.shortMessage, message.replace("models.0", "models.1"));
      assert.doesNotMatch(error.message, /ZodError|"code":|"path":/);
      assert.equal(await client.getBlockNumber(), blockBefore, "nothing was deployed");
    });
  }
});

describe("sibyl/hardhat mockSibyl: chosen answers, no node, no proof", () => {
  let connection: Connection;
  let sibyl: SibylMock;

  before(async () => {
    connection = await network.create();
    sibyl = await mockSibyl(connection);
  });

  after(async () => {
    await connection?.close();
  });

  it("delivers the chosen output to the consumer through the real coordinator", async () => {
    const requestId = await ask(connection, sibyl.deployment.promptBoard, "anything");
    const result = await sibyl.fulfill(requestId, { output: "xx 0.5000" });
    assert.equal(result.status, ResultStatus.Ok);
    assert.equal(result.outputText, "xx 0.5000");
    const client = await connection.viem.getPublicClient();
    const entry = await client.readContract({
      address: sibyl.deployment.promptBoard,
      abi: promptBoardAbi,
      functionName: "entryOf",
      args: [requestId],
    });
    assert.equal(hexToString(entry.answer), "xx 0.5000");
    // The mock keeps the real log: the result verifies against the onchain root like any other.
    const audit = await verifyResult(client, { coordinator: sibyl.coordinator, requestId });
    assert.equal(audit.valid, true, audit.reason);
  });

  it("delivers an error status the consumer can react to", async () => {
    const requestId = await ask(connection, sibyl.deployment.promptBoard, "anything");
    const result = await sibyl.fulfill(requestId, { status: ResultStatus.ModelError });
    assert.equal(result.status, ResultStatus.ModelError);
  });

  it("answers a consumer whose callback runs out of gas: delivered, the callback recorded as failed", async () => {
    const client = await connection.viem.getPublicClient();
    // BurnGas: the callback loops until its exact gas runs out, as a consumer storing too much would.
    const hostile = await connection.viem.deployContract("HostileConsumer", [sibyl.coordinator, 1]);
    const model = sibyl.modelId("language-id");
    const callbackGasLimit = 200_000;
    const fee = await estimateFee(client, { coordinator: sibyl.coordinator, model, callbackGasLimit });
    const receipt = await client.waitForTransactionReceipt({
      hash: await hostile.write.ask([model, callbackGasLimit], { value: fee }),
    });
    const [requested] = parseEventLogs({
      abi: sibylCoordinatorAbi,
      logs: receipt.logs,
      eventName: "InferenceRequested",
    });
    assert.ok(requested, "no InferenceRequested event");
    const result = await sibyl.fulfill(requested.args.requestId, { output: "en 0.9000" });
    assert.equal(result.callback, CallbackOutcome.Failed);
    assert.equal(result.outputText, "en 0.9000", "the answer is in the log all the same");
    const audit = await verifyResult(client, { coordinator: sibyl.coordinator, requestId: result.requestId });
    assert.equal(audit.valid, true, audit.reason);
  });

  it("refuses a request that is not pending (already answered, or never made)", async () => {
    const requestId = await ask(connection, sibyl.deployment.promptBoard, "once");
    await sibyl.fulfill(requestId, { output: "first" });
    await assert.rejects(sibyl.fulfill(requestId, { output: "second" }), SibylError);
    await assert.rejects(sibyl.fulfill(10_000n), SibylError);
  });

  it("follows the chain back after evm_revert, as Hardhat's loadFixture does between tests", async () => {
    const snapshot = await connection.provider.request({ method: "evm_snapshot" });
    const reverted = await ask(connection, sibyl.deployment.promptBoard, "before revert");
    await sibyl.fulfill(reverted, { output: "gone" });
    await connection.provider.request({ method: "evm_revert", params: [snapshot] });
    const requestId = await ask(connection, sibyl.deployment.promptBoard, "after revert");
    const result = await sibyl.fulfill(requestId, { output: "kept" });
    assert.equal(result.outputText, "kept");
  });

  it("answers requests sent with the SDK from any wallet", async () => {
    const [, , , user] = await connection.viem.getWalletClients();
    assert.ok(user);
    const { requestId } = await requestInference(user, {
      coordinator: sibyl.coordinator,
      model: "language-id",
      input: "Hallo",
    });
    const result = await sibyl.fulfill(requestId, { output: "de 0.9000" });
    assert.equal(result.requestId, requestId);
    assert.equal(result.outputText, "de 0.9000");
    assert.ok(result.leafIndex !== undefined, "the mock's answers are proven at once");
  });

  it("proves what another operator delivered without a proof, then answers (fulfill cannot skip the queue)", async () => {
    const snapshot = await connection.provider.request({ method: "evm_snapshot" });
    const client = await connection.viem.getPublicClient();
    const [, , , user, other] = await connection.viem.getWalletClients();
    assert.ok(user && other);
    const coordinator = { address: sibyl.coordinator, abi: sibylCoordinatorAbi } as const;
    const ledger = { address: sibyl.deployment.ledger, abi: operatorLedgerAbi } as const;
    const { minStake } = await client.readContract({ ...ledger, functionName: "operatorParameters" });
    await client.waitForTransactionReceipt({
      hash: await other.writeContract({ ...ledger, functionName: "registerOperator", value: minStake }),
    });
    await declareModels(connection, {
      coordinator: sibyl.coordinator,
      operator: other.account.address,
      models: sibyl.deployment.models.map((model) => model.modelId),
    });
    // Requests are assigned among the active operators: ask until each operator has one.
    let theirs: RequestCommitment | undefined;
    let ours: bigint | undefined;
    for (let i = 0; i < 40 && (theirs === undefined || ours === undefined); i++) {
      const { requestId, commitment } = await requestInference(user, {
        coordinator: sibyl.coordinator,
        model: "language-id",
        input: `question ${i}`,
      });
      if (isAddressEqual(commitment.operator, other.account.address)) theirs ??= commitment;
      else ours ??= requestId;
    }
    assert.ok(theirs && ours !== undefined, "40 requests all went to one operator");
    const answer = { status: ResultStatus.Ok, output: toHex("theirs"), metadata: toHex("{}") };
    await client.waitForTransactionReceipt({
      hash: await other.writeContract({
        ...coordinator,
        functionName: "deliver",
        args: [[{ commitment: theirs, ...answer, signatures: "0x" }]],
      }),
    });
    const pending = await verifyResult(client, {
      coordinator: sibyl.coordinator,
      requestId: theirs.requestId,
    });
    assert.equal(pending.valid, true, pending.reason);
    assert.equal(pending.state, "pending");

    const result = await sibyl.fulfill(ours, { output: "ours" });
    assert.equal(result.outputText, "ours");
    for (const requestId of [theirs.requestId, ours]) {
      const audit = await verifyResult(client, { coordinator: sibyl.coordinator, requestId });
      assert.equal(audit.valid, true, audit.reason);
      assert.equal(audit.state, "proven", `request ${requestId}`);
    }
    const [proven, delivered] = await client.readContract({
      address: sibyl.log,
      abi: sibylLogAbi,
      functionName: "pendingLog",
    });
    assert.equal(proven, delivered, "the queue is empty");
    await connection.provider.request({ method: "evm_revert", params: [snapshot] });
  });
});
