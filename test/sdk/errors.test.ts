/**
 * The coordinator's refusals as a dapp developer meets them through the SDK, on the in-process
 * network with the real coordinator: one line that names the model by its name and says what to send,
 * viem's (or ethers') full report kept as the `cause`.
 */
import assert from "node:assert/strict";
import { BrowserProvider, type Eip1193Provider } from "ethers";
import { network } from "hardhat";
import { BaseError } from "viem";
import * as ethersSibyl from "../../src/ethers/index.js";
import { mockSibyl, type SibylMock } from "../../src/hardhat/index.js";
import {
  CoordinatorRevertedError,
  estimateFee,
  InsufficientPaymentError,
  modelIdFromName,
  requestInference,
  UnknownModelError,
} from "../../src/sdk/index.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

/** A short error: its message is the one-line summary and at most one line of details. */
function assertShort(error: Error): void {
  const lines = error.message.split("\n").filter(Boolean);
  assert.ok(lines.length <= 2, `a short message, got:\n${error.message}`);
  assert.doesNotMatch(error.message, /Contract Call:|Docs:|Version:|Request Arguments:/);
}

describe("sdk errors: the coordinator's refusals in one line", () => {
  let connection: Connection;
  let sibyl: SibylMock;
  let user: Awaited<ReturnType<Connection["viem"]["getWalletClients"]>>[number];

  before(async () => {
    connection = await network.create();
    sibyl = await mockSibyl(connection);
    [, , , user] = (await connection.viem.getWalletClients()) as [never, never, never, typeof user];
    assert.ok(user);
  });

  after(async () => {
    await connection?.close();
  });

  it("an unknown model is named by the name the caller gave, not its bytes32 id", async () => {
    const error = await requestInference(user, {
      coordinator: sibyl.coordinator,
      model: "langauge-id",
      input: "hello",
    }).then(
      () => assert.fail("requested an unregistered model"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof UnknownModelError, `got ${error}`);
    assert.equal(error.model, "langauge-id");
    assert.equal(error.modelId, modelIdFromName("langauge-id"));
    assert.equal(
      error.shortMessage,
      `model "langauge-id" is not registered on coordinator ${sibyl.coordinator}`,
    );
    assertShort(error);
    assert.ok(error.cause instanceof BaseError, "viem's report is the cause");
  });

  it("an unknown model given by id is still shown by its name when the id spells one", async () => {
    const error = await estimateFee(await connection.viem.getPublicClient(), {
      coordinator: sibyl.coordinator,
      model: modelIdFromName("gpt-5-turbo"),
    }).then(
      () => assert.fail("quoted an unregistered model"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof UnknownModelError, `got ${error}`);
    assert.match(error.shortMessage, /^model "gpt-5-turbo" is not registered/);
  });

  it("too little escrow says how much to send", async () => {
    const error = await requestInference(user, {
      coordinator: sibyl.coordinator,
      model: "language-id",
      input: "hello",
      value: 1n,
    }).then(
      () => assert.fail("a request with 1 wei went through"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof InsufficientPaymentError, `got ${error}`);
    assert.equal(error.paid, 1n);
    assert.ok(error.required > 1n);
    assert.equal(error.shortMessage, `the request sent 1 wei: send at least ${error.required} wei`);
    assertShort(error);
  });

  it("any other refusal is the custom error by name, its model id shown as the model's name", async () => {
    const error = await requestInference(user, {
      coordinator: sibyl.coordinator,
      model: "language-id",
      input: "",
    }).then(
      () => assert.fail("an empty input went through"),
      (error: unknown) => error,
    );
    assert.ok(error instanceof CoordinatorRevertedError, `got ${error}`);
    assert.equal(error.errorName, "EmptyInput");
    assert.equal(error.shortMessage, 'request reverted: EmptyInput(model: "language-id")');
    assertShort(error);
  });

  it("the ethers adapter throws the same typed errors", async () => {
    const provider = new BrowserProvider(connection.provider as Eip1193Provider);
    const signer = await provider.getSigner(user.account.address);
    const unknown = await ethersSibyl
      .requestInference(signer, { coordinator: sibyl.coordinator, model: "langauge-id", input: "hello" })
      .then(
        () => assert.fail("requested an unregistered model"),
        (error: unknown) => error,
      );
    assert.ok(unknown instanceof ethersSibyl.UnknownModelError, `got ${unknown}`);
    assert.equal(unknown.model, "langauge-id");
    const cheap = await ethersSibyl
      .requestInference(signer, {
        coordinator: sibyl.coordinator,
        model: "language-id",
        input: "hello",
        value: 1n,
      })
      .then(
        () => assert.fail("a request with 1 wei went through"),
        (error: unknown) => error,
      );
    assert.ok(cheap instanceof ethersSibyl.InsufficientPaymentError, `got ${cheap}`);
    assert.match(cheap.shortMessage, /^the request sent 1 wei: send at least \d+ wei$/);
    provider.destroy();
  });
});
