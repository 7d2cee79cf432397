/**
 * The SDK as a dapp uses it, against a real deployment: `hardhat node` and `sibyl node` as processes,
 * the built-in language identifier answering, and a second registered model nobody serves. The viem
 * actions and the ethers adapter both request, wait and verify; verification must also reject what is
 * not in the onchain log.
 */
import assert from "node:assert/strict";
import { JsonRpcProvider, Wallet } from "ethers";
import { type Hex, isAddressEqual, keccak256, type PublicClient, parseEventLogs, toHex } from "viem";
import * as ethersSibyl from "../../src/ethers/index.js";
import type { ModelSpecInput } from "../../src/node/models/registry.js";
import {
  CallbackOutcome,
  cancelRequest,
  estimateFee,
  getRequest,
  getResult,
  RequestExpiredError,
  ResultStatus,
  ResultTimeoutError,
  requestInference,
  type SibylResult,
  sibylCoordinatorAbi,
  verifyResult,
  waitForResult,
  watchResults,
} from "../../src/sdk/index.js";
import { modelIdFromName, resultLeaf } from "../../src/shared/encoding.js";
import { type Devnet, hardhatKey, startDevnet } from "../helpers/devnet.js";
import type { ChildRun } from "../helpers/processes.js";

const LANGUAGE_ID: ModelSpecInput = { provider: "builtin", name: "language-id", builtin: "language-id" };
const UNSERVED: ModelSpecInput = { provider: "builtin", name: "nobody-serves-this", builtin: "language-id" };
const POLL = { pollingInterval: 100 };

describe("sdk (processes: hardhat node, sibyl node)", function () {
  this.timeout(120_000);
  let devnet: Devnet;
  let node: ChildRun;
  let client: PublicClient;
  let coordinator: Hex;
  let wallet: Devnet["sibyl"]["users"][number];
  let provider: JsonRpcProvider;

  before(async () => {
    devnet = await startDevnet([LANGUAGE_ID, UNSERVED]);
    node = devnet.startNode(await devnet.writeConfig({ models: [LANGUAGE_ID] }));
    await node.waitFor("sibyl node started", 120_000);
    client = await devnet.connection.viem.getPublicClient();
    coordinator = devnet.sibyl.coordinator.address;
    wallet = devnet.sibyl.users[1] as typeof wallet;
    provider = new JsonRpcProvider(devnet.chain.url, undefined, { staticNetwork: true });
  });

  after(async () => {
    provider?.destroy();
    if (node) {
      const exit = await node.stop("SIGTERM");
      assert.equal(exit.code, 0, `node exit ${JSON.stringify(exit)}:\n${node.tail()}`);
    }
    await devnet?.stop();
  });

  describe("viem actions", () => {
    const english = "The weather is lovely today.";
    const french = "Il fait très beau aujourd'hui.";
    let englishResult: SibylResult;
    let frenchResult: SibylResult;
    const unwatchers: Array<() => void> = [];
    afterEach(() => {
      for (const unwatch of unwatchers.splice(0)) unwatch();
    });

    it("estimates, requests, waits for, reads and verifies a result, and watches it arrive", async () => {
      const fee = await estimateFee(client, { coordinator, model: "language-id" });
      assert.ok(fee >= 10n ** 14n, `the model fee is the floor, got ${fee}`);
      const byModel: SibylResult[] = [];
      const watchErrors: Error[] = [];
      unwatchers.push(
        watchResults(client, {
          coordinator,
          model: "language-id",
          onResult: (result) => byModel.push(result),
          onError: (error) => watchErrors.push(error),
          ...POLL,
        }),
      );

      const requested = await requestInference(wallet, { coordinator, model: "language-id", input: english });
      const { requestId, commitment } = requested;
      assert.equal(commitment.requestId, requestId);
      assert.equal(commitment.modelId, modelIdFromName("language-id"));
      assert.ok(isAddressEqual(commitment.requester, wallet.account.address));
      assert.equal(commitment.inputHash, keccak256(toHex(english)));
      const byRequest: SibylResult[] = [];
      unwatchers.push(
        watchResults(client, {
          coordinator,
          requestIds: [requestId],
          fromBlock: requested.blockNumber,
          onResult: (result) => byRequest.push(result),
          onError: (error) => watchErrors.push(error),
          ...POLL,
        }),
      );
      // By id too: a model name and its bytes32 id are the same model.
      const frenchRequest = await requestInference(wallet, {
        coordinator,
        model: modelIdFromName("language-id"),
        input: french,
      });

      // Proven, so the checks below can use their slots, whichever way the node delivered them.
      englishResult = await waitForResult(client, {
        coordinator,
        requestId,
        timeoutMs: 60_000,
        proven: true,
        ...POLL,
      });
      frenchResult = await waitForResult(client, {
        coordinator,
        requestId: frenchRequest.requestId,
        timeoutMs: 60_000,
        proven: true,
        ...POLL,
      });
      assert.ok(englishResult.leafIndex !== undefined && frenchResult.leafIndex !== undefined);
      assert.equal(englishResult.status, ResultStatus.Ok);
      assert.match(englishResult.outputText ?? "", /^en 0\.\d{4}$/);
      assert.match(frenchResult.outputText ?? "", /^fr 0\.\d{4}$/);
      assert.equal(englishResult.callback, CallbackOutcome.Skipped, "an account has no callback");
      assert.equal(englishResult.inputHash, commitment.inputHash);
      assert.deepEqual(await getResult(client, { coordinator, requestId }), englishResult);
      assert.equal(await getResult(client, { coordinator, requestId: 10_000n }), undefined);

      const request = await getRequest(client, { coordinator, requestId });
      assert.deepEqual(request?.commitment, commitment);
      assert.equal(request?.input, toHex(english));
      assert.ok(isAddressEqual(request?.requester ?? "0x", wallet.account.address));
      assert.equal(request?.pending, false, "answered");
      assert.equal(request?.blockNumber, requested.blockNumber);
      assert.equal(await getRequest(client, { coordinator, requestId: 10_000n }), undefined);

      const verdict = await verifyResult(client, { coordinator, requestId });
      assert.equal(verdict.valid, true, verdict.reason);
      assert.equal(verdict.reason, undefined);
      assert.equal(verdict.state, "proven");
      assert.equal(verdict.sequence, englishResult.sequence);
      assert.equal(verdict.leafIndex, englishResult.leafIndex);
      assert.equal(
        verdict.leaf,
        resultLeaf(
          commitment,
          {
            status: englishResult.status,
            output: englishResult.output,
            metadata: englishResult.metadata,
          },
          englishResult.operator,
        ),
      );
      assert.ok(isAddressEqual(englishResult.operator, devnet.sibyl.operator.account.address));
      assert.ok(englishResult.fee > 0n && englishResult.fee <= commitment.escrow, "charged within escrow");
      assert.equal(verdict.root, await devnet.sibyl.log.read.root({ blockNumber: verdict.blockNumber }));
      assert.equal(verdict.siblings.length, 32);

      await until(async () => (byModel.length >= 2 && byRequest.length >= 1 ? true : undefined));
      assert.deepEqual(watchErrors, []);
      assert.deepEqual(
        byModel.map((result) => result.requestId),
        [requestId, frenchRequest.requestId],
      );
      // Reported at delivery: with its slot if the proof came along, without while it was pending.
      assert.deepEqual(
        byRequest.map((result) => [result.requestId, result.sequence, result.output]),
        [[requestId, englishResult.sequence, englishResult.output]],
      );
    });

    it("rejects a wrong output, a wrong leaf index and a forged path, each with a reason", async () => {
      const requestId = englishResult.requestId;
      const honest = await verifyResult(client, {
        coordinator,
        requestId,
        claim: { output: englishResult.output },
      });
      assert.equal(honest.valid, true, honest.reason);

      const wrongOutput = await verifyResult(client, {
        coordinator,
        requestId,
        claim: { output: "fr 0.9999" },
      });
      assert.equal(wrongOutput.valid, false);
      assert.match(wrongOutput.reason ?? "", /the result's leaf is/);

      const wrongStatus = await verifyResult(client, {
        coordinator,
        requestId,
        claim: { status: ResultStatus.ModelError },
      });
      assert.equal(wrongStatus.valid, false);

      // Another result's slot: a real leaf of the log, but not this result's.
      const wrongIndex = await verifyResult(client, {
        coordinator,
        requestId,
        leafIndex: frenchResult.leafIndex,
      });
      assert.equal(wrongIndex.valid, false);
      assert.match(wrongIndex.reason ?? "", new RegExp(`slot ${frenchResult.leafIndex}`));
      const beyond = await verifyResult(client, { coordinator, requestId, leafIndex: 1n << 20n });
      assert.equal(beyond.valid, false);
      assert.match(beyond.reason ?? "", /outside the log/);

      const { siblings, blockNumber } = honest;
      const handedOver = await verifyResult(client, { coordinator, requestId, siblings, blockNumber });
      assert.equal(handedOver.valid, true, handedOver.reason);
      const forged = siblings.map((sibling, level) => (level === 5 ? sibling ^ 1n : sibling));
      const forgedPath = await verifyResult(client, {
        coordinator,
        requestId,
        siblings: forged,
        blockNumber,
      });
      assert.equal(forgedPath.valid, false);
      assert.match(forgedPath.reason ?? "", /does not lead to the onchain root/);
    });
  });

  describe("ethers adapter", () => {
    it("requests, waits for and verifies a result, reaching the viem SDK's verdict", async () => {
      const signer = new Wallet(hardhatKey(7), provider);
      const input = "Das Wetter ist heute wunderschön.";
      const { requestId, commitment } = await ethersSibyl.requestInference(signer, {
        coordinator,
        model: "language-id",
        input,
      });
      assert.equal(commitment.requestId, requestId);
      assert.equal(commitment.requester, signer.address);
      assert.equal(commitment.inputHash, keccak256(toHex(input)));

      const result = await ethersSibyl.waitForResult(provider, {
        coordinator,
        requestId,
        timeoutMs: 60_000,
        pollingIntervalMs: 100,
        proven: true,
      });
      assert.equal(result.status, ResultStatus.Ok);
      assert.match(result.outputText ?? "", /^de 0\.\d{4}$/);
      assert.deepEqual(result, await getResult(client, { coordinator, requestId }));

      const verdict = await ethersSibyl.verifyResult(provider, { coordinator, requestId });
      assert.equal(verdict.valid, true, verdict.reason);
      assert.deepEqual(
        verdict,
        await verifyResult(client, { coordinator, requestId, blockNumber: verdict.blockNumber }),
      );
      const wrong = await ethersSibyl.verifyResult(provider, {
        coordinator,
        requestId,
        claim: { output: "en 0.9999" },
      });
      assert.equal(wrong.valid, false);
      assert.ok(wrong.reason);
      const forged = await ethersSibyl.verifyResult(provider, {
        coordinator,
        requestId,
        siblings: verdict.siblings.map((sibling, level) => (level === 0 ? sibling + 1n : sibling)),
      });
      assert.equal(forged.valid, false);
    });
  });

  describe("a request nobody answers", () => {
    it("times out, expires at its deadline, then anyone cancels it and the requester is refunded", async () => {
      const { requestId, commitment } = await requestInference(wallet, {
        coordinator,
        model: "nobody-serves-this",
        input: "Is anyone there?",
      });
      await assert.rejects(
        waitForResult(client, { coordinator, requestId, timeoutMs: 1_500, ...POLL }),
        (error) => error instanceof ResultTimeoutError && error.requestId === requestId && error.retryable,
      );
      assert.equal((await getRequest(client, { coordinator, requestId }))?.pending, true);
      await assert.rejects(cancelRequest(wallet, { coordinator, requestId }), /RequestNotExpired/);

      await devnet.connection.provider.request({ method: "evm_increaseTime", params: [4000] });
      await devnet.connection.provider.request({ method: "evm_mine", params: [] });
      await assert.rejects(
        waitForResult(client, { coordinator, requestId, ...POLL }),
        (error) => error instanceof RequestExpiredError && error.deadline === commitment.deadline,
      );

      const balanceBefore = await devnet.sibyl.coordinator.read.balanceOf([wallet.account.address]);
      const someoneElse = devnet.sibyl.users[2] as typeof wallet;
      const receipt = await cancelRequest(someoneElse, { coordinator, requestId });
      assert.equal(receipt.status, "success");
      const [cancelled] = parseEventLogs({
        abi: sibylCoordinatorAbi,
        logs: receipt.logs,
        eventName: "RequestCancelled",
      });
      assert.equal(cancelled?.args.requestId, requestId);
      assert.equal(cancelled?.args.refund, commitment.escrow);
      assert.equal(
        await devnet.sibyl.coordinator.read.balanceOf([wallet.account.address]),
        balanceBefore + commitment.escrow,
      );
      assert.equal(
        await devnet.sibyl.coordinator.read.balanceOf([someoneElse.account.address]),
        0n,
        "the canceller gets nothing",
      );
      assert.equal((await getRequest(client, { coordinator, requestId }))?.pending, false);
      await assert.rejects(cancelRequest(wallet, { coordinator, commitment }), /RequestNotPending/);
    });
  });
});

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
