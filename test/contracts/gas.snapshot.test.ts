/**
 * Gas snapshot: request, cancel, a full fulfilment at every batch size, and a delivery without a
 * proof with its later proof for 1 and 4 requests (256-byte outputs, no callback), with real proofs,
 * checked against snapshots/gas.json. Proof bytes are random, so a fulfilment's or proof's calldata
 * cost varies by a few dozen gas; a change beyond TOLERANCE fails. After an
 * intended change: UPDATE_GAS_SNAPSHOT=1 npx hardhat test mocha test/contracts/gas.snapshot.test.ts
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { network } from "hardhat";
import { after, before, describe, it } from "mocha";
import { releaseSnarkjsCurve } from "../../src/node/prover/curve.js";
import { BatchProver } from "../../src/node/prover/prover.js";
import { BATCH_SIZES } from "../../src/shared/encoding.js";
import {
  type Answer,
  ask,
  deploySibyl,
  okAnswer,
  type Sibyl,
  TEST_MODEL,
  TestOperator,
} from "../helpers/sibyl.js";

const SNAPSHOT = new URL("../../snapshots/gas.json", import.meta.url);
const TOLERANCE = 1_000;

describe("gas snapshot", function () {
  this.timeout(300_000);
  let prover: BatchProver;
  let connection: Awaited<ReturnType<typeof network.create>>;
  let sibyl: Sibyl;

  before(async () => {
    prover = new BatchProver();
    connection = await network.create();
    sibyl = await deploySibyl(connection.viem);
  });
  after(async () => {
    await prover.close();
    await connection.close();
    await releaseSnarkjsCurve();
  });

  it("matches snapshots/gas.json", async () => {
    const measured: Record<string, number> = {};
    const operator = new TestOperator(sibyl, prover);
    await operator.fulfill([okAnswer((await ask(sibyl, "warm-up")).commitment, "first")]);

    measured.request = Number((await ask(sibyl, "a 32-byte question, more or less")).gasUsed);
    for (const batchSize of BATCH_SIZES) {
      const answers: Answer[] = [];
      for (let i = 0; i < batchSize; i++) {
        answers.push(okAnswer((await ask(sibyl, `question ${i}`)).commitment, "a".repeat(256)));
      }
      measured[`fulfill_batch_${batchSize}`] = Number((await operator.fulfill(answers)).receipt.gasUsed);
    }
    // Delivered without a proof and proven later: one request alone, then four delivered at once.
    for (const count of [1, 4]) {
      const answers: Answer[] = [];
      for (let i = 0; i < count; i++) {
        answers.push(okAnswer((await ask(sibyl, `later ${i}`)).commitment, "a".repeat(256)));
      }
      measured[`deliver_${count}`] = Number((await operator.deliver(answers)).receipt.gasUsed);
      measured[`prove_${count}`] = Number((await operator.provePending()).receipt.gasUsed);
    }
    const expired = await ask(sibyl, "never answered");
    await connection.networkHelpers.time.increase(TEST_MODEL.timeout + 1);
    const cancel = await sibyl.coordinator.write.cancel([expired.commitment], {
      account: sibyl.operator.account,
    });
    measured.cancel = Number((await sibyl.publicClient.waitForTransactionReceipt({ hash: cancel })).gasUsed);

    if (process.env.UPDATE_GAS_SNAPSHOT === "1") {
      await writeFile(SNAPSHOT, `${JSON.stringify(measured, null, 2)}\n`);
      return;
    }
    const snapshot: Record<string, number> = JSON.parse(await readFile(SNAPSHOT, "utf8"));
    assert.deepEqual(Object.keys(measured).sort(), Object.keys(snapshot).sort(), "same operations measured");
    const drifted = Object.entries(measured).filter(
      ([name, gas]) => Math.abs(gas - (snapshot[name] as number)) > TOLERANCE,
    );
    assert.deepEqual(
      drifted.map(([name, gas]) => `${name}: ${snapshot[name]} -> ${gas}`),
      [],
      "gas changed; if intended, update the snapshot (see the header of this file)",
    );
  });
});
