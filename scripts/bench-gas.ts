/**
 * Gas per fulfilled request on the Hardhat network (EDR, in process), with real proofs and the real
 * verifiers: every batch size, full batches, 256-byte and 2 KB outputs, and an empty consumer callback.
 *
 *   npm run bench:gas
 *
 * Columns, per request: the whole fulfil transaction with an empty callback; its share of proof
 * verification (the adapter's execution gas); the rest of the work (calldata, checks, leaf hashing,
 * events, storage, the 21k base shared by the batch); and the callback (the same batch with and
 * without callbacks). A warm-up fulfilment runs first, so figures are the steady state: the very
 * first fulfilment on a coordinator also pays ~40k for storage slots it is the first to write.
 * Prints two tables and writes bench/results/gas.json.
 */
import { network } from "hardhat";
import { encodeFunctionData, toHex } from "viem";
import { BatchProver } from "../src/node/prover/prover.js";
import { BATCH_SIZES, publicSignals, ResultStatus } from "../src/shared/encoding.js";
import {
  type Answer,
  ask,
  deploySibyl,
  quoteEscrow,
  requestedIn,
  TEST_MODEL,
  TestOperator,
} from "../test/helpers/sibyl.js";
import { executionGas } from "./lib/gas.js";
import { printTable, writeResults } from "./lib/report.js";

const OUTPUT_SIZES = [256, 2048];
const CALLBACK_GAS = 50_000;
const METADATA = toHex('{"provider":"openai","model":"gpt-4o-mini-2024-07-18","temperature":0}');

const connection = await network.create();
const sibyl = await deploySibyl(connection.viem);
const prover = new BatchProver();
const operator = new TestOperator(sibyl, prover);
const consumer = await connection.viem.deployContract("NoopConsumer", [sibyl.coordinator.address]);
const [user] = sibyl.users;
if (user === undefined) throw new Error("no user account");

/** A request with an empty callback, through the NoopConsumer; without one, a plain EOA request. */
async function request(input: string, viaConsumer: boolean) {
  if (!viaConsumer) return ask(sibyl, input);
  const fee = await quoteEscrow(sibyl, TEST_MODEL.id, CALLBACK_GAS);
  const hash = await consumer.write.ask([TEST_MODEL.id, toHex(input), CALLBACK_GAS], {
    account: user?.account,
    value: fee,
  });
  const requested = await requestedIn(sibyl, hash);
  const [commitment] = requested;
  if (commitment === undefined) throw new Error("no InferenceRequested event");
  return { commitment, gasUsed: requested.receipt.gasUsed };
}

async function fulfilBatch(batchSize: number, outputBytes: number, withCallback: boolean) {
  const answers: Answer[] = [];
  for (let i = 0; i < batchSize; i++) {
    const { commitment } = await request(`question ${batchSize}/${outputBytes}/${i}`, withCallback);
    const output = toHex("a".repeat(outputBytes));
    answers.push({ commitment, result: { status: ResultStatus.Ok, output, metadata: METADATA } });
  }
  const { receipt, statement } = await operator.fulfill(answers);
  const adapter = await connection.viem.getContractAt(
    "Groth16BatchVerifier",
    await sibyl.coordinator.read.verifierFor([BigInt(batchSize)]),
  );
  const verifyCall = encodeFunctionData({
    abi: adapter.abi,
    functionName: "verifyBatch",
    args: [statement.args[2], publicSignals(statement.witness)],
  });
  const verification = await executionGas(sibyl.publicClient, adapter.address, verifyCall);
  return { total: Number(receipt.gasUsed), verification: verification.execution };
}

// The first fulfilment ever writes zero slots (next index, the operator's balance): keep it out.
await fulfilBatch(1, 32, false);

const rows = [];
for (const batchSize of BATCH_SIZES) {
  for (const outputBytes of OUTPUT_SIZES) {
    process.stderr.write(`batch ${batchSize}, ${outputBytes}-byte outputs…\n`);
    const plain = await fulfilBatch(batchSize, outputBytes, false);
    const called = await fulfilBatch(batchSize, outputBytes, true);
    rows.push({
      batchSize,
      outputBytes,
      perRequestWithEmptyCallback: Math.round(called.total / batchSize),
      verificationPerRequest: Math.round(plain.verification / batchSize),
      workPerRequest: Math.round((plain.total - plain.verification) / batchSize),
      callbackPerRequest: Math.round((called.total - plain.total) / batchSize),
      fulfilTxGasWithCallbacks: called.total,
    });
  }
}

const single = await request("one question", false);
const viaConsumer = await request("one question", true);
const expired = await request("never answered", false);
await connection.networkHelpers.time.increase(TEST_MODEL.timeout + 1);
const cancelHash = await sibyl.coordinator.write.cancel([expired.commitment], { account: user.account });
const cancelGas = Number((await sibyl.publicClient.waitForTransactionReceipt({ hash: cancelHash })).gasUsed);
await prover.close();

printTable(
  [
    "batch",
    "output bytes",
    "gas / request (empty callback)",
    "verification",
    "other work",
    "callback",
    "fulfil tx gas",
  ],
  rows.map((row) => [
    row.batchSize,
    row.outputBytes,
    row.perRequestWithEmptyCallback,
    row.verificationPerRequest,
    row.workPerRequest,
    row.callbackPerRequest,
    row.fulfilTxGasWithCallbacks,
  ]),
);
process.stdout.write("\n");
const others = [
  { operation: "request (EOA, no callback, 12-byte input)", gas: Number(single.gasUsed) },
  { operation: "request through a consumer contract (callback)", gas: Number(viaConsumer.gasUsed) },
  { operation: "cancel after the deadline", gas: cancelGas },
];
printTable(
  ["operation", "gas"],
  others.map((row) => [row.operation, row.gas]),
);
await writeResults("gas", [...rows, ...others]);
