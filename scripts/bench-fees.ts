/**
 * Do fees pay? For each batch size, output size and base fee, requests escrow the SDK's quote, an
 * operator fulfils them with real proofs at that base fee plus a 2 gwei tip, and the table compares
 * what the requesters were charged for gas (the model fee left out) with what the operator's
 * transaction cost. A spike row quotes at one base fee and fulfils at almost twice it. Runs on the
 * in-process Hardhat network (Osaka rules: EIP-7623 calldata floor, EIP-3529 refunds).
 *
 *   npm run bench:fees
 *
 * Ends with the smallest margin seen; exits 1 if it is negative (an operator would lose money).
 * Writes bench/results/fees.json.
 */
import { network } from "hardhat";
import { parseEventLogs, toHex } from "viem";
import { BatchProver } from "../src/node/prover/prover.js";
import { ResultStatus } from "../src/shared/encoding.js";
import { type Answer, deploySibyl, quoteEscrow, TEST_MODEL, TestOperator } from "../test/helpers/sibyl.js";
import { printTable, writeResults } from "./lib/report.js";

const GWEI = 10n ** 9n;
const TIP = 2n * GWEI;
const BATCH_SIZES = [1, 4, 16, 64];
const OUTPUT_SIZES = [256, 2048];
const METADATA = toHex('{"provider":"openai","model":"gpt-4o-mini-2024-07-18","temperature":0}');
/** [base fee when requested, base fee when fulfilled] */
const SCENARIOS: Array<[bigint, bigint]> = [
  [1n * GWEI, 1n * GWEI],
  [50n * GWEI, 50n * GWEI],
  [500n * GWEI, 500n * GWEI],
  [50n * GWEI, 95n * GWEI],
];

const connection = await network.create();
const sibyl = await deploySibyl(connection.viem);
const prover = new BatchProver();
const operator = new TestOperator(sibyl, prover);
const users = sibyl.users.slice(0, 8);

async function setBaseFee(baseFee: bigint) {
  await sibyl.publicClient.request({
    method: "hardhat_setNextBlockBaseFeePerGas" as never,
    params: [toHex(baseFee)] as never,
  });
}

async function run(batchSize: number, outputBytes: number, requestedAt: bigint, fulfilledAt: bigint) {
  const answers: Answer[] = [];
  let escrowed = 0n;
  for (let i = 0; i < batchSize; i++) {
    const user = users[i % users.length] as (typeof users)[number];
    // The quote reads the latest block's base fee: mine one at the scenario's, then request at it too.
    await setBaseFee(requestedAt);
    await sibyl.publicClient.request({ method: "evm_mine" as never });
    const escrow = await quoteEscrow(sibyl);
    await setBaseFee(requestedAt);
    const hash = await sibyl.coordinator.write.request(
      [TEST_MODEL.id, toHex(`fees ${batchSize}/${outputBytes}/${requestedAt}/${i}`), 0, user.account.address],
      {
        account: user.account,
        value: escrow,
        maxFeePerGas: 4n * fulfilledAt + TIP,
        maxPriorityFeePerGas: TIP,
      },
    );
    const receipt = await sibyl.publicClient.waitForTransactionReceipt({ hash });
    const [event] = parseEventLogs({
      abi: sibyl.coordinator.abi,
      logs: receipt.logs,
      eventName: "InferenceRequested",
    });
    if (event === undefined) throw new Error("no InferenceRequested");
    escrowed += escrow;
    answers.push({
      commitment: event.args.commitment,
      result: { status: ResultStatus.Ok, output: toHex("a".repeat(outputBytes)), metadata: METADATA },
    });
  }
  await setBaseFee(fulfilledAt);
  const { receipt } = await operator.fulfill(answers, {
    maxFeePerGas: 2n * fulfilledAt + TIP,
    maxPriorityFeePerGas: TIP,
  });
  const delivered = parseEventLogs({
    abi: sibyl.coordinator.abi,
    logs: receipt.logs,
    eventName: "ResultDelivered",
  });
  const charged = delivered.reduce((sum, event) => sum + event.args.fee, 0n);
  const modelFees = TEST_MODEL.fee * BigInt(batchSize);
  const gasCharged = charged - modelFees;
  const spent = receipt.gasUsed * receipt.effectiveGasPrice;
  return {
    batchSize,
    outputBytes,
    requestedAtGwei: Number(requestedAt / GWEI),
    fulfilledAtGwei: Number(fulfilledAt / GWEI),
    escrowPerRequest: escrowed / BigInt(batchSize),
    chargedPerRequest: charged / BigInt(batchSize),
    gasUsed: receipt.gasUsed,
    gasChargedWei: gasCharged,
    gasSpentWei: spent,
    marginWei: gasCharged - spent,
    marginPercent: Number(((gasCharged - spent) * 10_000n) / spent) / 100,
  };
}

const rows = [];
for (const [requestedAt, fulfilledAt] of SCENARIOS) {
  for (const batchSize of BATCH_SIZES) {
    for (const outputBytes of OUTPUT_SIZES) {
      process.stderr.write(
        `base fee ${requestedAt / GWEI}→${fulfilledAt / GWEI} gwei, batch ${batchSize}, ${outputBytes} B…\n`,
      );
      rows.push(await run(batchSize, outputBytes, requestedAt, fulfilledAt));
    }
  }
}
await prover.close();

const eth = (wei: bigint) => (Number(wei) / 1e18).toPrecision(4);
printTable(
  [
    "base fee gwei (quote → fulfil)",
    "batch",
    "output B",
    "escrow / req ETH",
    "charged / req ETH",
    "gas used",
    "gas charged ETH",
    "gas spent ETH",
    "margin",
  ],
  rows.map((row) => [
    `${row.requestedAtGwei} → ${row.fulfilledAtGwei}`,
    row.batchSize,
    row.outputBytes,
    eth(row.escrowPerRequest),
    eth(row.chargedPerRequest),
    String(row.gasUsed),
    eth(row.gasChargedWei),
    eth(row.gasSpentWei),
    `${row.marginPercent.toFixed(2)}%`,
  ]),
);
await writeResults(
  "fees",
  rows.map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? String(v) : v])),
  ),
);
const worst = rows.reduce((a, b) => (a.marginPercent <= b.marginPercent ? a : b));
process.stdout.write(
  `\nminimum margin: ${worst.marginPercent.toFixed(2)}% (${eth(worst.marginWei)} ETH) at batch ${worst.batchSize}, ${worst.outputBytes} B, ${worst.requestedAtGwei} → ${worst.fulfilledAtGwei} gwei\n`,
);
if (worst.marginWei < 0n) {
  process.stdout.write("NEGATIVE: an operator loses money on this batch\n");
  process.exitCode = 1;
}
