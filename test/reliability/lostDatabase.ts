/**
 * A lost database must not make an honest node equivocate. An operator (the attacker, no daemon) is
 * assigned a quorum request and asks an honest daemon to co-sign; the daemon runs its model (a hosted
 * one whose answer differs on a re-run) and signs. Its database is then wiped and it restarts; asked
 * again, it must not sign a second answer, which the attacker could report to slash it. The attacker's
 * net gain is measured on the chain: it reports for real whenever it holds two different signatures.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { createWalletClient, type Hex, http, stringToHex } from "viem";
import { type LocalAccount, privateKeyToAccount } from "viem/accounts";
import { commitReportData, reportEquivocationData } from "../../src/node/chain/calls.js";
import { type StatementDomain, statementOf } from "../../src/node/cosign/statement.js";
import { equivocationCommitment, modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { askToCosign, type SignedAnswer } from "../helpers/cosignAsk.js";
import { type Devnet, OPERATOR_KEY, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import { assignNextRequestTo, YES_NO } from "../helpers/quorum.js";
import { TEST_OPERATOR_PARAMETERS } from "../helpers/sibyl.js";
import { registerOperator } from "./chainFaults.js";

export interface LostDatabaseCheck {
  /** Signatures the honest operator gave for the request, by answer (output hash and status). */
  answersSigned: number;
  /** What the daemon said when asked again after the wipe. */
  askedAgain: number[];
  /** The attacker's balance change (wei): a slash reward minus gas, 0 when it could not report. */
  attackerNetGain: bigint;
  /** The honest operator's stake change (wei). */
  victimStakeChange: bigint;
  modelCalls: number;
}

export async function lostDatabaseCosigner(): Promise<LostDatabaseCheck> {
  // A hosted model that answers differently each run.
  let calls = 0;
  const fake = new FakeOpenAIServer({ answer: () => (calls++ % 2 === 0 ? "Yes." : "No.") });
  const server = await fake.start();
  const devnet = await startDevnet([{ ...YES_NO, baseURL: server.url }], { quorum: 2 });
  try {
    const { coordinator, ledger, publicClient } = devnet.sibyl;
    // A window the honest daemon does not outwait: the request stays the attacker's to deliver.
    await publicClient.waitForTransactionReceipt({
      hash: await ledger.write.setOperatorParameters([
        { ...TEST_OPERATOR_PARAMETERS, exclusiveWindow: 3_000n },
      ]),
    });
    const attacker = privateKeyToAccount(await registerOperator(devnet, 18));
    const victim = privateKeyToAccount(OPERATOR_KEY).address;
    const domain: StatementDomain = {
      chainId: await publicClient.getChainId(),
      coordinatorOf: () => coordinator.address,
      ledger: () => ledger.address,
    };
    const port = 19_565;
    const config = await devnet.writeConfig(
      {
        database: { path: "cosigner.db" },
        cosigning: { port, publicUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 5_000 },
      },
      "cosigner.json",
    );
    let daemon = devnet.startNode(config);
    await daemon.waitFor("sibyl node started", 180_000);
    await assignNextRequestTo(
      devnet.connection,
      devnet.sibyl,
      attacker.address,
      modelIdFromName(YES_NO.name),
    );
    const [requestId] = await sendRequests(devnet, 1, modelIdFromName(YES_NO.name), () =>
      stringToHex("Is the sky blue?"),
    );
    const yes = statementOf(requestId as bigint, { status: ResultStatus.Ok, output: stringToHex("yes") });
    const no = statementOf(requestId as bigint, { status: ResultStatus.Ok, output: stringToHex("no") });
    const signed: SignedAnswer[] = [];
    const first = await askToCosign(port, attacker, domain, yes);
    if (first.signed) signed.push(first.signed);

    // The machine loses its disk: the same operator comes back with an empty database.
    await daemon.stop("SIGKILL");
    for (const suffix of ["", "-wal", "-shm"])
      await rm(path.join(devnet.dir, `cosigner.db${suffix}`), { force: true });
    daemon = devnet.startNode(config);
    const askedAgain: number[] = [];
    try {
      await daemon.waitFor("sibyl node started", 180_000);
      for (const statement of [yes, no]) {
        const reply = await askToCosign(port, attacker, domain, statement);
        askedAgain.push(reply.status);
        if (reply.signed) signed.push(reply.signed);
      }
    } finally {
      await daemon.stop("SIGTERM");
    }
    const distinct = new Map(signed.map((s) => [`${s.statement.outputHash}:${s.statement.status}`, s]));
    const stakeBefore = (await ledger.read.operatorOf([victim])).stake;
    const attackerNetGain = await reportIfPossible(devnet, attacker, [...distinct.values()]);
    const stakeAfter = (await ledger.read.operatorOf([victim])).stake;
    return {
      answersSigned: distinct.size,
      askedAgain,
      attackerNetGain,
      victimStakeChange: stakeAfter - stakeBefore,
      modelCalls: calls,
    };
  } finally {
    await devnet.stop();
    await server.close();
  }
}

/** With two different signed answers, the attacker commits and reports the equivocation: its net gain. */
async function reportIfPossible(
  devnet: Devnet,
  attacker: LocalAccount,
  signed: SignedAnswer[],
): Promise<bigint> {
  const [a, b] = signed;
  if (a === undefined || b === undefined) return 0n;
  const { publicClient, coordinator, ledger } = devnet.sibyl;
  const wallet = createWalletClient({ account: attacker, transport: http(devnet.chain.url) });
  // Its wallet pays the gas and receives the slash (the ledger pays reporters in ether).
  const worth = async () => publicClient.getBalance({ address: attacker.address });
  const before = await worth();
  const send = async (data: Hex) =>
    publicClient.waitForTransactionReceipt({
      hash: await wallet.sendTransaction({ to: ledger.address, data, chain: null }),
    });
  await send(commitReportData(equivocationCommitment(attacker.address, coordinator.address, a, b)));
  await devnet.connection.networkHelpers.mine(1);
  await send(reportEquivocationData(coordinator.address, a, b));
  return (await worth()) - before;
}
