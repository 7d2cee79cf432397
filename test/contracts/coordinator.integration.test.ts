import assert from "node:assert/strict";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import { parseEventLogs, toHex } from "viem";
import { releaseSnarkjsCurve } from "../../src/node/prover/curve.js";
import { BatchProver } from "../../src/node/prover/prover.js";
import { quoteGasPrice } from "../../src/sdk/quoteGasPrice.js";
import { EMPTY_LEAF, ResultStatus, resultLeaf } from "../../src/shared/encoding.js";
import { buildInclusionProof, IncrementalMerkleTree, verifyInclusionProof } from "../../src/shared/merkle.js";
import {
  type Answer,
  ask,
  deploySibyl,
  okAnswer,
  requestedIn,
  type Sibyl,
  TEST_METADATA,
  TEST_MODEL,
  TestOperator,
} from "../helpers/sibyl.js";

describe("SibylCoordinator with real proofs (Hardhat network)", function () {
  this.timeout(300_000);
  let prover: BatchProver;
  let connection: Awaited<ReturnType<typeof network.create>>;
  let sibyl: Sibyl;
  let operator: TestOperator;

  before(async () => {
    prover = new BatchProver();
    connection = await network.create();
    sibyl = await deploySibyl(connection.viem);
    operator = new TestOperator(sibyl, prover);
  });
  after(async () => {
    await prover.close();
    await connection.close();
    await releaseSnarkjsCurve();
  });

  const question = async (input: string) => (await ask(sibyl, input)).commitment;

  it("answers a dapp and EOAs in one proven batch, and the log can be rebuilt from events alone", async () => {
    const board = await connection.viem.deployContract("PromptBoard", [
      sibyl.log.address,
      TEST_MODEL.id,
      300_000,
    ]);
    const boardFee = await board.read.askFee([await quoteGasPrice(sibyl.publicClient)]);
    const askHash = await board.write.ask(["Capital of France?"], { value: boardFee });
    const [boardRequest] = await requestedIn(sibyl, askHash);
    assert.ok(boardRequest);
    const first = await question("bonjour tout le monde");
    const second = await question("guten Tag");

    const answers = [
      okAnswer(boardRequest, "Paris"),
      okAnswer(first, "fr"),
      {
        commitment: second,
        result: { status: ResultStatus.ModelError, output: toHex("timeout"), metadata: TEST_METADATA },
      },
    ];
    const { receipt } = await operator.fulfill(answers);
    assert.equal(receipt.status, "success");
    assert.equal(await sibyl.log.read.root(), operator.tree.root, "contract and TypeScript trees agree");
    assert.equal(await sibyl.log.read.nextIndex(), 4n, "a batch of 3 fills a subtree of 4");

    const entry = await board.read.entryOf([boardRequest.requestId]);
    assert.equal(entry.answered, true);
    assert.equal(entry.answer, toHex("Paris"));

    const delivered = parseEventLogs({
      abi: sibyl.coordinator.abi,
      logs: receipt.logs,
      eventName: "ResultDelivered",
    });
    assert.deepEqual(
      delivered.map((event) => event.args.callback),
      [1, 0, 0], // Succeeded for the board, Skipped for the EOAs
    );

    // An auditor with only the events rebuilds the same root and checks one result's inclusion.
    const batches = parseEventLogs({
      abi: sibyl.log.abi,
      logs: receipt.logs,
      eventName: "BatchAppended",
    });
    const rebuilt = new IncrementalMerkleTree();
    const slots: bigint[] = [];
    for (const batch of batches) {
      const leaves = delivered
        .filter(
          ({ args: { sequence } }) =>
            sequence >= batch.args.firstSequence && sequence < batch.args.firstSequence + batch.args.count,
        )
        .map((event) =>
          resultLeaf(
            { requestId: event.args.requestId, modelId: event.args.modelId, inputHash: event.args.inputHash },
            {
              status: event.args.status as ResultStatus,
              output: event.args.output,
              metadata: event.args.metadata,
            },
            event.args.operator,
          ),
        );
      while (leaves.length < Number(batch.args.batchSize)) leaves.push(EMPTY_LEAF);
      rebuilt.appendSubtree(leaves);
      slots.push(...leaves);
    }
    assert.equal(rebuilt.root, await sibyl.log.read.root());
    const proof = buildInclusionProof(slots, 0);
    assert.ok(verifyInclusionProof(proof, await sibyl.log.read.root()));
    assert.equal(
      proof.leaf,
      resultLeaf(boardRequest, answers[0]?.result as Answer["result"], sibyl.operator.account.address),
    );
  });

  it("rejects a real proof for a different statement with InvalidProof, and accepts the right one", async () => {
    const request = await question("hola");
    const honest = await operator.prove([okAnswer(request, "es")]);
    const [, newRoot, proof] = honest.args;
    const { commitment, result } = okAnswer(request, "en");
    const tampered = [[{ commitment, ...result, signatures: "0x" as const }], newRoot, proof] as const;
    await assert.rejects(
      sibyl.coordinator.write.fulfill(tampered, { account: sibyl.operator.account }),
      /InvalidProof/,
    );
    await assert.rejects(
      sibyl.coordinator.write.fulfill([honest.args[0], newRoot + 1n, proof], {
        account: sibyl.operator.account,
      }),
      /InvalidProof/,
    );
    const { receipt } = await operator.fulfill([okAnswer(request, "es")]);
    assert.equal(receipt.status, "success");
    assert.equal(await sibyl.log.read.root(), operator.tree.root);
  });

  it("fills batches of every size in order, leaving skipped slots empty", async () => {
    for (const count of [1, 2, 16, 17]) {
      const answers: Answer[] = [];
      for (let i = 0; i < count; i++) answers.push(okAnswer(await question(`q${count}-${i}`), `a${i}`));
      await operator.fulfill(answers);
      assert.equal(await sibyl.log.read.root(), operator.tree.root, `after a batch of ${count}`);
      assert.equal(await sibyl.log.read.nextIndex(), operator.tree.nextIndex);
    }
  });

  it("delivers without a proof, is proven later by an account that is no operator, and keeps one log", async () => {
    const prover = sibyl.users[1];
    assert.ok(prover, "a second user account");
    const alone = [okAnswer(await question("alone"), "one")];
    const pair = [okAnswer(await question("pair a"), "a"), okAnswer(await question("pair b"), "b")];
    const rootBefore = await sibyl.log.read.root();
    const balanceOf = (address: `0x${string}`) => sibyl.coordinator.read.balanceOf([address]);
    const operatorBefore = await balanceOf(sibyl.operator.account.address);
    const deliveries = [await operator.deliver(alone), await operator.deliver(pair)];
    assert.equal(await sibyl.log.read.root(), rootBefore, "delivered, not yet proven");
    const [proven, delivered] = await sibyl.log.read.pendingLog();
    assert.equal(delivered - proven, 3n, "three results wait for their proof");
    const fees = deliveries
      .flatMap(({ receipt }) =>
        parseEventLogs({ abi: sibyl.coordinator.abi, logs: receipt.logs, eventName: "ResultDelivered" }),
      )
      .reduce((sum, event) => sum + event.args.fee, 0n);
    const operatorEarned = await balanceOf(sibyl.operator.account.address);
    assert.equal(
      operatorEarned - operatorBefore,
      fees,
      "the deliverer was paid every fee, the proof's share too",
    );

    // A real proof of a prefix that ends inside a delivery is refused.
    await assert.rejects(operator.provePending(2, prover.account), /PendingLeavesMismatch/);
    const proverBefore = await balanceOf(prover.account.address);
    const first = await operator.provePending(1, prover.account);
    // The same prove calldata copied by another account after it landed: refused, and worth nothing.
    const copier = sibyl.users[2];
    assert.ok(copier, "a third user account");
    const original = await sibyl.publicClient.getTransaction({ hash: first.receipt.transactionHash });
    await assert.rejects(
      copier.sendTransaction({ to: sibyl.log.address, data: original.input }),
      /PendingLeavesMismatch/,
    );
    await operator.provePending(2, prover.account);
    assert.equal(await sibyl.log.read.root(), operator.tree.root, "contract and TypeScript trees agree");
    assert.equal(await balanceOf(prover.account.address), proverBefore, "proving paid nobody");
    assert.equal(await balanceOf(copier.account.address), 0n, "nor the copier");
    assert.equal(
      await balanceOf(sibyl.operator.account.address),
      operatorEarned,
      "and took nothing from the deliverer",
    );

    // The whole log, fulfilled and delivered alike, rebuilt from events alone: each result sits at
    // startIndex + (sequence - firstSequence) of the BatchAppended that covers it.
    const from = { fromBlock: 0n, strict: true } as const;
    const results = await sibyl.publicClient.getContractEvents({
      ...from,
      address: sibyl.coordinator.address,
      abi: sibyl.coordinator.abi,
      eventName: "ResultDelivered",
    });
    const batches = await sibyl.publicClient.getContractEvents({
      ...from,
      address: sibyl.log.address,
      abi: sibyl.log.abi,
      eventName: "BatchAppended",
    });
    const leafOfSequence = new Map(
      results.map(({ args }) => [
        args.sequence,
        resultLeaf(
          { requestId: args.requestId, modelId: args.modelId, inputHash: args.inputHash },
          { status: args.status as ResultStatus, output: args.output, metadata: args.metadata },
          args.operator,
        ),
      ]),
    );
    const rebuilt = new IncrementalMerkleTree();
    let covered = 0n;
    for (const { args } of batches) {
      const leaves: bigint[] = [];
      for (let sequence = args.firstSequence; sequence < args.firstSequence + args.count; sequence++) {
        const leaf = leafOfSequence.get(sequence);
        assert.ok(leaf !== undefined, `a ResultDelivered for sequence ${sequence}`);
        leaves.push(leaf);
      }
      while (leaves.length < Number(args.batchSize)) leaves.push(EMPTY_LEAF);
      assert.equal(rebuilt.appendSubtree(leaves).startIndex, args.startIndex, "the subtree's slot");
      covered += args.count;
    }
    assert.equal(covered, BigInt(results.length), "every delivered result is in one batch");
    assert.equal(rebuilt.root, await sibyl.log.read.root(), "the rebuilt log is the onchain one");
  });
});
