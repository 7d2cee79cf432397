/**
 * A model stopped on an operator fault is withdrawn onchain, so the ledger stops drawing its operator
 * for requests it cannot answer (and so stops making it late on them: penalty farming's route c), and
 * is declared again once a probe shows it works: with no request of its own left, the node probes it
 * with a call whose answer goes nowhere.
 *
 * Processes: `hardhat node`, `sibyl node`, and the OpenAI-protocol server the real SDK talks to.
 */
import assert from "node:assert/strict";
import { parseEventLogs, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, OPERATOR_KEY, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import type { ChildRun } from "../helpers/processes.js";
import { until } from "../helpers/wait.js";
import { settle } from "./harness.js";

const MODEL = "flaky-key";
const MODEL_ID = modelIdFromName(MODEL);

describe("reliability: a model stopped on an operator fault is withdrawn onchain, and declared again", function () {
  this.timeout(240_000);
  const server = new FakeOpenAIServer();
  let closeServer: () => Promise<void>;
  let devnet: Devnet;
  let node: ChildRun;
  const operator = privateKeyToAccount(OPERATOR_KEY).address;

  before(async () => {
    const { url, close } = await server.start();
    closeServer = close;
    devnet = await startDevnet([
      { provider: "openai", name: MODEL, model: MODEL, baseURL: url, timeoutMs: 2_000, maxAttempts: 1 },
    ]);
    node = devnet.startNode(
      await devnet.writeConfig({
        execution: { probeAfterMs: 300, maxProbeAfterMs: 600, withdrawStoppedAfterMs: 1_000 },
        batching: { maxSize: 4, maxWaitMs: 200 },
      }),
    );
    await node.waitFor("sibyl node started", 120_000);
  });

  after(async () => {
    if (node?.running) await node.stop("SIGTERM");
    await devnet?.stop();
    await closeServer?.();
  });

  const serves = () => devnet.sibyl.ledger.read.serves([operator, MODEL_ID]);

  it("withdraws it after its grace, so new requests are refused at once instead of drawn to it", async () => {
    assert.ok(await serves(), "declared at start");
    server.requireKey(MODEL, "rotated-key");
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const [waiting] = await sendRequests(devnet, 1, MODEL_ID, () => toHex("asked while broken"));
    await until(async () => ((await serves()) ? undefined : true), 30_000);
    const withdrawn = await devnet.sibyl.ledger.getEvents.ModelWithdrawn(
      { operator, modelId: MODEL_ID },
      { fromBlock },
    );
    assert.equal(withdrawn.length, 1, "one ModelWithdrawn");
    await assert.rejects(
      sendRequests(devnet, 1, MODEL_ID, () => toHex("asked after the withdrawal")),
      /NoOperatorForModel/,
    );

    server.requireKey(MODEL, "test-key");
    // The waiting request is the probe: answered Ok once the key works, and the model declared again.
    const result = await settle(devnet, [waiting as bigint], fromBlock, 60_000);
    assert.equal(result.answeredOk, 1, node.tail());
    await until(async () => ((await serves()) ? true : undefined), 30_000);
    const [again] = await sendRequests(devnet, 1, MODEL_ID, () => toHex("asked after it resumed"));
    assert.equal((await settle(devnet, [again as bigint], fromBlock, 60_000)).answeredOk, 1, node.tail());
  });

  it("with no request left to probe with, probes by itself and declares the model again", async () => {
    server.requireKey(MODEL, "rotated-key");
    const fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const [failing] = await sendRequests(devnet, 1, MODEL_ID, () => toHex("fails, then expires"));
    await until(async () => ((await serves()) ? undefined : true), 30_000);
    // The request leaves the node's hands (cancelled after its deadline): nothing is left to probe with.
    const [event] = await devnet.sibyl.coordinator.getEvents.InferenceRequested(
      { requestId: failing },
      { fromBlock },
    );
    const commitment = event?.args.commitment;
    assert.ok(commitment);
    const latest = await devnet.sibyl.publicClient.getBlock();
    await devnet.connection.provider.request({
      method: "evm_increaseTime",
      params: [Number(commitment.deadline - latest.timestamp) + 1],
    });
    const [user] = devnet.sibyl.users;
    assert.ok(user);
    const receipt = await devnet.sibyl.publicClient.waitForTransactionReceipt({
      hash: await devnet.sibyl.coordinator.write.cancel([commitment], { account: user.account }),
    });
    assert.equal(
      parseEventLogs({ abi: devnet.sibyl.coordinator.abi, logs: receipt.logs, eventName: "RequestCancelled" })
        .length,
      1,
    );
    const probesBefore = callsTo(server, MODEL);
    server.requireKey(MODEL, "test-key");
    await until(async () => ((await serves()) ? true : undefined), 30_000);
    assert.ok(callsTo(server, MODEL) > probesBefore, "the model was called without a request");
    const declared = await devnet.sibyl.ledger.getEvents.ModelDeclared(
      { operator, modelId: MODEL_ID },
      { fromBlock },
    );
    assert.equal(declared.length, 1, "declared again once");
  });

  it("keeps the node's log free of errors about it", () => {
    const errors = node.text.split("\n").filter((line) => /"level":(50|60)/.test(line));
    assert.deepEqual(errors, [], "error lines");
  });
});

/** Calls the server got for `model` (a probe without a request shows up only here). */
function callsTo(server: FakeOpenAIServer, model: string): number {
  return server.requests.filter(
    (request) => (request.body as { model?: string } | undefined)?.model === model,
  ).length;
}
