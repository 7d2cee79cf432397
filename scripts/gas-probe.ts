import { network } from "hardhat";
import { toHex } from "viem";
import { BatchProver } from "../src/node/prover/prover.js";
import { ResultStatus } from "../src/shared/encoding.js";
import { type Answer, deploySibyl, quoteEscrow, TEST_MODEL, TestOperator, requestedIn } from "../test/helpers/sibyl.js";
import { calldataGas } from "./lib/gas.js";
const METADATA = toHex('{"provider":"openai","model":"gpt-4o-mini-2024-07-18","temperature":0}');
const connection = await network.create();
const sibyl = await deploySibyl(connection.viem);
const prover = new BatchProver();
const operator = new TestOperator(sibyl, prover);
const consumer = await connection.viem.deployContract("NoopConsumer", [sibyl.coordinator.address]);
const [user] = sibyl.users;
async function batch(n: number) {
  const answers: Answer[] = [];
  for (let i = 0; i < n; i++) {
    const fee = await quoteEscrow(sibyl, TEST_MODEL.id, 50_000);
    const hash = await consumer.write.ask([TEST_MODEL.id, toHex(`q ${n} ${i}`), 50_000], { account: user!.account, value: fee });
    const [commitment] = await requestedIn(sibyl, hash);
    answers.push({ commitment: commitment!, result: { status: ResultStatus.Ok, output: toHex("a".repeat(256)), metadata: METADATA } });
  }
  const { receipt } = await operator.fulfill(answers);
  const tx = await sibyl.publicClient.getTransaction({ hash: receipt.transactionHash });
  const cd = calldataGas(tx.input);
  console.log(`batch ${n}: gas/req ${Number(receipt.gasUsed) / n}, calldata/req ${cd / n}, bytes/req ${(tx.input.length - 2) / 2 / n}`);
}
await batch(1);
for (const n of (process.env.SIZES ?? "16,64").split(",")) await batch(Number(n));
await prover.close();
