/**
 * Results delivered without a proof, through every reader a dapp or an auditor has: a real Hardhat
 * chain (`hardhat node`, so the CLI can reach it too), the real coordinator and Groth16 verifiers, and
 * real proofs from TestOperator. A delivered result reads and verifies as "in the log, proof pending";
 * once someone proves the queue it reads and verifies as proven at the slot the proof gave it. A
 * tampered claim or a claim of the wrong operator fails in both states.
 */
import assert from "node:assert/strict";
import { JsonRpcProvider } from "ethers";
import { after, before, describe, it } from "mocha";
import type { Hex, PublicClient } from "viem";
import * as ethersSibyl from "../../src/ethers/index.js";
import { releaseSnarkjsCurve } from "../../src/node/prover/curve.js";
import { BatchProver } from "../../src/node/prover/prover.js";
import {
  getRequest,
  getResult,
  type SibylResult,
  verifyResult,
  waitForResult,
  watchResults,
} from "../../src/sdk/index.js";
import { type Devnet, hardhatKey, startDevnet } from "../helpers/devnet.js";
import { runSibyl, startSibyl } from "../helpers/processes.js";
import { type Answer, ask, okAnswer, TestOperator } from "../helpers/sibyl.js";

const WRONG_OPERATOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

describe("results delivered without a proof, then proven (hardhat node, real proofs)", function () {
  this.timeout(300_000);
  let devnet: Devnet;
  let prover: BatchProver;
  let operator: TestOperator;
  let client: PublicClient;
  let provider: JsonRpcProvider;
  let coordinator: Hex;
  let cli: string[];
  const ids: Record<"fulfilled" | "first" | "second" | "third", bigint> = {
    fulfilled: 0n,
    first: 0n,
    second: 0n,
    third: 0n,
  };
  const watched: SibylResult[] = [];
  const provenLater: SibylResult[] = [];
  let unwatch: () => void = () => undefined;
  let provenWait: Promise<SibylResult>;

  const request = async (input: string) => (await ask(devnet.sibyl, input)).commitment;
  const answer = (commitment: Answer["commitment"]) => okAnswer(commitment, `answer ${commitment.requestId}`);

  before(async () => {
    devnet = await startDevnet([]);
    prover = new BatchProver();
    operator = new TestOperator(devnet.sibyl, prover);
    client = (await devnet.connection.viem.getPublicClient()) as PublicClient;
    provider = new JsonRpcProvider(devnet.chain.url, undefined, { staticNetwork: true });
    coordinator = devnet.sibyl.coordinator.address;
    cli = ["--rpc", devnet.chain.url, "--coordinator", coordinator];

    const fulfilled = await request("proven with its delivery");
    await operator.fulfill([answer(fulfilled)]);
    ids.fulfilled = fulfilled.requestId;
    unwatch = watchResults(client, {
      coordinator,
      fromBlock: (await client.getBlockNumber()) + 1n,
      pollingInterval: 100,
      onResult: (result) => watched.push(result),
      onProven: (result) => provenLater.push(result),
    });
    // Two deliveries: sequences 1 and 2 in one transaction, 3 in the next.
    const [first, second, third] = [await request("one"), await request("two"), await request("three")];
    ids.first = first.requestId;
    ids.second = second.requestId;
    ids.third = third.requestId;
    provenWait = waitForResult(client, {
      coordinator,
      requestId: ids.first,
      proven: true,
      timeoutMs: 240_000,
      pollingInterval: 100,
    });
    await operator.deliver([answer(first), answer(second)]);
    await operator.deliver([answer(third)]);
  });

  after(async () => {
    unwatch();
    provider?.destroy();
    await prover?.close();
    await devnet?.stop();
    await releaseSnarkjsCurve();
  });

  it("reads a delivered result with its sequence and no leaf index while its proof is pending", async () => {
    const proven = await getResult(client, { coordinator, requestId: ids.fulfilled });
    assert.equal(proven?.sequence, 0n);
    assert.equal(proven?.leafIndex, 0n);
    assert.equal(proven?.batch?.transactionHash, proven?.transactionHash, "proven in its own transaction");

    const pending = await getResult(client, { coordinator, requestId: ids.second });
    assert.equal(pending?.sequence, 2n);
    assert.equal(pending?.leafIndex, undefined);
    assert.equal(pending?.batch, undefined);
    assert.equal(pending?.outputText, `answer ${ids.second}`);
    const viaEthers = await ethersSibyl.waitForResult(provider, {
      coordinator,
      requestId: ids.second,
      timeoutMs: 10_000,
      pollingInterval: 100,
    });
    assert.deepEqual(viaEthers, pending);
    const viaViem = await waitForResult(client, { coordinator, requestId: ids.second, timeoutMs: 10_000 });
    assert.deepEqual(viaViem, pending, "waiting for the delivery alone does not wait for the proof");
  });

  it("verifies a delivered result as in the log, proof pending: viem, ethers and the CLI agree", async () => {
    const verdict = await verifyResult(client, { coordinator, requestId: ids.second });
    assert.equal(verdict.valid, true, verdict.reason);
    assert.equal(verdict.state, "pending");
    assert.equal(verdict.sequence, 2n);
    assert.equal(verdict.leafIndex, undefined);
    const [proven, delivered, head, tail] = await devnet.sibyl.log.read.pendingLog({
      blockNumber: verdict.blockNumber,
    });
    assert.deepEqual(
      [verdict.queue.proven, verdict.queue.delivered, verdict.queue.head, verdict.queue.tail],
      [proven, delivered, head, tail],
    );
    assert.deepEqual([proven, delivered], [1n, 4n]);
    assert.deepEqual(
      await ethersSibyl.verifyResult(provider, {
        coordinator,
        requestId: ids.second,
        blockNumber: verdict.blockNumber,
      }),
      verdict,
    );
    // The fulfilled result is still proven, next to a queue that is not empty.
    const fulfilled = await verifyResult(client, { coordinator, requestId: ids.fulfilled });
    assert.equal(fulfilled.valid, true, fulfilled.reason);
    assert.equal(fulfilled.state, "proven");
    assert.equal(fulfilled.leafIndex, 0n);

    const run = await runSibyl(["verify", String(ids.second), ...cli]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(
      run.stdout,
      new RegExp(
        `^valid, in the log, proof pending: request ${ids.second}'s leaf \\(sequence 2\\) is committed in the onchain queue of pending leaves, sequences 1 to 3 \\(block \\d+\\)\\n  what this means: in the log, proof pending: the coordinator checked`,
      ),
    );
    const status = await runSibyl(["status", ...cli]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^pending {6}3 delivered, proof pending \(sequences 1 to 3\)$/m);
  });

  it("rejects a tampered output and a wrong operator while pending, in the SDK, ethers and the CLI", async () => {
    const tampered = await verifyResult(client, {
      coordinator,
      requestId: ids.first,
      claim: { output: "a different answer" },
    });
    assert.equal(tampered.valid, false);
    assert.equal(tampered.state, "pending");
    assert.match(
      tampered.reason ?? "",
      /^the queue of pending leaves holds leaf \d+ at sequence 1, the result's leaf is \d+$/,
    );
    // The right answer, but claimed as another operator's: that leaf is not in the queue.
    const wrongOperator = await ethersSibyl.verifyResult(provider, {
      coordinator,
      requestId: ids.third,
      claim: { operator: WRONG_OPERATOR },
    });
    assert.equal(wrongOperator.valid, false);
    assert.match(wrongOperator.reason ?? "", /holds leaf \d+ at sequence 3/);
    // A path cannot prove a pending result.
    const { siblings } = await verifyResult(client, { coordinator, requestId: ids.fulfilled });
    const withPath = await verifyResult(client, { coordinator, requestId: ids.first, siblings });
    assert.equal(withPath.valid, false);
    assert.match(withPath.reason ?? "", /is not proven at block \d+/);

    const run = await runSibyl(["verify", String(ids.first), "--output", "a different answer", ...cli]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^does NOT match: "a different answer" is not the answer recorded for request/);
  });

  it("after a proof of the first delivery, those results are proven at their slots and the rest still pending", async () => {
    // Anyone may prove: here an account that is not an operator.
    const someone = devnet.sibyl.users[2];
    assert.ok(someone);
    const { receipt } = await operator.provePending(2, someone.account);
    const first = await getResult(client, { coordinator, requestId: ids.first });
    // After the fulfilled batch of one at slot 0, 2 results take a batch of 4, aligned at slot 4.
    assert.equal(first?.leafIndex, 4n);
    assert.equal(first?.batch?.transactionHash, receipt.transactionHash);
    assert.equal(first?.batch?.prover.toLowerCase(), someone.account.address.toLowerCase());
    assert.equal((await getResult(client, { coordinator, requestId: ids.second }))?.leafIndex, 5n);

    const verdict = await verifyResult(client, { coordinator, requestId: ids.second });
    assert.equal(verdict.valid, true, verdict.reason);
    assert.equal(verdict.state, "proven");
    assert.equal(verdict.leafIndex, 5n);
    assert.equal(verdict.root, await devnet.sibyl.log.read.root());
    assert.deepEqual(
      await ethersSibyl.verifyResult(provider, {
        coordinator,
        requestId: ids.second,
        blockNumber: verdict.blockNumber,
      }),
      verdict,
    );
    const handedOver = await verifyResult(client, {
      coordinator,
      requestId: ids.second,
      siblings: verdict.siblings,
    });
    assert.equal(handedOver.valid, true, handedOver.reason);
    assert.equal(handedOver.leafIndex, 5n, "the slot comes from the batch events alone");

    // The third waits on, now behind a chain that starts at a delivery's checkpoint, not a restart.
    const third = await verifyResult(client, { coordinator, requestId: ids.third });
    assert.equal(third.valid, true, third.reason);
    assert.equal(third.state, "pending");
    assert.deepEqual([third.queue.proven, third.queue.delivered], [3n, 4n]);
    assert.notEqual(third.queue.head, `0x${"3".padStart(64, "0")}`);

    const run = await runSibyl(["verify", String(ids.second), ...cli]);
    assert.equal(run.code, 0, run.stderr + run.stdout);
    assert.match(
      run.stdout,
      /^valid, proven: leaf 5 of request \d+ \(sequence 2\) is in the onchain root \d+ \(block \d+\)\n {2}what this means: proven: /,
    );
  });

  it("rejects a tampered output and a wrong operator once proven", async () => {
    const tampered = await verifyResult(client, {
      coordinator,
      requestId: ids.second,
      claim: { output: "a different answer" },
    });
    assert.equal(tampered.valid, false);
    assert.equal(tampered.state, "proven");
    assert.match(tampered.reason ?? "", /^the log holds leaf \d+ at slot 5, the result's leaf is \d+$/);
    const wrongOperator = await verifyResult(client, {
      coordinator,
      requestId: ids.first,
      claim: { operator: WRONG_OPERATOR },
    });
    assert.equal(wrongOperator.valid, false);
    assert.match(wrongOperator.reason ?? "", /at slot 4/);
  });

  it("proves the rest; waiting for the proof and watching for it report each result with its slot", async () => {
    await operator.provePending();
    const third = await verifyResult(client, { coordinator, requestId: ids.third });
    assert.equal(third.valid, true, third.reason);
    assert.equal(third.state, "proven");
    assert.equal(third.leafIndex, 8n, "a batch of one at the next free slot");
    assert.deepEqual([third.queue.proven, third.queue.delivered], [4n, 4n]);
    const status = await runSibyl(["status", ...cli]);
    assert.match(status.stdout, /^pending {6}none: every delivered result is proven$/m);
    assert.match(status.stdout, /^result log {3}root \d+, next index 9, 4 results proven$/m);

    const proven = await provenWait;
    assert.equal(proven.leafIndex, 4n);
    assert.deepEqual(proven, await getResult(client, { coordinator, requestId: ids.first }));

    const started = Date.now();
    while (provenLater.length < 3 && Date.now() - started < 30_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(
      watched.map((result) => [result.requestId, result.leafIndex]),
      [
        [ids.first, undefined],
        [ids.second, undefined],
        [ids.third, undefined],
      ],
    );
    assert.deepEqual(
      provenLater.map((result) => [result.requestId, result.leafIndex]),
      [
        [ids.first, 4n],
        [ids.second, 5n],
        [ids.third, 8n],
      ],
    );
  });

  it("sibyl request prints the sequence and that the proof is pending when the answer comes without one", async () => {
    const run = startSibyl(
      ["request", "--model", "test-model", "--key-env", "PENDING_TEST_KEY", "four", ...cli],
      {
        PENDING_TEST_KEY: hardhatKey(5),
      },
    );
    try {
      await run.waitFor(/^request \d+ sent/m, 60_000);
      const requestId = BigInt(run.text.match(/^request (\d+) sent/m)?.[1] as string);
      const request = await getRequest(client, { coordinator, requestId });
      assert.ok(request);
      await operator.deliver([okAnswer(request.commitment, "answer four")]);
      assert.equal((await run.exited).code, 0, run.text);
      assert.match(run.text, /^output {2}answer four$/m);
      assert.match(
        run.text,
        /^leaf {4}proof pending \(sequence 4, delivered in 0x[0-9a-f]{64} by 0x[0-9a-fA-F]{40}\)$/m,
      );
      assert.match(run.text, /^proof {3}pending: committed in the onchain queue of delivered leaves/m);
    } finally {
      await run.stop();
    }
  });
});
