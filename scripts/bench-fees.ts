/**
 * Do fees pay? For each batch size, output size and base fee, requests escrow the SDK's quote and an
 * operator answers them at that base fee plus a 2 gwei tip, on both paths:
 *
 * - fulfil (results and proof in one transaction): what the requesters were charged for gas (the
 *   model fee left out) against what the operator's transaction cost;
 * - deliver without a proof: the same, with the proof's part of the charge (FeeParameters.proofGasPerLeaf
 *   at the price paid, credited to the delivering operator for the later proof) left out too; then a
 *   prover (not the operator: anyone may) proves those P = n leaves, and the proof gas those P requests
 *   paid is set against its transaction's gas. That margin is negative for small P: it shows from
 *   which proof size the proof gas pays for proving.
 *
 * A spike row quotes at one base fee and answers at almost twice it. Runs on the in-process Hardhat
 * network (Osaka rules: EIP-7623 calldata floor, EIP-3529 refunds).
 *
 *   npm run bench:fees
 *
 * Ends with the smallest fulfil and deliver margin seen; exits 1 if it is negative (an operator would
 * lose money). Writes bench/results/fees.json.
 */
import { network } from "hardhat";
import { parseEventLogs, type TransactionReceipt, toHex } from "viem";
import { BatchProver } from "../src/node/prover/prover.js";
import { ResultStatus } from "../src/shared/encoding.js";
import { type Answer, deploySibyl, quoteEscrow, TEST_MODEL, TestOperator } from "../test/helpers/sibyl.js";
import { printTable, writeResults } from "./lib/report.js";

const GWEI = 10n ** 9n;
const TIP = 2n * GWEI;
const BATCH_SIZES = [1, 4, 16, 64];
const OUTPUT_SIZES = [256, 2048];
const METADATA = toHex('{"provider":"openai","model":"gpt-4o-mini-2024-07-18","temperature":0}');
/** [base fee when requested, base fee when answered (and proven)] */
const SCENARIOS: Array<[bigint, bigint]> = [
  [1n * GWEI, 1n * GWEI],
  [50n * GWEI, 50n * GWEI],
  [500n * GWEI, 500n * GWEI],
  [50n * GWEI, 95n * GWEI],
];
type Path = "fulfil" | "deliver";

const connection = await network.create();
const sibyl = await deploySibyl(connection.viem);
const prover = new BatchProver();
const operator = new TestOperator(sibyl, prover);
const users = sibyl.users.slice(0, 8);
const independentProver = (() => {
  const user = sibyl.users[8];
  if (user === undefined) throw new Error("the network needs a prover account");
  return user;
})();

async function setBaseFee(baseFee: bigint) {
  await sibyl.publicClient.request({
    method: "hardhat_setNextBlockBaseFeePerGas" as never,
    params: [toHex(baseFee)] as never,
  });
}

async function requestBatch(batchSize: number, outputBytes: number, requestedAt: bigint, answeredAt: bigint) {
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
        maxFeePerGas: 4n * answeredAt + TIP,
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
  return { answers, escrowed };
}

const proofGasPerLeaf = BigInt((await sibyl.coordinator.read.feeParameters()).proofGasPerLeaf);
const spentBy = (receipt: TransactionReceipt) => receipt.gasUsed * receipt.effectiveGasPrice;
const percent = (part: bigint, whole: bigint) => Number((part * 10_000n) / whole) / 100;

/** Answers a new batch on `path` and compares its gas charges with the transaction's cost. */
async function answer(
  path: Path,
  batchSize: number,
  outputBytes: number,
  requestedAt: bigint,
  answeredAt: bigint,
) {
  const { answers, escrowed } = await requestBatch(batchSize, outputBytes, requestedAt, answeredAt);
  await setBaseFee(answeredAt);
  const fees = { maxFeePerGas: 2n * answeredAt + TIP, maxPriorityFeePerGas: TIP };
  const { receipt } =
    path === "fulfil" ? await operator.fulfill(answers, fees) : await operator.deliver(answers, fees);
  // The tip is within maxPriorityFeePerGas, so the price charged is the price paid.
  const proofPart = path === "deliver" ? proofGasPerLeaf * receipt.effectiveGasPrice * BigInt(batchSize) : 0n;
  const delivered = parseEventLogs({
    abi: sibyl.coordinator.abi,
    logs: receipt.logs,
    eventName: "ResultDelivered",
  });
  const charged = delivered.reduce((sum, event) => sum + event.args.fee, 0n);
  const gasCharged = charged - TEST_MODEL.fee * BigInt(batchSize) - proofPart;
  const spent = spentBy(receipt);
  return {
    path,
    batchSize,
    outputBytes,
    requestedAtGwei: Number(requestedAt / GWEI),
    answeredAtGwei: Number(answeredAt / GWEI),
    escrowPerRequest: escrowed / BigInt(batchSize),
    chargedPerRequest: charged / BigInt(batchSize),
    proofPartPerRequest: proofPart / BigInt(batchSize),
    gasUsed: receipt.gasUsed,
    gasChargedWei: gasCharged,
    gasSpentWei: spent,
    marginWei: gasCharged - spent,
    marginPercent: percent(gasCharged - spent, spent),
    /** Gas the transaction used beyond what its requests were charged for (negative: covered). */
    unchargedGas: (spent - gasCharged) / receipt.effectiveGasPrice,
  };
}

/**
 * An account other than the operator proves every pending leaf (it is paid nothing: a copy of its
 * transaction must gain nobody anything); the proof gas its leaves' requests paid against its gas.
 */
async function proveAll(answeredAt: bigint) {
  const leaves = operator.pending.length;
  await setBaseFee(answeredAt);
  await sibyl.publicClient.request({ method: "evm_mine" as never });
  await setBaseFee(answeredAt);
  const { receipt } = await operator.provePending(leaves, independentProver.account);
  const credited = parseEventLogs({
    abi: sibyl.coordinator.abi,
    logs: receipt.logs,
    eventName: "BalanceCredited",
  });
  if (credited.length > 0) throw new Error("a proof credited someone");
  const paidFor = proofGasPerLeaf * BigInt(leaves);
  return {
    path: "prove" as const,
    leaves,
    answeredAtGwei: Number(answeredAt / GWEI),
    gasUsed: receipt.gasUsed,
    proofGasPaidFor: paidFor,
    marginGas: paidFor - receipt.gasUsed,
    marginPercent: percent(paidFor - receipt.gasUsed, receipt.gasUsed),
  };
}

async function measureAll() {
  const answerRows = [];
  const proveRows = [];
  for (const path of ["fulfil", "deliver"] as const) {
    // The first delivery and the independent prover's first credit write fresh slots: keep them out.
    if (path === "deliver") {
      await answer(path, 1, 32, SCENARIOS[0]?.[0] ?? GWEI, SCENARIOS[0]?.[1] ?? GWEI);
      await proveAll(SCENARIOS[0]?.[1] ?? GWEI);
    }
    for (const [requestedAt, answeredAt] of SCENARIOS) {
      for (const batchSize of BATCH_SIZES) {
        for (const outputBytes of OUTPUT_SIZES) {
          process.stderr.write(
            `${path}: base fee ${requestedAt / GWEI}→${answeredAt / GWEI} gwei, batch ${batchSize}, ${outputBytes} B…\n`,
          );
          answerRows.push(await answer(path, batchSize, outputBytes, requestedAt, answeredAt));
          if (path === "deliver") {
            // Proof cost does not depend on output size: print one per scenario and size.
            const proving = await proveAll(answeredAt);
            if (outputBytes === OUTPUT_SIZES[0]) proveRows.push(proving);
          }
        }
      }
    }
  }
  return { answerRows, proveRows };
}

const { answerRows, proveRows } = await measureAll().finally(() => prover.close());

const eth = (wei: bigint) => (Number(wei) / 1e18).toPrecision(4);
process.stdout.write("## what requests are charged for gas vs the answering transaction's cost\n\n");
printTable(
  [
    "path",
    "base fee gwei (quote → answer)",
    "batch",
    "output B",
    "escrow / req ETH",
    "charged / req ETH",
    "of which proof gas",
    "gas used",
    "gas charged ETH (no model fee, no proof gas)",
    "gas spent ETH",
    "margin",
    "uncharged gas",
  ],
  answerRows.map((row) => [
    row.path,
    `${row.requestedAtGwei} → ${row.answeredAtGwei}`,
    row.batchSize,
    row.outputBytes,
    eth(row.escrowPerRequest),
    eth(row.chargedPerRequest),
    eth(row.proofPartPerRequest),
    String(row.gasUsed),
    eth(row.gasChargedWei),
    eth(row.gasSpentWei),
    `${row.marginPercent.toFixed(2)}%`,
    String(row.unchargedGas),
  ]),
);
process.stdout.write(
  "\n## proving P delivered leaves: the proof gas their requests paid (proofGasPerLeaf each) vs the prove transaction's gas\n\n",
);
printTable(
  ["base fee gwei", "P leaves", "prove gas used", "proof gas paid for", "margin"],
  proveRows.map((row) => [
    row.answeredAtGwei,
    row.leaves,
    String(row.gasUsed),
    String(row.proofGasPaidFor),
    `${row.marginPercent.toFixed(2)}%`,
  ]),
);
const jsonRows = [...answerRows, ...proveRows].map((row) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "bigint" ? String(v) : v])),
);
await writeResults("fees", jsonRows);
for (const path of ["fulfil", "deliver"] as const) {
  const rows = answerRows.filter((row) => row.path === path);
  const worst = rows.reduce((a, b) => (a.marginPercent <= b.marginPercent ? a : b));
  process.stdout.write(
    `\nminimum ${path} margin: ${worst.marginPercent.toFixed(2)}% (${eth(worst.marginWei)} ETH) at batch ${worst.batchSize}, ${worst.outputBytes} B, ${worst.requestedAtGwei} → ${worst.answeredAtGwei} gwei\n`,
  );
  const losing = rows.filter((row) => row.marginWei < 0n);
  for (const row of losing) {
    process.stdout.write(
      `NEGATIVE (${path}): batch ${row.batchSize}, ${row.outputBytes} B, ${row.requestedAtGwei} → ${row.answeredAtGwei} gwei: ${eth(row.marginWei)} ETH, ${row.gasUsed} gas used, ${row.unchargedGas} of it not charged\n`,
    );
  }
  if (losing.length > 0) process.exitCode = 1;
}
