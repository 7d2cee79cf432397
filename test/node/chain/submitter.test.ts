/**
 * The submitter against a chain that serves a mined transaction's receipt late (anvil with automine
 * moves the account's nonce before the receipt is served): a transaction is only called dropped when
 * its receipt stays missing over several polls.
 */
import assert from "node:assert/strict";
import { network } from "hardhat";
import { createPublicClient, custom, type EIP1193Provider, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhatKey } from "../../../src/cli/devAccounts.js";
import { fulfillData } from "../../../src/node/chain/calls.js";
import { Submitter } from "../../../src/node/chain/submitter.js";
import { releaseSnarkjsCurve } from "../../../src/node/prover/curve.js";
import { BatchProver } from "../../../src/node/prover/prover.js";
import { SqliteJobStore } from "../../../src/node/store/sqliteStore.js";
import { testContext } from "../../helpers/nodeContext.js";
import { ask, deploySibyl, okAnswer, type Sibyl, TestOperator } from "../../helpers/sibyl.js";

describe("Submitter with late receipts", function () {
  this.timeout(120_000);
  let connection: Awaited<ReturnType<typeof network.create>>;
  let sibyl: Sibyl;
  let prover: BatchProver;

  before(() => {
    prover = new BatchProver();
  });
  after(async () => {
    await prover.close();
    await releaseSnarkjsCurve();
  });
  beforeEach(async () => {
    connection = await network.create();
    sibyl = await deploySibyl(connection.viem);
  });
  afterEach(async () => {
    await connection.close();
  });

  /** A client whose node answers `null` to the first `hidden` receipt lookups of each transaction. */
  function lateReceiptClient(hidden: number): PublicClient {
    const lookups = new Map<string, number>();
    const provider = connection.provider as unknown as EIP1193Provider;
    const request = (async ({ method, params }: { method: string; params?: unknown }) => {
      if (method === "eth_getTransactionReceipt") {
        const [hash] = params as [string];
        const seen = (lookups.get(hash) ?? 0) + 1;
        lookups.set(hash, seen);
        if (seen <= hidden) return null;
      }
      return provider.request({ method, params } as never);
    }) as EIP1193Provider["request"];
    return createPublicClient({ transport: custom({ request }) }) as PublicClient;
  }

  /** Submits a real, provable fulfil of one request through a submitter on `client`. */
  async function submitOne(client: PublicClient) {
    const { commitment } = await ask(sibyl, "late receipt");
    const { args } = await new TestOperator(sibyl, prover).prove([okAnswer(commitment, "answer")]);
    const store = new SqliteJobStore(":memory:");
    const batch = await store.createBatch({
      requestIds: [],
      oldRoot: 0n,
      newRoot: 0n,
      startIndex: 0n,
      batchSize: 1,
    });
    // The helper's operator is Hardhat's account #1; the submitter signs with its key.
    const submitter = new Submitter(testContext(sibyl.coordinator.address), {
      client,
      account: privateKeyToAccount(hardhatKey(1)),
      store,
      receiptPollMs: 20,
    });
    await submitter.init();
    // A lone result with no callback: far under this bound.
    return submitter.submit(batch.id, sibyl.coordinator.address, fulfillData(args), 1_000_000n);
  }

  it("waits for a receipt served a few polls after the nonce moved, and reports the fulfil mined", async () => {
    const outcome = await submitOne(lateReceiptClient(3));
    assert.equal(outcome.kind, "mined");
  });

  it("still calls a transaction dropped when its receipt never comes", async () => {
    const outcome = await submitOne(lateReceiptClient(Number.POSITIVE_INFINITY));
    assert.equal(outcome.kind, "dropped");
  });
});
