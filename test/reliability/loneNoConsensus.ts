/**
 * Lone NoConsensus (issue 20, exploit 1), with processes: a staked operator that has bet against the
 * truth in a YesNoMarket on a quorum-2 model is drawn for the market's resolving request (the draw
 * steered through prevrandao, as a block proposer could) and, with its own hand-written transactions,
 * tries to end it without an answer: NoConsensus at once, a lone "no", a lone error, and NoConsensus
 * from halfway through its window (the one the coordinator takes). Two honest daemons serve the model
 * and co-sign each other; the attacker co-signs nothing. A new `resolve`, drawn to an honest daemon,
 * must then resolve the market to the evidence's answer. Measured: the attacker's net gain (ether,
 * stake and coordinator balance, from before its bet to after the claims) and whether the market was
 * voided.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { type Address, type Hex, parseEther, parseEventLogs, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, hardhatKey, OPERATOR_KEY, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import { type ChildRun, freePort } from "../helpers/processes.js";
import { assignNextRequestTo } from "../helpers/quorum.js";
import { until } from "../helpers/wait.js";
import { escrowFor, revertOf, wealthOf } from "./adversaryKit.js";
import { registerOperator, rpc } from "./chainFaults.js";
import { report, type ScenarioReport, settle } from "./harness.js";
import { setWindow } from "./quorum.js";

/** A yes/no question answered by an OpenAI-compatible server, reproducible through its constraint. */
const YES_NO = {
  provider: "openai",
  name: "yes-no",
  model: "fake-yes-no",
  apiKeyEnv: "OPENAI_API_KEY",
  answer: { kind: "yes-no" },
} as const;
const MODEL_ID = modelIdFromName(YES_NO.name);
/** YesNoMarket.Phase. */
const PHASES = ["Open", "Reported", "Resolved", "Voided"] as const;
const BET = parseEther("1");
const EXCLUSIVE_WINDOW = 20n;
/** The second honest daemon, the attacker, the honest bettor and the market's reporter. */
const ACCOUNT = { honestB: 16, attacker: 17, bettor: 18, reporter: 19 } as const;

export interface LoneNoConsensusCheck {
  report: ScenarioReport;
  /** The attacker's ether, stake and coordinator balance at the end, less before its bet (≤ 0). */
  attackerGainWei: bigint;
  /** Each lone delivery the attacker tried on its request: the error it reverted with, or "sent". */
  attempts: Record<string, string>;
  /** The market's phase once the attacker's NoConsensus landed, and ResolutionInconclusive events. */
  phaseAfterNoConsensus: string;
  inconclusive: number;
  /** The market at the end: phase, outcome (true: yes), and whether it was ever voided. */
  phase: string;
  outcome: boolean;
  voided: boolean;
  /** Who delivered the resolving answer, and its status. */
  resolvedBy: string;
  /** What the honest bettor's claim paid, and what the attacker's claim came to. */
  bettorPayout: bigint;
  attackerClaim: string;
  /** The attacker's stake change (a NoConsensus inside its window costs none). */
  attackerStakeChange: bigint;
}

/** The whole scenario on its own devnet. */
export async function loneNoConsensus(): Promise<LoneNoConsensusCheck> {
  const started = Date.now();
  const fake = new FakeOpenAIServer({ answer: () => "Yes." });
  const server = await fake.start();
  const devnet = await startDevnet([{ ...YES_NO, baseURL: server.url }], { quorum: 2, timeout: 600 });
  const daemons: Array<{ name: string; run: ChildRun }> = [];
  try {
    const { coordinator, ledger, log, publicClient } = devnet.sibyl;
    await setWindow(devnet, EXCLUSIVE_WINDOW);
    const wallets = await devnet.connection.viem.getWalletClients();
    const wallet = (index: number) => {
      const found = wallets[index];
      if (found === undefined) throw new Error(`no Hardhat account ${index}`);
      return found;
    };
    const attacker = wallet(ACCOUNT.attacker);
    const bettor = wallet(ACCOUNT.bettor);
    const reporter = wallet(ACCOUNT.reporter);
    const honest = {
      a: privateKeyToAccount(OPERATOR_KEY).address,
      b: privateKeyToAccount(hardhatKey(ACCOUNT.honestB)).address,
    };
    await registerOperator(devnet, ACCOUNT.honestB);
    // The attacker: staked, serving the model, publishing no endpoint (it co-signs nothing).
    await registerOperator(devnet, ACCOUNT.attacker);
    for (const [name, account] of [
      ["honest-a", 1],
      ["honest-b", ACCOUNT.honestB],
    ] as const) {
      const port = await freePort();
      const config = await devnet.writeConfig(
        {
          database: { path: path.join(devnet.dir, `${name}.db`) },
          cosigning: { port, publicUrl: `http://127.0.0.1:${port}`, allowPrivatePeers: true },
        },
        `${name}.json`,
      );
      daemons.push({
        name,
        run: devnet.startNode(config, { SIBYL_OPERATOR_KEY: hardhatKey(account) }),
      });
    }
    await Promise.all(daemons.map(({ run }) => run.waitFor("sibyl node started", 180_000)));
    const fromBlock = (await publicClient.getBlockNumber()) + 1n;

    const market = await devnet.connection.viem.deployContract("YesNoMarket", [
      log.address,
      MODEL_ID,
      600n,
      3_600n,
    ]);
    const mined = async (hash: Promise<Hex>) => {
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash });
      if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
      return receipt;
    };
    const now = (await publicClient.getBlock()).timestamp;
    await mined(
      market.write.create(["Did it rain in Lyon on match day?", reporter.account.address, now + 60n]),
    );
    const marketId = await market.read.marketCount();
    const wealthBefore = await wealthOf(devnet, attacker.account.address);
    const stakeBefore = (await ledger.read.operatorOf([attacker.account.address])).stake;
    await mined(market.write.bet([marketId, false], { account: attacker.account, value: BET }));
    await mined(market.write.bet([marketId, true], { account: bettor.account, value: BET }));
    await rpc(devnet, "evm_increaseTime", [61]);
    await rpc(devnet, "evm_mine");
    await mined(
      market.write.report([marketId, "It rained all day in Lyon, from dawn to dusk."], {
        account: reporter.account,
      }),
    );

    // The attacker asks for the resolution itself, in a block whose draw picks it.
    const escrow = await escrowFor(devnet, MODEL_ID, await market.read.CALLBACK_GAS_LIMIT());
    const resolveSteered = async (payer: typeof attacker, operator: Address) => {
      await rpc(devnet, "evm_setAutomine", [false]);
      try {
        const hash = await market.write.resolve([marketId], { account: payer.account, value: escrow });
        await assignNextRequestTo(devnet.connection, devnet.sibyl, operator, MODEL_ID);
        await rpc(devnet, "evm_mine");
        const receipt = await mined(Promise.resolve(hash));
        const [event] = parseEventLogs({
          abi: coordinator.abi,
          logs: receipt.logs,
          eventName: "InferenceRequested",
        });
        if (event?.args.commitment.operator.toLowerCase() !== operator.toLowerCase())
          throw new Error(`the resolving request was not drawn to ${operator}`);
        return event.args.commitment;
      } finally {
        await rpc(devnet, "evm_setAutomine", [true]);
      }
    };
    const drawn = await resolveSteered(attacker, attacker.account.address);

    const attempts: Record<string, string> = {};
    const tryDeliver = async (name: string, status: number, output: Hex) => {
      const fulfillment = {
        commitment: drawn,
        status,
        output,
        metadata: "0x" as Hex,
        signatures: "0x" as Hex,
      };
      const refused = await revertOf(() =>
        coordinator.simulate.deliver([[fulfillment]], { account: attacker.account.address }),
      );
      if (refused !== undefined) {
        attempts[name] = refused;
        return;
      }
      await mined(coordinator.write.deliver([[fulfillment]], { account: attacker.account }));
      attempts[name] = "sent";
    };
    await tryDeliver("NoConsensus at once", ResultStatus.NoConsensus, "0x");
    await tryDeliver("NoConsensus with an output", ResultStatus.NoConsensus, stringToHex("no"));
    await tryDeliver("a lone no", ResultStatus.Ok, stringToHex("no"));
    await tryDeliver("a lone model error", ResultStatus.ModelError, "0x");
    // From halfway through its window on, a time it does not choose: the one NoConsensus it may send.
    await untilChainTime(devnet, drawn.exclusiveUntil - EXCLUSIVE_WINDOW / 2n);
    await tryDeliver("NoConsensus from halfway through its window", ResultStatus.NoConsensus, "0x");
    const phaseAfterNoConsensus = PHASES[(await market.read.marketOf([marketId])).phase] ?? "unknown";

    // Anyone asks again: this time the draw picks an honest daemon, which the other co-signs.
    const answered = await resolveSteered(bettor, honest.a);
    const ids = [drawn.requestId, answered.requestId];
    const result = await settle(devnet, ids, fromBlock, 120_000);
    const final = await market.read.marketOf([marketId]);
    const resolving = (
      await coordinator.getEvents.ResultDelivered({ requestId: answered.requestId }, { fromBlock })
    )[0];
    const claimed = await mined(market.write.claim([marketId], { account: bettor.account }));
    const [claim] = parseEventLogs({ abi: market.abi, logs: claimed.logs, eventName: "Claimed" });
    const attackerClaim =
      (await revertOf(() => market.simulate.claim([marketId], { account: attacker.account.address }))) ??
      "would pay";
    const inconclusive = await market.getEvents.ResolutionInconclusive({ marketId }, { fromBlock });
    const voided = await market.getEvents.MarketVoided({ marketId }, { fromBlock });
    const names = new Map([
      [honest.a.toLowerCase(), "honest-a"],
      [honest.b.toLowerCase(), "honest-b"],
      [attacker.account.address.toLowerCase(), "attacker"],
    ]);
    return {
      report: report(
        "lone NoConsensus",
        "an operator that bet against the truth is drawn for the market's resolving request",
        ids.length,
        result,
        Date.now() - started,
      ),
      attackerGainWei: (await wealthOf(devnet, attacker.account.address)) - wealthBefore,
      attempts,
      phaseAfterNoConsensus,
      inconclusive: inconclusive.length,
      phase: PHASES[final.phase] ?? "unknown",
      outcome: final.outcome,
      voided: voided.length > 0,
      resolvedBy: `${names.get(String(resolving?.args.operator).toLowerCase()) ?? resolving?.args.operator}, status ${resolving?.args.status}`,
      bettorPayout: claim?.args.amount ?? 0n,
      attackerClaim,
      attackerStakeChange: (await ledger.read.operatorOf([attacker.account.address])).stake - stakeBefore,
    };
  } finally {
    for (const { name, run } of daemons) {
      await run.stop("SIGTERM");
      await writeFile(path.join(devnet.dir, `${name}.log`), run.text);
    }
    await devnet.stop();
    await server.close();
  }
}

/** What the check should show, as the targets it missed. */
export function loneNoConsensusMisses(check: LoneNoConsensusCheck): string[] {
  const misses: string[] = [];
  if (check.attackerGainWei > 0n) misses.push(`the attacker gained ${check.attackerGainWei} wei`);
  if (check.attempts["NoConsensus at once"] !== "NoConsensusTooEarly")
    misses.push(`NoConsensus at once: ${check.attempts["NoConsensus at once"]}, not NoConsensusTooEarly`);
  for (const lone of ["NoConsensus with an output", "a lone no", "a lone model error"])
    if (check.attempts[lone] === "sent") misses.push(`${lone} was taken`);
  if (check.attempts["NoConsensus from halfway through its window"] !== "sent")
    misses.push("the provable NoConsensus was not taken: the row proves nothing");
  if (check.phaseAfterNoConsensus !== "Reported")
    misses.push(`after the NoConsensus the market was ${check.phaseAfterNoConsensus}, not Reported`);
  if (check.inconclusive !== 1) misses.push(`${check.inconclusive} ResolutionInconclusive events`);
  if (check.voided) misses.push("the market was voided");
  if (check.phase !== "Resolved" || !check.outcome)
    misses.push(`the market ended ${check.phase}, outcome ${check.outcome ? "yes" : "no"}, not Resolved yes`);
  if (check.bettorPayout !== 2n * BET) misses.push(`the honest bettor was paid ${check.bettorPayout} wei`);
  if (check.attackerStakeChange !== 0n)
    misses.push(`the attacker's stake changed by ${check.attackerStakeChange}`);
  return misses;
}

/** Until the newest block's timestamp is at least `time`, mining a block a second (automine is on). */
async function untilChainTime(devnet: Devnet, time: bigint): Promise<void> {
  await until(async () => {
    if ((await devnet.sibyl.publicClient.getBlock()).timestamp >= time) return true;
    await rpc(devnet, "evm_mine");
    await new Promise((resolve) => setTimeout(resolve, 800));
    return undefined;
  }, 120_000);
}
