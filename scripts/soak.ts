/**
 * `npm run soak`: every reliability scenario at soak size (the same code `npm test` runs small), then
 * one table: what was injected, requests sent, answered Ok / with an error status, lost, answered
 * twice, and how long it took. Targets: zero lost and zero double-answered everywhere.
 * Sizes scale with SOAK_SCALE (default 1: ~30–60 minutes on 2 cores). SOAK_ONLY runs only the rows
 * whose names contain one of its comma-separated parts, e.g. SOAK_ONLY="quorum,bomb peer" (results then
 * go to bench/results/soak-partial.json).
 * Rows about attacks print the attacker's net gain (target: ≤ 0) and fail the soak when it is not.
 */

import { CRASH_POINTS } from "../src/node/crashPoints.js";
import { findPostgres, PostgresCluster } from "../test/helpers/postgres.js";
import { runAdversaries } from "../test/reliability/adversaries.js";
import { runChainFaults } from "../test/reliability/chainFaults.js";
import { runCrashes } from "../test/reliability/crash.js";
import { failover, killLeaderAt, startReplicas } from "../test/reliability/failover.js";
import { feeReports, runFees } from "../test/reliability/fees.js";
import type { ScenarioReport } from "../test/reliability/harness.js";
import { runHostileConsumers } from "../test/reliability/hostile.js";
import {
  bombPeer,
  type HostilePeerCheck,
  RSS_BOUND_MIB,
  ssrfEndpoint,
} from "../test/reliability/hostilePeer.js";
import { runLoad } from "../test/reliability/load.js";
import { loneNoConsensus, loneNoConsensusMisses } from "../test/reliability/loneNoConsensus.js";
import { lostDatabaseCosigner } from "../test/reliability/lostDatabase.js";
import { runModelFaults } from "../test/reliability/modelFaults.js";
import { runOperators } from "../test/reliability/operators.js";
import { farmingMisses, farmingRows, runPenaltyFarming } from "../test/reliability/penaltyFarming.js";
import { runProving } from "../test/reliability/proving.js";
import { runQuorum } from "../test/reliability/quorum.js";
import { REDELIVERY_BLOCKS, runReorgRedelivery } from "../test/reliability/reorgRedelivery.js";
import { runUpgrade } from "../test/reliability/upgrade.js";
import { printTable, writeResults } from "./lib/report.js";

const scale = Number(process.env.SOAK_SCALE ?? "1");
const size = (requests: number) => ({ requests: Math.max(1, Math.round(requests * scale)), soak: true });

const rows: ScenarioReport[] = [];
const extras: Record<string, unknown> = {};
/** Targets other than zero lost and zero double-answered that a row missed. */
const missed: string[] = [];
const started = Date.now();
const only = process.env.SOAK_ONLY?.split(",").map((part) => part.trim());

async function scenario(name: string, run: () => Promise<ScenarioReport[]>): Promise<void> {
  if (only && !only.some((part) => name.includes(part))) return;
  process.stdout.write(`▸ ${name} …\n`);
  try {
    const reports = await run();
    rows.push(...reports);
    for (const row of reports) {
      process.stdout.write(
        `  ${row.scenario}: ${row.answeredOk} ok, ${row.answeredError} error, ${row.lost} lost, ${row.doubleAnswered} double\n`,
      );
    }
  } catch (error) {
    process.stdout.write(
      `  ${name} FAILED TO RUN: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    rows.push({
      scenario: name,
      injected: "scenario crashed",
      sent: 0,
      answeredOk: 0,
      answeredError: 0,
      lost: Number.NaN,
      doubleAnswered: Number.NaN,
      durationMs: 0,
    });
  }
}

await scenario("crash anywhere", async () => {
  const checks = await runCrashes(size(30));
  extras.crash = checks.map(({ report, revertedFulfils, nodeRoot, contractRoot, crashed }) => ({
    scenario: report.scenario,
    crashed,
    revertedFulfils,
    treeMatches: nodeRoot === contractRoot,
  }));
  return checks.map((check) => check.report);
});
await scenario("model faults", async () => (await runModelFaults(size(20))).map((row) => ({ ...row })));
await scenario("chain faults", () => runChainFaults(size(40)));
await scenario("reorg re-delivery", async () => {
  const checks = await runReorgRedelivery(size(15));
  extras.reorgRedelivery = checks.map((check) => ({
    chain: check.chain,
    blocksToRedeliver: check.blocksToRedeliver,
    sameTransaction: check.sameTransaction,
    uniqueErrors: check.uniqueErrors.length,
  }));
  for (const check of checks) {
    const late = check.blocksToRedeliver.filter(
      (blocks) => !(blocks !== undefined && blocks <= REDELIVERY_BLOCKS),
    );
    if (late.length > 0)
      missed.push(
        `reorg re-delivery (${check.chain}): ${late.length} rounds not delivered again within ${REDELIVERY_BLOCKS} blocks`,
      );
    if (check.uniqueErrors.length > 0)
      missed.push(
        `reorg re-delivery (${check.chain}): ${check.uniqueErrors.length} unique-constraint errors`,
      );
  }
  return checks.map((check) => check.report);
});
await scenario("competing operators and lost database", () => runOperators(size(150)));
await scenario("hostile consumers", async () => {
  const check = await runHostileConsumers(size(100));
  extras.hostile = { outcomes: check.outcomes, reentered: check.reentered };
  return [check.report];
});
await scenario("fees at 50 and 500 gwei, a spike, an escrow below the price", async () => {
  const check = await runFees(size(40));
  extras.fees = check.phases.flatMap((phase) =>
    phase.margins.map((m) => ({
      phase: m.phase,
      results: m.results,
      gasUsed: String(m.gasUsed),
      costWei: String(m.cost),
      earnedWei: String(m.earned),
      marginWei: String(m.earned - m.cost),
      gasOnlyMarginWei: String(m.earned - m.modelFees - m.cost),
    })),
  );
  return feeReports(check);
});
await scenario("adversaries", async () => {
  const { poison, flagFlip, frontRunning } = await runAdversaries(size(100));
  extras.adversaries = {
    poison: { ...poison, report: undefined },
    flagFlip: { ...flagFlip, report: undefined },
    frontRunning: { ...frontRunning, report: undefined },
  };
  return [poison.report, flagFlip.report, frontRunning.report];
});
await scenario("delivered now, proven later", async () => {
  const { another, takeover, reorg, queueFull } = await runProving(size(40));
  extras.proving = {
    scenarios: [another, takeover, reorg, queueFull].map(({ report, unproven, rootMismatches }) => ({
      scenario: report.scenario,
      unproven: String(unproven),
      rootMismatches,
    })),
    mostPending: queueFull.mostPending,
    proofRemoved: reorg.proofRemoved,
  };
  return [another.report, takeover.report, reorg.report, queueFull.report];
});
await scenario("a network of operators, quorum 2", async () => {
  const checks = await runQuorum(size(60));
  extras.quorum = checks.map((check) => ({
    scenario: check.report.scenario,
    wrong: check.wrong,
    statuses: check.statuses,
    assignedTo: check.assignedTo,
    penaltiesBy: check.penaltiesBy,
    slashes: check.slashes.length,
    culpritStakeLost: String(check.culpritStakeLost),
    culpritCharged: String(check.culpritCharged),
  }));
  return checks.map((check) => check.report);
});
await scenario("coordinator upgrade under a running node", async () => {
  const check = await runUpgrade(size(200));
  const sequences = [...check.sequences].sort((a, b) => (a < b ? -1 : 1));
  extras.upgrade = {
    previous: check.previous,
    current: check.current,
    requestsPerVersion: [check.ids.previous.length, check.ids.current.length],
    refusedDuringSwitch: check.refusedDuringSwitch,
    sequencesUnbroken: sequences.every((sequence, i) => sequence === BigInt(i)),
    treeMatchesRoot: check.nodeRoot === check.logRoot,
    unprovenAfter: String(check.unprovenAfter),
    bothSidesVerify: check.verified.every((verdict) => verdict.valid && verdict.state === "proven"),
    nodeRanThrough: check.nodeRanThrough,
  };
  return [check.report];
});
/** A hostile peer's row: the attacker's net gain, the honest daemons' peak RSS and latency, its targets. */
function hostilePeerRow(
  name: string,
  check: HostilePeerCheck,
  reached: (check: HostilePeerCheck) => string | undefined,
) {
  const gain = check.attackerGainWei;
  process.stdout.write(
    `  attacker's net gain: ${gain} wei (${gain <= 0n ? "≤ 0" : "PROFIT"}); peak RSS MiB ${JSON.stringify(check.peakRssMiB)}; latency ms p50 ${check.latencyMs.p50}, max ${check.latencyMs.max}; penalties ${JSON.stringify(check.penaltiesBy)} (${check.honestLateOnOwn} on honest operators' own requests)\n`,
  );
  if (gain > 0n) missed.push(`${name}: the attacker gained ${gain} wei`);
  for (const [daemon, peak] of Object.entries(check.peakRssMiB))
    if (!(peak < RSS_BOUND_MIB)) missed.push(`${name}: ${daemon} peaked at ${peak} MiB`);
  if (check.honestLateOnOwn > 0)
    missed.push(`${name}: honest operators were late with ${check.honestLateOnOwn} of their own requests`);
  if (check.wrong.length > 0) missed.push(`${name}: ${check.wrong.length} wrong answers`);
  const problem = reached(check);
  if (problem) missed.push(`${name}: ${problem}`);
  return {
    attackerGainWei: String(gain),
    peakRssMiB: check.peakRssMiB,
    latencyMs: check.latencyMs,
    penaltiesBy: check.penaltiesBy,
    honestLateOnOwn: check.honestLateOnOwn,
    targetConnections: check.targetConnections,
    targetRequests: check.targetRequests,
    targetBytesSent: check.targetBytesSent,
  };
}
await scenario("bomb peer", async () => {
  const check = await bombPeer(size(40));
  extras.bombPeer = hostilePeerRow("bomb peer", check, ({ targetRequests }) =>
    targetRequests === 0 ? "the bomb was never asked: the row proves nothing" : undefined,
  );
  return [check.report];
});
await scenario("SSRF endpoint", async () => {
  const check = await ssrfEndpoint(size(20));
  extras.ssrfEndpoint = hostilePeerRow("SSRF endpoint", check, ({ targetConnections, refusals }) =>
    targetConnections > 0
      ? `the loopback service got ${targetConnections} connections`
      : refusals === 0
        ? "no daemon refused the endpoint: the row proves nothing"
        : undefined,
  );
  return [check.report];
});
await scenario("penalty farming a/b/c at 1/10/50 gwei", async () => {
  const cells = await runPenaltyFarming(size(4));
  for (const cell of cells)
    for (const route of cell.routes) {
      const gain = route.attackerGainWei;
      process.stdout.write(
        `  ${route.route} at ${cell.baseFeeGwei} gwei: attacker's net gain ${gain} wei (${gain <= 0n ? "≤ 0" : "PROFIT"}); victim's stake change ${route.victimStakeChangeWei} wei; ${JSON.stringify(route.attempts)}\n`,
      );
    }
  for (const cell of cells) missed.push(...farmingMisses(cell));
  extras.penaltyFarming = cells.flatMap(farmingRows);
  return cells.map((cell) => cell.report);
});
await scenario("lone NoConsensus", async () => {
  const check = await loneNoConsensus();
  const gain = check.attackerGainWei;
  process.stdout.write(
    `  attacker's net gain ${gain} wei (${gain <= 0n ? "≤ 0" : "PROFIT"}); market ${check.phase}${check.voided ? ", VOIDED" : ", never voided"}; lone deliveries ${JSON.stringify(check.attempts)}\n`,
  );
  missed.push(...loneNoConsensusMisses(check).map((miss) => `lone NoConsensus: ${miss}`));
  extras.loneNoConsensus = { ...check, report: undefined };
  return [check.report];
});
await scenario("load", async () => {
  const check = await runLoad(size(1000));
  extras.load = { latencyMs: check.latencyMs, peakRssMiB: check.peakRssMiB };
  return [check.report];
});

await scenario("lost database co-signer", async () => {
  const check = await lostDatabaseCosigner();
  const second = check.answersSigned > 1;
  process.stdout.write(
    `  attacker (slashing reporter) net gain ${check.attackerNetGain} wei; ${second ? "A SECOND SIGNATURE" : "no second signature"}; victim stake change ${check.victimStakeChange}\n`,
  );
  extras.lostDatabase = { ...check, secondSignature: second };
  return [
    {
      scenario: "lost database co-signer",
      injected: "co-signer's database wiped; asked again, its model answering differently",
      sent: 1,
      answeredOk: second ? 0 : 1,
      answeredError: 0,
      // A second signature (or any gain) is a failure of this row.
      lost: second || check.attackerNetGain > 0n ? 1 : 0,
      doubleAnswered: second ? 1 : 0,
      durationMs: 0,
    },
  ];
});
const postgres = findPostgres();
if ("missing" in postgres) {
  process.stdout.write(`▸ postgres, failover: skipped (${postgres.missing})\n`);
} else {
  const cluster = await PostgresCluster.start(postgres);
  try {
    await scenario("postgres", async () => {
      const crashes = await runCrashes(size(30), { postgres: cluster });
      extras.postgresCrash = crashes.map(({ report, revertedFulfils, nodeRoot, contractRoot, crashed }) => ({
        scenario: report.scenario,
        crashed,
        revertedFulfils,
        treeMatches: nodeRoot === contractRoot,
      }));
      const load = await runLoad(size(1000), await cluster.createDatabase());
      extras.postgresLoad = { latencyMs: load.latencyMs, peakRssMiB: load.peakRssMiB };
      return [
        ...crashes.map((check) => ({ ...check.report, scenario: `postgres: ${check.report.scenario}` })),
        { ...load.report, scenario: `postgres: ${load.report.scenario}` },
      ];
    });
    await scenario("failover", async () => {
      const replicas = await startReplicas();
      try {
        const checks = [];
        for (const point of CRASH_POINTS)
          checks.push(await killLeaderAt(replicas, cluster, point, size(10).requests));
        checks.push(await failover(replicas, cluster, "kill", size(40).requests));
        checks.push(await failover(replicas, cluster, "database", size(40).requests));
        extras.failover = checks.map((check) => ({
          scenario: check.report.scenario,
          leaderStopped: check.leaderStopped,
          takeoverMs: check.takeoverMs,
          revertedFulfils: check.revertedFulfils,
          treeMatches: check.nodeRoot === check.contractRoot,
        }));
        return checks.map((check) => check.report);
      } finally {
        await replicas.stop();
      }
    });
  } finally {
    await cluster.stop();
  }
}

printTable(
  ["scenario", "injected", "sent", "answered ok", "answered error", "lost", "double-answered", "duration s"],
  rows.map((row) => [
    row.scenario,
    row.injected,
    row.sent,
    row.answeredOk,
    row.answeredError,
    row.lost,
    row.doubleAnswered,
    (row.durationMs / 1000).toFixed(1),
  ]),
);
process.stdout.write(
  `${JSON.stringify(extras, (_key, value) => (typeof value === "bigint" ? String(value) : value))}\n`,
);
const failed = rows.filter((row) => row.lost !== 0 || row.doubleAnswered !== 0);
for (const miss of missed) process.stdout.write(`missed: ${miss}\n`);
process.stdout.write(
  `soak: ${rows.length} scenarios in ${((Date.now() - started) / 60_000).toFixed(1)} min; ${failed.length === 0 ? "zero lost, zero double-answered" : `${failed.length} missed the targets`}${missed.length === 0 ? "" : `; ${missed.length} other targets missed`}\n`,
);
// A partial run must not pass for the whole soak's results.
await writeResults(
  only ? "soak-partial" : "soak",
  rows.map((row) => ({ ...row })),
);
process.exitCode = failed.length === 0 && missed.length === 0 ? 0 : 1;
