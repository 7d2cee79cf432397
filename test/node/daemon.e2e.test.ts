/**
 * The node as operators run it: `hardhat node` and `sibyl node` as separate processes, models behind a
 * local OpenAI-protocol server (reached by the real `openai` SDK over HTTP) and the built-in language
 * identifier; requests from a consumer contract and from accounts; answers checked onchain.
 */

import assert from "node:assert/strict";
import path from "node:path";
import { type Hex, hexToString, toHex } from "viem";
import type { ModelSpecInput } from "../../src/node/models/registry.js";
import { quoteGasPrice } from "../../src/sdk/quoteGasPrice.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, nodeTree, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import type { ChildRun } from "../helpers/processes.js";
import { until } from "../helpers/wait.js";
import { waitForProofs } from "../reliability/harness.js";

const server = new FakeOpenAIServer({
  answer: (model, messages) => {
    const text = messages.at(-1)?.content ?? "";
    return model === "upper-1" ? text.toUpperCase() : `echo:${text}`;
  },
});

/** A proof made, of a batch sent with it or of delivered results. */
const PROVED = /"msg":"(batch proved|pending results proved)"/g;

describe("sibyl node (processes: hardhat node, daemon, OpenAI-protocol server)", function () {
  this.timeout(300_000);
  let devnet: Devnet;
  let node: ChildRun;
  let closeServer: () => Promise<void>;
  let serverUrl: string;

  before(async () => {
    const { url, close } = await server.start();
    closeServer = close;
    serverUrl = url;
    const models: ModelSpecInput[] = [
      { provider: "openai", name: "chat-echo", model: "echo-1", baseURL: url },
      { provider: "openai", name: "chat-upper", model: "upper-1", baseURL: url },
      { provider: "builtin", name: "language-id", builtin: "language-id" },
    ];
    devnet = await startDevnet(models);
    node = devnet.startNode(await devnet.writeConfig({ batching: { maxSize: 16, maxWaitMs: 300 } }));
    await node.waitFor("sibyl node started", 120_000);
  });

  after(async () => {
    if (node) {
      const exit = await node.stop("SIGTERM");
      assert.equal(exit.code, 0, `node exit ${JSON.stringify(exit)}:\n${node.tail()}`);
      assert.match(node.text, /"msg":"stopped"/);
    }
    await devnet?.stop();
    await closeServer?.();
  });

  it("answers a consumer contract's request with a proof, and the consumer gets its callback", async () => {
    const { viem } = devnet.connection;
    const board = await viem.deployContract("PromptBoard", [
      devnet.sibyl.log.address,
      modelIdFromName("chat-echo"),
      300_000,
    ]);
    const fee = await board.read.askFee([await quoteGasPrice(devnet.sibyl.publicClient)]);
    const hash = await board.write.ask(["What is an oracle?"], { value: fee });
    const receipt = await devnet.sibyl.publicClient.waitForTransactionReceipt({ hash });
    const [asked] = await board.getEvents.QuestionAsked({}, { blockHash: receipt.blockHash });
    const requestId = asked?.args.requestId as bigint;

    const entry = await until(async () => {
      const current = await board.read.entryOf([requestId]);
      return current.answered ? current : undefined;
    });
    assert.equal(entry.status, ResultStatus.Ok);
    assert.equal(hexToString(entry.answer), "echo:What is an oracle?");
    const [delivered] = await devnet.sibyl.coordinator.getEvents.ResultDelivered(
      { requestId },
      { fromBlock: 0n },
    );
    assert.equal(delivered?.args.callback, 1, "CallbackOutcome.Succeeded");
    const metadata = JSON.parse(hexToString(delivered?.args.metadata as Hex));
    assert.equal(metadata.provider, "openai");
    assert.equal(metadata.version, "echo-1-0001", "the version the server reported");
    assert.equal(server.requests.at(-1)?.headers.authorization, "Bearer test-key");
  });

  it("answers 50 concurrent requests across three models, in batches, and keeps its tree equal to the chain's", async () => {
    const { coordinator, publicClient, users } = devnet.sibyl;
    const inputs = Array.from({ length: 50 }, (_, i) => {
      const model = ["chat-echo", "chat-upper", "language-id"][i % 3] as string;
      const text =
        model === "language-id"
          ? ["The weather is lovely today.", "Il fait très beau aujourd'hui."][i % 2]
          : `question ${i}`;
      return { model, text: text as string };
    });
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const ids = await sendRequests(
      devnet,
      inputs.length,
      (i) => modelIdFromName(inputs[i]?.model as string),
      (i) => toHex(inputs[i]?.text as string),
      users.slice(0, 10),
    );
    const requestIds = new Map(ids.map((id, i) => [id, inputs[i] as { model: string; text: string }]));
    assert.equal(requestIds.size, 50);

    const delivered = await until(async () => {
      const events = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
      const ours = events.filter((event) => requestIds.has(event.args.requestId as bigint));
      return ours.length >= 50 ? ours : undefined;
    });
    assert.equal(
      new Set(delivered.map((event) => event.args.requestId)).size,
      50,
      "each answered exactly once",
    );
    for (const event of delivered) {
      const { model, text } = requestIds.get(event.args.requestId as bigint) as {
        model: string;
        text: string;
      };
      const output = hexToString(event.args.output as Hex);
      assert.equal(event.args.status, ResultStatus.Ok, `${model} ${text}: ${output}`);
      if (model === "chat-echo") assert.equal(output, `echo:${text}`);
      if (model === "chat-upper") assert.equal(output, text.toUpperCase());
      if (model === "language-id")
        assert.match(output, text.startsWith("Il") ? /^fr 0\.\d{4}$/ : /^en 0\.\d{4}$/);
    }
    // Delivered at once, proven in bulk: every result ends up in the log, in fewer proofs than results.
    const sequences = delivered.map((event) => event.args.sequence as bigint);
    const covers = (batch: { args: { firstSequence?: bigint; count?: bigint } }, sequence: bigint) =>
      sequence >= (batch.args.firstSequence as bigint) &&
      sequence < (batch.args.firstSequence as bigint) + (batch.args.count as bigint);
    const batches = await until(async () => {
      const events = await devnet.sibyl.log.getEvents.BatchAppended({}, { fromBlock });
      return sequences.every((sequence) => events.some((batch) => covers(batch, sequence)))
        ? events
        : undefined;
    });
    const ours = batches.filter((batch) => sequences.some((sequence) => covers(batch, sequence)));
    assert.ok(ours.length < 50, `${ours.length} batches for 50 results`);

    const onchainRoot = await devnet.sibyl.log.read.root();
    const nodeRoot = await until(async () => {
      const tree = nodeTree(path.join(devnet.dir, "node.db"));
      return tree && BigInt(tree.root) === onchainRoot ? tree.root : undefined;
    });
    assert.equal(BigInt(nodeRoot), onchainRoot);
  });

  it("after a kill -9 mid-pipeline and a restart, answers every request exactly once", async () => {
    const { coordinator, publicClient, users } = devnet.sibyl;
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;
    const proofsBefore = countMatches(node.text, PROVED);
    const requestIds = await sendRequests(
      devnet,
      24,
      modelIdFromName("chat-echo"),
      (i) => toHex(`restart ${i}`),
      users.slice(0, 6),
    );
    await until(async () => (countMatches(node.text, PROVED) > proofsBefore ? true : undefined));
    const killed = await node.stop("SIGKILL");
    assert.equal(killed.signal, "SIGKILL");
    const deliveredAtKill = (await coordinator.getEvents.ResultDelivered({}, { fromBlock })).length;

    node = devnet.startNode(await devnet.writeConfig({ batching: { maxSize: 16, maxWaitMs: 300 } }));
    await node.waitFor("sibyl node started", 120_000);
    const delivered = await until(async () => {
      const events = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
      return events.length >= requestIds.length ? events : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for a wrongful second answer
    const all = await coordinator.getEvents.ResultDelivered({}, { fromBlock });
    assert.equal(all.length, requestIds.length, `${deliveredAtKill} delivered before the kill`);
    assert.deepEqual(new Set(delivered.map((event) => event.args.requestId)), new Set(requestIds));
    for (const event of all) assert.equal(hexToString(event.args.output as Hex).startsWith("echo:"), true);
    // Whatever was delivered but not proven at the kill is proven after the restart.
    assert.equal(await waitForProofs(devnet), 0n, "results never proven");
  });

  it("refuses to start when a model's local config does not hash to its registration, naming the model", async () => {
    const models: ModelSpecInput[] = [
      { provider: "openai", name: "chat-echo", model: "echo-1", baseURL: serverUrl, temperature: 0.7 },
    ];
    const refused = devnet.startNode(
      await devnet.writeConfig({ models, database: { path: "refused.db" } }, "refused.json"),
    );
    const exit = await refused.exited;
    assert.equal(exit.code, 1);
    assert.match(
      refused.text,
      /^sibyl: models\.0: the config of "chat-echo" hashes to 0x[0-9a-f]{64}, the registry pins 0x[0-9a-f]{64}\n$/,
    );
  });
});

function countMatches(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}
