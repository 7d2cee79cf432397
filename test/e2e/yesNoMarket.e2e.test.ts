/**
 * YesNoMarket end to end: `hardhat node` and `sibyl node` as processes, a chat model served by the
 * local OpenAI-protocol server, bets from two accounts, the reporter's evidence after close, and the
 * market's timeline moved with evm_increaseTime. Three endings: the model says "yes" (resolved, the
 * winner takes the pool); the model says 300 bytes of text (void, callback Succeeded, stakes back);
 * the model never answers (void after the deadline, stakes back, the resolve request refunded).
 */
import assert from "node:assert/strict";
import { type Hex, parseEther, parseEventLogs } from "viem";
import { cancelRequest } from "../../src/sdk/cancelRequest.js";
import { estimateFee } from "../../src/sdk/estimateFee.js";
import { modelIdFromName } from "../../src/shared/encoding.js";
import { type Devnet, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import type { ChildRun } from "../helpers/processes.js";
import { until } from "../helpers/wait.js";

const MODEL = "judge";
const MODEL_ID = modelIdFromName(MODEL);
const REPORT_WINDOW = 3_600n;
/** Longer than the devnet model's 3600 s timeout, as the market requires. */
const RESOLUTION_WINDOW = 7_200n;
const LONG_ANSWER =
  `${"The evidence is ambiguous and does not settle the question either way. ".repeat(5)}`.slice(0, 300);

const Phase = { Open: 0, Reported: 1, Resolved: 2, Voided: 3 } as const;
const VoidReason = {
  NoReport: 0,
  NotResolvedInTime: 1,
  AnswerAfterDeadline: 2,
  ModelFailed: 3,
  UnclearAnswer: 4,
};
const CallbackOutcome = { Skipped: 0, Succeeded: 1, Failed: 2 } as const;

describe("e2e: YesNoMarket resolved or voided through a running node", function () {
  this.timeout(300_000);
  const server = new FakeOpenAIServer({
    // The judge says yes to market "alpha" and rambles about every other.
    answer: (_model, messages) =>
      messages.some((message) => message.content.includes("alpha")) ? "yes" : LONG_ANSWER,
  });
  let closeServer: () => Promise<void>;
  let devnet: Devnet;
  let node: ChildRun;
  let market: Awaited<ReturnType<typeof deployMarket>>;

  before(async () => {
    const started = await server.start();
    closeServer = started.close;
    devnet = await startDevnet([
      { provider: "openai", name: MODEL, model: "judge-1", baseURL: started.url, maxAttempts: 1 },
    ]);
    node = devnet.startNode(await devnet.writeConfig({ batching: { maxSize: 4, maxWaitMs: 200 } }));
    await node.waitFor("sibyl node started", 120_000);
    market = await deployMarket(devnet);
  });

  afterEach(function () {
    if (this.currentTest?.state === "failed") console.log(`--- daemon log ---\n${node?.tail(40)}`);
  });

  after(async () => {
    await node?.stop("SIGTERM");
    await devnet?.stop();
    await closeServer?.();
  });

  it("the model answers yes: resolved, and the yes bettor takes the whole pool", async () => {
    const id = await market.openWithBets("Will the alpha launch happen on time?");
    await market.closeAndReport(id, "Launch log: alpha lifted off at 09:00, as scheduled.");
    const { delivered } = await market.resolveThroughNode(id);
    assert.equal(delivered.callback, CallbackOutcome.Succeeded);
    assert.equal(delivered.output, "yes");

    const state = await market.contract.read.marketOf([id]);
    assert.equal(state.phase, Phase.Resolved);
    assert.equal(state.outcome, true);
    assert.equal(await market.claim(id, "yes"), parseEther("3"), "the yes bettor's payout: 1 + 2 ETH");
    await assert.rejects(market.claim(id, "no"), /YesNoMarket__NothingToClaim/);
  });

  it("the model answers 300 bytes of text: voided with its callback Succeeded, every stake back", async () => {
    const id = await market.openWithBets("Will the beta launch happen on time?");
    await market.closeAndReport(id, "Launch log: beta was moved, then maybe not.");
    const { delivered } = await market.resolveThroughNode(id);
    assert.equal(delivered.output.length, 300);
    assert.equal(delivered.callback, CallbackOutcome.Succeeded, "the callback ran out of gas on the answer");

    const state = await market.contract.read.marketOf([id]);
    assert.equal(state.phase, Phase.Voided);
    assert.equal(state.voidReason, VoidReason.UnclearAnswer);
    assert.equal(await market.claim(id, "yes"), parseEther("1"));
    assert.equal(await market.claim(id, "no"), parseEther("2"));
  });

  it("the model never answers: nobody can void early; after the deadline it is void, stakes and escrow back", async () => {
    const id = await market.openWithBets("Will the gamma launch happen on time?");
    await market.closeAndReport(id, "Launch log: gamma, no news yet.");
    // No operator runs any more: the request stays unanswered.
    await node.stop("SIGTERM");
    const request = await market.resolve(id);
    await assert.rejects(market.void(id), /YesNoMarket__NotVoidable/);

    const [, resolutionDeadline] = await market.contract.read.deadlinesOf([id]);
    await market.advanceTo(resolutionDeadline + 1n);
    await market.void(id);
    const state = await market.contract.read.marketOf([id]);
    assert.equal(state.phase, Phase.Voided);
    assert.equal(state.voidReason, VoidReason.NotResolvedInTime);
    assert.equal(await market.claim(id, "yes"), parseEther("1"));
    assert.equal(await market.claim(id, "no"), parseEther("2"));

    // The resolve request's escrow goes back to whoever paid it, whoever cancels.
    const before = await devnet.sibyl.coordinator.read.balanceOf([market.payer.account.address]);
    const receipt = await cancelRequest(market.bettors.no, {
      coordinator: devnet.sibyl.coordinator.address,
      commitment: request.commitment,
    });
    const [cancelled] = parseEventLogs({
      abi: devnet.sibyl.coordinator.abi,
      logs: receipt.logs,
      eventName: "RequestCancelled",
    });
    assert.equal(cancelled?.args.refund, request.commitment.escrow);
    assert.equal(cancelled?.args.refundTo.toLowerCase(), market.payer.account.address.toLowerCase());
    assert.equal(
      await devnet.sibyl.coordinator.read.balanceOf([market.payer.account.address]),
      before + request.commitment.escrow,
    );
  });
});

/** The market deployed on the devnet, and the steps of its timeline as the test's accounts take them. */
async function deployMarket(devnet: Devnet) {
  const { coordinator, log, publicClient, users } = devnet.sibyl;
  const [yes, no, reporter, payer] = users.slice(2, 6) as [Wallet, Wallet, Wallet, Wallet];
  type Wallet = (typeof users)[number];
  const contract = await devnet.connection.viem.deployContract("YesNoMarket", [
    log.address,
    MODEL_ID,
    REPORT_WINDOW,
    RESOLUTION_WINDOW,
  ]);
  const rpc = (method: string, params: unknown[] = []) =>
    devnet.connection.provider.request({ method, params });
  const mined = (hash: Hex) => publicClient.waitForTransactionReceipt({ hash });

  const steps = {
    contract,
    payer,
    bettors: { yes, no },

    /** A market closing in ten minutes, 1 ETH on yes and 2 ETH on no. */
    async openWithBets(question: string): Promise<bigint> {
      const now = (await publicClient.getBlock()).timestamp;
      const receipt = await mined(
        await contract.write.create([question, reporter.account.address, now + 600n]),
      );
      const [created] = parseEventLogs({ abi: contract.abi, logs: receipt.logs, eventName: "MarketCreated" });
      const id = created?.args.marketId as bigint;
      await mined(await contract.write.bet([id, true], { account: yes.account, value: parseEther("1") }));
      await mined(await contract.write.bet([id, false], { account: no.account, value: parseEther("2") }));
      return id;
    },

    async advanceTo(timestamp: bigint): Promise<void> {
      const now = (await publicClient.getBlock()).timestamp;
      if (timestamp > now) await rpc("evm_increaseTime", [Number(timestamp - now)]);
      await rpc("evm_mine");
    },

    /** Betting closes; the reporter posts the evidence. */
    async closeAndReport(id: bigint, evidence: string): Promise<void> {
      const state = await contract.read.marketOf([id]);
      await steps.advanceTo(state.closesAt);
      await mined(await contract.write.report([id, evidence], { account: reporter.account }));
    },

    /**
     * Pays for the model's judgement with twice the SDK's quote (the market's advice: send headroom,
     * the rest comes back). On this devnet the base fee decays below the 1 gwei tip, and there a lone
     * request escrowing the bare quote is one the node does not find worth its gas bound.
     */
    async resolve(id: bigint) {
      const quote = await estimateFee(publicClient, {
        coordinator: coordinator.address,
        model: MODEL_ID,
        callbackGasLimit: Number(await contract.read.CALLBACK_GAS_LIMIT()),
      });
      const value = 2n * quote;
      const receipt = await mined(await contract.write.resolve([id], { account: payer.account, value }));
      const [requested] = parseEventLogs({
        abi: coordinator.abi,
        logs: receipt.logs,
        eventName: "InferenceRequested",
      });
      if (requested === undefined) throw new Error("resolve made no request");
      return { requestId: requested.args.requestId, commitment: { ...requested.args.commitment } };
    },

    /** Resolves and waits for the node's delivery; returns what the coordinator logged of it. */
    async resolveThroughNode(id: bigint) {
      const request = await steps.resolve(id);
      const event = await until(async () => {
        const [delivered] = await coordinator.getEvents.ResultDelivered(
          { requestId: request.requestId },
          { fromBlock: 0n },
        );
        return delivered;
      }, 120_000);
      const output = Buffer.from((event.args.output as Hex).slice(2), "hex").toString("utf8");
      return { request, delivered: { callback: event.args.callback as number, output } };
    },

    async void(id: bigint): Promise<void> {
      await mined(await contract.write.voidMarket([id], { account: no.account }));
    },

    /** Claims for the yes or the no bettor; returns the amount paid out. */
    async claim(id: bigint, side: "yes" | "no"): Promise<bigint> {
      const account = (side === "yes" ? yes : no).account;
      const receipt = await mined(await contract.write.claim([id], { account }));
      const [claimed] = parseEventLogs({ abi: contract.abi, logs: receipt.logs, eventName: "Claimed" });
      return claimed?.args.amount as bigint;
    },
  };
  return steps;
}
