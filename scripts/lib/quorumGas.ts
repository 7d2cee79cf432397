/**
 * bench:gas's quorum section: gas per request of quorum 2 and 3 models, each result carrying q − 1
 * other operators' EIP-712 co-signatures, next to quorum 1 on the same deployment (same operators,
 * same warm state), for 1, 4, 16 and 64 results per transaction on both paths: deliver plus the share
 * of a 64-leaf proof, and fulfil. Judged against issue 14's targets.
 */
import type { Hex } from "viem";
import type { GasRuns } from "./gasRuns.js";
import { printTable } from "./report.js";
import type { GasStage } from "./trace.js";

const QUORUMS = [1, 2, 3];
const SIZES = [1, 4, 16, 64];
const OUTPUT_BYTES = 256;
const PROOF_LEAVES = 64;
/** Issue 14: a quorum model's request costs at most this much more than quorum 1's when delivered alone… */
const LONE_TARGET_GAS = 10_000;
/** …and at most this many percent more in a batch of 16. */
const BATCH_OF_16_TARGET_PERCENT = 10;

export interface QuorumRow {
  path: "quorum deliver+prove" | "quorum fulfil";
  quorum: number;
  requestsPerTransaction: number;
  /** deliver gas / n + a 64-leaf proof's gas / 64, or fulfil gas / n. */
  perRequest: number;
  /** deliver gas / n alone (deliver path only). */
  deliverPerRequest?: number;
  deltaVsQuorum1: number;
  deltaPercent: number;
  /** deltaVsQuorum1 / (quorum − 1): what each co-signature adds. */
  deltaPerCosignature?: number;
  target?: string;
  met?: boolean;
}

type Measured = Pick<
  QuorumRow,
  "path" | "quorum" | "requestsPerTransaction" | "perRequest" | "deliverPerRequest"
>;

const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;

/** A lone delivery into a non-empty queue, of each quorum's model: the one whose stages are traced. */
export interface LoneDelivery {
  quorum: number;
  hash: Hex;
  gas: number;
}

/** Registers the quorum models and co-signers on `runs`' deployment, then measures every row. */
export async function measureQuorum(runs: GasRuns): Promise<{ rows: QuorumRow[]; lone: LoneDelivery[] }> {
  await runs.addQuorumModels(QUORUMS.filter((quorum) => quorum > 1));
  const measured: Measured[] = [];
  const lone: LoneDelivery[] = [];
  for (const count of SIZES) {
    for (const quorum of QUORUMS) {
      process.stderr.write(`quorum ${quorum}: deliveries and a fulfil of ${count}…\n`);
      const { deliveries, proving } = await runs.deliverThenProve(
        count,
        OUTPUT_BYTES,
        PROOF_LEAVES,
        true,
        quorum,
      );
      const deliverGas = mean(deliveries.map((delivery) => delivery.gas));
      const queued = deliveries[1];
      if (count === 1 && queued !== undefined) lone.push({ quorum, hash: queued.hash, gas: queued.gas });
      measured.push({
        path: "quorum deliver+prove",
        quorum,
        requestsPerTransaction: count,
        perRequest: Math.round(deliverGas / count + proving.gas / PROOF_LEAVES),
        deliverPerRequest: Math.round(deliverGas / count),
      });
      const fulfilled = await runs.fulfil(count, OUTPUT_BYTES, true, quorum);
      measured.push({
        path: "quorum fulfil",
        quorum,
        requestsPerTransaction: count,
        perRequest: Math.round(fulfilled.gas / count),
      });
    }
  }
  return { rows: measured.map((row) => withTarget(row, measured)), lone };
}

function withTarget(row: Measured, all: Measured[]): QuorumRow {
  const base = all.find(
    (other) =>
      other.path === row.path &&
      other.quorum === 1 &&
      other.requestsPerTransaction === row.requestsPerTransaction,
  );
  if (base === undefined) throw new Error(`no quorum 1 row for ${row.path} of ${row.requestsPerTransaction}`);
  const delta = row.perRequest - base.perRequest;
  const deltaPercent = Math.round((delta / base.perRequest) * 1000) / 10;
  const judged: QuorumRow = { ...row, deltaVsQuorum1: delta, deltaPercent };
  if (row.quorum === 1) return judged;
  judged.deltaPerCosignature = Math.round(delta / (row.quorum - 1));
  if (row.requestsPerTransaction === 1)
    return { ...judged, target: `≤ +${LONE_TARGET_GAS} gas`, met: delta <= LONE_TARGET_GAS };
  if (row.requestsPerTransaction === 16)
    return {
      ...judged,
      target: `≤ +${BATCH_OF_16_TARGET_PERCENT}%`,
      met: deltaPercent <= BATCH_OF_16_TARGET_PERCENT,
    };
  return judged;
}

const signed = (value: number) => `${value >= 0 ? "+" : ""}${value}`;

export function printQuorum(rows: QuorumRow[]): void {
  process.stdout.write(
    `\n## quorum: q − 1 co-signatures per result (${OUTPUT_BYTES}-byte output, empty callback; deliver + 1/${PROOF_LEAVES} of a ${PROOF_LEAVES}-leaf proof, or fulfil)\n\n`,
  );
  const sorted = [...rows].sort(
    (a, b) =>
      a.path.localeCompare(b.path) ||
      a.requestsPerTransaction - b.requestsPerTransaction ||
      a.quorum - b.quorum,
  );
  printTable(
    [
      "path",
      "results per tx",
      "quorum",
      "gas / request",
      "of which deliver",
      "Δ vs quorum 1",
      "Δ %",
      "Δ per co-signature",
      "issue 14 target",
      "met",
    ],
    sorted.map((row) => [
      row.path === "quorum fulfil" ? "fulfil" : "deliver + prove",
      row.requestsPerTransaction,
      row.quorum,
      row.perRequest,
      row.deliverPerRequest ?? "—",
      row.quorum === 1 ? "—" : signed(row.deltaVsQuorum1),
      row.quorum === 1 ? "—" : `${signed(row.deltaPercent)}%`,
      row.deltaPerCosignature ?? "—",
      row.target ?? "",
      row.met === undefined ? "" : row.met ? "yes" : "NO",
    ]),
  );
}

/** The traced stages of each quorum's lone delivery side by side, with what quorum 3 adds to quorum 1. */
export function printQuorumStages(stages: Array<{ quorum: number; gas: number; stages: GasStage[] }>): void {
  process.stdout.write(
    `\n## where a lone delivery's gas goes by quorum (1 result, ${OUTPUT_BYTES} B, empty callback, into a non-empty queue)\n\n`,
  );
  // Calldata's label carries its byte count, which differs by quorum: compare stages by their name alone.
  const nameOf = (stage: GasStage) => stage.stage.replace(/ \(.*\)$/, "");
  const names = [...new Set(stages.flatMap((entry) => entry.stages.map(nameOf)))];
  const gasOf = (entry: { stages: GasStage[] }, name: string) =>
    entry.stages.filter((stage) => nameOf(stage) === name).reduce((sum, stage) => sum + stage.gas, 0);
  const first = stages[0];
  const last = stages[stages.length - 1];
  if (first === undefined || last === undefined) throw new Error("no lone deliveries traced");
  const rows = names
    .map((name) => ({
      name,
      byQuorum: stages.map((entry) => gasOf(entry, name)),
      delta: gasOf(last, name) - gasOf(first, name),
    }))
    .sort((a, b) => b.delta - a.delta);
  printTable(
    [
      "stage",
      ...stages.map((entry) => `quorum ${entry.quorum}`),
      `quorum ${last.quorum} − quorum ${first.quorum}`,
    ],
    [
      ...rows.map((row) => [row.name, ...row.byQuorum, signed(row.delta)]),
      ["total", ...stages.map((entry) => entry.gas), signed(last.gas - first.gas)],
    ],
  );
}
