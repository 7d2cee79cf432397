/**
 * Gas per request on the Hardhat network (EDR, in process), with real proofs and the real verifiers,
 * on both paths a result can take into the log:
 *
 * - fulfil: results and their proof in one transaction, at every batch size;
 * - deliver, then prove: deliveries of n results without a proof (n = 1, 4, 16, 64), their leaves
 *   proven later P at a time by prove() (P = n, 16 and 64; a proof ends where a delivery ended, so
 *   P >= n). Per request: (deliver tx gas) / n + (prove tx gas) / P, each delivery's gas averaged
 *   over the deliveries that filled that proof.
 *
 *   npm run bench:gas
 *
 * Outputs of 256 bytes and 2 KB; callbacks go to an empty consumer (NoopConsumer); every request comes
 * from the same user, so its refund balance is warm after a batch's first request. Every block's base
 * fee is held at 1 gwei, as on a chain in use (left alone it decays towards zero here). Warm-ups run
 * first, so figures are the steady state: the very first fulfilment on a coordinator also pays for
 * storage slots it is the first to write. Prints the fulfil, deliver-then-prove and proof tables, the
 * issue-12 targets, and where the gas of a lone delivery and of a 64-leaf proof goes (from their
 * opcode traces); then, with two more operators staked, quorum 2 and 3 models (each result co-signed by
 * q − 1 of them) next to quorum 1 against issue 14's targets (scripts/lib/quorumGas.ts); writes
 * bench/results/gas.json.
 */
import { network } from "hardhat";
import { type Hex, parseEventLogs } from "viem";
import { BatchProver } from "../src/node/prover/prover.js";
import { BATCH_SIZES } from "../src/shared/encoding.js";
import { TEST_MODEL } from "../test/helpers/sibyl.js";
import { coordinatorLabels, type LabelledKeys } from "./lib/coordinatorLabels.js";
import { calldataFloorGas, calldataGas } from "./lib/gas.js";
import { createGasRuns, type Delivery, type Proving } from "./lib/gasRuns.js";
import { measureQuorum, printQuorum, printQuorumStages } from "./lib/quorumGas.js";
import { printTable, writeResults } from "./lib/report.js";
import { executionStages, type GasStage } from "./lib/trace.js";

const OUTPUT_SIZES = [256, 2048];
const DELIVERY_SIZES = [1, 4, 16, 64];
const PROOF_SIZES = [16, 64];
/** Issue 12's targets per request: 256-byte output, empty callback, a 64-leaf proof's share. */
const TARGETS: Record<number, number> = { 1: 75_000, 4: 45_000, 16: 45_541, 64: 33_220 };

const connection = await network.create();
const prover = new BatchProver();
const runs = await createGasRuns(connection, prover);
const { sibyl } = runs;
const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
const perRequest = (gas: number, count: number) => Math.round(gas / count);

async function measureFulfil() {
  // The first fulfilment ever writes zero slots (next index, the operator's balance): keep it out.
  await runs.fulfil(1, 32, false);
  const rows = [];
  for (const batchSize of BATCH_SIZES) {
    for (const outputBytes of OUTPUT_SIZES) {
      process.stderr.write(`fulfil: batch ${batchSize}, ${outputBytes}-byte outputs…\n`);
      const plain = await runs.fulfil(batchSize, outputBytes, false);
      const called = await runs.fulfil(batchSize, outputBytes, true);
      rows.push({
        path: "fulfil",
        batchSize,
        outputBytes,
        perRequestWithEmptyCallback: perRequest(called.gas, batchSize),
        verificationPerRequest: perRequest(plain.verification, batchSize),
        workPerRequest: perRequest(plain.gas - plain.verification, batchSize),
        callbackPerRequest: perRequest(called.gas - plain.gas, batchSize),
        fulfilTxGasWithCallbacks: called.gas,
      });
    }
  }
  return rows;
}

/** Deliveries of `count` results, then proofs of P = count, 16 and 64 leaves; and one without callbacks. */
async function measureDeliveries(count: number, outputBytes: number) {
  const sizes = [...new Set([count, ...PROOF_SIZES])].filter((leaves) => leaves >= count);
  const byProof = new Map<number, { deliveries: Delivery[]; proving: Proving }>();
  for (const leaves of sizes)
    byProof.set(leaves, await runs.deliverThenProve(count, outputBytes, leaves, true));
  // Callbacks: one delivery alone (into an empty queue) with callbacks and the same without.
  const plain = await runs.deliverThenProve(count, outputBytes, count, false);
  const alone = byProof.get(count)?.deliveries[0];
  const filling64 = byProof.get(64)?.deliveries;
  if (alone === undefined || filling64 === undefined) throw new Error("missing deliver-then-prove run");
  const deliverGas = mean(filling64.map((d) => d.gas));
  const calldata = mean(filling64.map((d) => d.calldata));
  const total = (leaves: number) => {
    const run = byProof.get(leaves);
    if (run === undefined) return undefined;
    return Math.round(mean(run.deliveries.map((d) => d.gas)) / count + run.proving.gas / leaves);
  };
  return {
    row: {
      path: "deliver+prove",
      deliverySize: count,
      outputBytes,
      deliverPerRequest: perRequest(deliverGas, count),
      basePerRequest: perRequest(21_000, count),
      calldataPerRequest: perRequest(calldata, count),
      executionPerRequest: perRequest(deliverGas - 21_000 - calldata, count),
      callbackPerRequest: perRequest(alone.gas - (plain.deliveries[0]?.gas ?? 0), count),
      deliverTxGasMean: Math.round(deliverGas),
      deliverTxGasMin: Math.min(...filling64.map((d) => d.gas)),
      deliverTxGasMax: Math.max(...filling64.map((d) => d.gas)),
      perRequestProvenAlone: total(count),
      perRequestProvenBy16: total(16),
      perRequestProvenBy64: total(64),
    },
    provings: [...byProof.values()].map(({ proving }) => ({ deliverySize: count, outputBytes, ...proving })),
    // Usually a lone delivery joins a queue that already holds leaves: the second of those filling 64.
    queued: filling64[1],
  };
}

/** The ecrecover precompile, which checks co-signatures. */
const ECRECOVER = "0x0000000000000000000000000000000000000001";

/**
 * Where transaction `hash`'s gas went: intrinsic, calldata, execution by stage, refund; `more` names
 * further accounts and models it touches.
 */
async function stagesOf(
  hash: Hex,
  pendingRequestId: bigint,
  more: Pick<LabelledKeys, "accounts" | "modelIds"> = { accounts: {}, modelIds: [] },
): Promise<GasStage[]> {
  const [tx, receipt] = await Promise.all([
    sibyl.publicClient.getTransaction({ hash }),
    sibyl.publicClient.getTransactionReceipt({ hash }),
  ]);
  const results = parseEventLogs({
    abi: sibyl.coordinator.abi,
    logs: receipt.logs,
    eventName: "ResultDelivered",
  });
  const labels = await coordinatorLabels(sibyl, {
    accounts: {
      refundTo: sibyl.users[0]?.account.address ?? "0x",
      operator: sibyl.operator.account.address,
      ...more.accounts,
    },
    requestIds: results.map((event) => event.args.requestId),
    pendingRequestId,
    modelIds: [TEST_MODEL.id, ...more.modelIds],
    callees: {
      consumer: runs.consumer,
      verifier: await sibyl.log.read.verifierFor([64n]),
      "ecrecover precompile": ECRECOVER,
    },
  });
  const { stages, executed } = await executionStages(sibyl.publicClient, hash, labels);
  const calldata = calldataGas(tx.input);
  const floor = calldataFloorGas(tx.input);
  const gas = Number(receipt.gasUsed);
  if (21_000 + floor > gas) throw new Error(`${hash} paid the EIP-7623 calldata floor: no stages to show`);
  return [
    { stage: "intrinsic (21k base)", steps: 1, gas: 21_000 },
    {
      stage: `calldata (${(tx.input.length - 2) / 2} bytes; EIP-7623 floor ${floor})`,
      steps: 1,
      gas: calldata,
    },
    ...stages,
    { stage: "refund (cleared slots)", steps: 1, gas: gas - 21_000 - calldata - executed },
  ];
}

async function measureAll() {
  const fulfilRows = await measureFulfil();
  // The first delivery and proof on this coordinator.
  await runs.deliverThenProve(1, 32, 1, false);
  const deliverRows = [];
  const provings = [];
  /** For 256-byte outputs, by results per delivery: one delivery into a non-empty queue. */
  const queued = new Map<number, Delivery>();
  for (const outputBytes of OUTPUT_SIZES) {
    for (const count of DELIVERY_SIZES) {
      process.stderr.write(`deliver then prove: deliveries of ${count}, ${outputBytes}-byte outputs…\n`);
      const measured = await measureDeliveries(count, outputBytes);
      deliverRows.push(measured.row);
      provings.push(...measured.provings);
      if (outputBytes === 256 && measured.queued !== undefined) queued.set(count, measured.queued);
    }
  }
  const single = await runs.request("one question", false);
  const viaConsumer = await runs.request("one question", true);
  const expired = await runs.request("never answered", false);
  const proof64 = provings.find((p) => p.leaves === 64);
  const queuedLone = queued.get(1);
  const queued16 = queued.get(16);
  if (queuedLone === undefined || queued16 === undefined || proof64 === undefined)
    throw new Error("nothing to trace");
  process.stderr.write("tracing deliveries of 1 and 16 and a 64-leaf proof…\n");
  const loneStages = await stagesOf(queuedLone.hash, single.commitment.requestId);
  const stagesOf16 = await stagesOf(queued16.hash, single.commitment.requestId);
  const proofStages = await stagesOf(proof64.hash, single.commitment.requestId);
  await connection.networkHelpers.time.increase(TEST_MODEL.timeout + 1);
  await runs.holdBaseFee();
  const cancelHash = await sibyl.coordinator.write.cancel([expired.commitment], {
    account: sibyl.users[0]?.account,
  });
  const cancelGas = Number(
    (await sibyl.publicClient.waitForTransactionReceipt({ hash: cancelHash })).gasUsed,
  );
  const others = [
    { operation: "request (EOA, no callback, 12-byte input)", gas: Number(single.gasUsed) },
    { operation: "request through a consumer contract (callback)", gas: Number(viaConsumer.gasUsed) },
    { operation: "cancel after the deadline", gas: cancelGas },
  ];
  return {
    fulfilRows,
    deliverRows,
    provings,
    queuedLone,
    loneStages,
    queued16,
    stagesOf16,
    proof64,
    proofStages,
    others,
    // Last, so the sections above keep the one operator they were always measured with.
    ...(await measureQuorumWithStages(single.commitment.requestId)),
  };
}

/** The quorum rows, and the stages of each quorum's lone delivery. */
async function measureQuorumWithStages(pendingRequestId: bigint) {
  const { rows, lone } = await measureQuorum(runs);
  process.stderr.write("tracing lone deliveries of each quorum…\n");
  const more = {
    accounts: Object.fromEntries(runs.cosigners.map((address, i) => [`co-signer ${i + 1}`, address])),
    modelIds: lone.map(({ quorum }) => runs.modelOf(quorum)),
  };
  const quorumStages = [];
  for (const { quorum, hash, gas } of lone)
    quorumStages.push({ quorum, gas, stages: await stagesOf(hash, pendingRequestId, more) });
  return { quorumRows: rows, quorumStages };
}

const measured = await measureAll().finally(() => prover.close());
const {
  fulfilRows,
  deliverRows,
  provings,
  queuedLone,
  loneStages,
  queued16,
  stagesOf16,
  proof64,
  proofStages,
  others,
  quorumRows,
  quorumStages,
} = measured;

process.stdout.write("## fulfil (proof in the same transaction)\n\n");
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
  fulfilRows.map((row) => [
    row.batchSize,
    row.outputBytes,
    row.perRequestWithEmptyCallback,
    row.verificationPerRequest,
    row.workPerRequest,
    row.callbackPerRequest,
    row.fulfilTxGasWithCallbacks,
  ]),
);
process.stdout.write(
  "\n## deliver n, then prove P leaves: gas per request (deliver columns: mean of the deliveries filling a 64-leaf proof)\n\n",
);
printTable(
  [
    "n per delivery",
    "output bytes",
    "deliver / request",
    "21k base",
    "calldata",
    "execution (net of refunds)",
    "of which callback",
    "deliver tx gas (min–max)",
    "+ proof P = n",
    "+ proof P = 16",
    "+ proof P = 64",
  ],
  deliverRows.map((row) => [
    row.deliverySize,
    row.outputBytes,
    row.deliverPerRequest,
    row.basePerRequest,
    row.calldataPerRequest,
    row.executionPerRequest,
    row.callbackPerRequest,
    `${row.deliverTxGasMean} (${row.deliverTxGasMin}–${row.deliverTxGasMax})`,
    row.perRequestProvenAlone,
    row.perRequestProvenBy16 ?? "— (P < n)",
    row.perRequestProvenBy64,
  ]),
);
process.stdout.write("\n## prove P pending leaves (anyone may send it; independent of output size)\n\n");
const proofRows = [...new Map(provings.map((p) => [p.leaves, p])).values()].sort(
  (a, b) => a.leaves - b.leaves,
);
printTable(
  [
    "P leaves",
    "prove tx gas",
    "per leaf",
    "verification",
    "calldata",
    "other (21k, chain check, root, events)",
  ],
  proofRows.map((p) => [
    p.leaves,
    p.gas,
    perRequest(p.gas, p.leaves),
    p.verification,
    p.calldata,
    p.gas - p.verification - p.calldata,
  ]),
);
process.stdout.write("\n## issue 12 targets: 256-byte output, empty callback, share of a 64-leaf proof\n\n");
const targetRows = DELIVERY_SIZES.map((count) => {
  const delivered = deliverRows.find((row) => row.deliverySize === count && row.outputBytes === 256);
  const fulfilled = fulfilRows.find((row) => row.batchSize === count && row.outputBytes === 256);
  const gas = delivered?.perRequestProvenBy64 ?? Number.NaN;
  const target = TARGETS[count] ?? 0;
  return {
    path: "target",
    requestsPerDelivery: count,
    deliverThenProve64: gas,
    fulfilSameBatch: fulfilled?.perRequestWithEmptyCallback,
    target,
    met: gas <= target,
  };
});
printTable(
  ["requests per delivery", "deliver + 1/64 of a 64-leaf proof", "fulfil, same batch", "target", "met"],
  targetRows.map((row) => [
    row.requestsPerDelivery === 1 ? "1 (request delivered alone)" : row.requestsPerDelivery,
    row.deliverThenProve64,
    row.fulfilSameBatch,
    `≤ ${row.target}`,
    row.met ? "yes" : "NO",
  ]),
);
const printStages = (title: string, stages: GasStage[]) => {
  process.stdout.write(`\n## ${title}\n\n`);
  printTable(
    ["stage", "steps", "gas"],
    stages.map((row) => [row.stage, row.steps, row.gas]),
  );
};
printStages(
  `where a lone delivery's ${queuedLone.gas} gas goes (1 result, 256 B, empty callback, into a non-empty queue)`,
  loneStages,
);
printStages(
  `where a delivery of 16's ${queued16.gas} gas goes, per result (256 B, empty callbacks, into a non-empty queue)`,
  stagesOf16.map((row) => ({ ...row, steps: Math.round(row.steps / 16), gas: Math.round(row.gas / 16) })),
);
printStages(`where a 64-leaf proof's ${proof64.gas} gas goes`, proofStages);
process.stdout.write("\n");
printTable(
  ["operation", "gas"],
  others.map((row) => [row.operation, row.gas]),
);
printQuorum(quorumRows);
printQuorumStages(quorumStages);
await writeResults("gas", [
  ...fulfilRows,
  ...deliverRows,
  ...provings.map(({ hash: _hash, ...p }) => ({ path: "prove", ...p })),
  ...targetRows,
  ...loneStages.map((row) => ({ path: "lone delivery stage", ...row })),
  ...stagesOf16.map((row) => ({ path: "delivery of 16 stage (whole tx)", ...row })),
  ...proofStages.map((row) => ({ path: "64-leaf proof stage", ...row })),
  ...others,
  ...quorumRows,
  ...quorumStages.flatMap(({ quorum, stages }) =>
    stages.map((row) => ({ path: `lone delivery stage, quorum ${quorum}`, ...row })),
  ),
]);

// The one line a reader (or a script) takes away: a quorum-1 request's delivery plus its 1/64 share of
// a 64-leaf proof (256-byte answer, empty callback), alone and in deliveries of 4, 16 and 64.
const quorum1 = (count: number) =>
  quorumRows.find(
    (row) => row.path === "quorum deliver+prove" && row.quorum === 1 && row.requestsPerTransaction === count,
  )?.perRequest;
process.stdout.write(
  `summary deliver+proof/64 per request: ${[1, 4, 16, 64].map((count) => `${count === 1 ? "alone" : count}=${quorum1(count)}`).join(" ")}\n`,
);
