/**
 * The co-signing endpoint of an operator that runs two replicas on one PostgreSQL database: each
 * replica serves it, the standby too, from the shared never-sign-twice record. Another operator (the
 * asker, no daemon) is assigned a quorum request and asks the leader to co-sign; the leader runs its
 * model, a hosted one that answers differently on every run, and signs its answer A. Asked for the
 * other answer B, the standby must refuse (409) and sign nothing but A; asked for A it co-signs A.
 * Then the leader is killed, the standby takes over, and its endpoint must do the same without running
 * the model again (which would now answer B). Last, a reorg drops the request and the same id comes
 * back: the job row has no answer now, so the replica that leads runs its model, which answers B; only
 * the shared record, which a rewind keeps, stands between it and a second signature.
 */

import pg from "pg";
import { type Hex, keccak256, stringToHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { answerKey } from "../../src/node/cosign/peerServer.js";
import { type ResultStatement, type StatementDomain, statementOf } from "../../src/node/cosign/statement.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { askToCosign } from "../helpers/cosignAsk.js";
import { type Devnet, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import type { PostgresCluster } from "../helpers/postgres.js";
import { type ChildRun, freePort } from "../helpers/processes.js";
import { assignNextRequestTo, YES_NO } from "../helpers/quorum.js";
import { TEST_OPERATOR_PARAMETERS } from "../helpers/sibyl.js";
import { until } from "../helpers/wait.js";
import { countLogged, registerOperator, rpc } from "./chainFaults.js";

/** Short, so the takeover is quick; the default is 5 s. */
const LEASE_MS = 2_000;

export type Replica = "leader" | "standby" | "new leader" | "new leader after the reorg";

export interface CosignAsk {
  replica: Replica;
  asked: "A" | "B";
  status: number;
  /** Which answer the reply carried a valid signature of, if any. */
  signed?: "A" | "B";
}

export interface StandbyCosignCheck {
  asks: CosignAsk[];
  /** Distinct answers the operator signed for the request, over every reply. */
  answersSigned: number;
  /** A, as the signed record keys it (output hash and status). */
  answerA: string;
  /** The shared signed-answers record for the request, as the database holds it. */
  recorded: string[];
  /** Runs of the model over both replicas, before the reorg and in all. */
  modelCallsBeforeReorg: number;
  modelCalls: number;
  /** The standby led once the leader was killed. */
  tookOver: boolean;
  /** The answer the leading replica's own model gave once the reorg had dropped the job's, as A or B. */
  answerAfterReorg?: "A" | "B";
}

export async function standbyCosigner(cluster: PostgresCluster): Promise<StandbyCosignCheck> {
  let modelCalls = 0;
  const fake = new FakeOpenAIServer({ answer: () => (modelCalls++ % 2 === 0 ? "Yes." : "No.") });
  const server = await fake.start();
  const devnet = await startDevnet([{ ...YES_NO, baseURL: server.url }], { quorum: 2 });
  const url = await cluster.createDatabase();
  const runs: ChildRun[] = [];
  try {
    const { coordinator, ledger, publicClient } = devnet.sibyl;
    const send = async () => {
      await assignNextRequestTo(devnet.connection, devnet.sibyl, asker.address, modelIdFromName(YES_NO.name));
      const [id] = await sendRequests(devnet, 1, modelIdFromName(YES_NO.name), () =>
        stringToHex("Is the sky blue?"),
      );
      return id as bigint;
    };
    // A window the replicas do not outwait: the request stays the asker's to deliver.
    await publicClient.waitForTransactionReceipt({
      hash: await ledger.write.setOperatorParameters([
        { ...TEST_OPERATOR_PARAMETERS, exclusiveWindow: 3_000n },
      ]),
    });
    const asker = privateKeyToAccount(await registerOperator(devnet, 18));
    const domain: StatementDomain = {
      chainId: await publicClient.getChainId(),
      coordinatorOf: () => coordinator.address,
      ledger: () => ledger.address,
    };
    const [leaderPort, standbyPort] = [await freePort(), await freePort()];
    const leader = devnet.startNode(await replicaConfig(devnet, "leader", url, leaderPort));
    runs.push(leader);
    await leader.waitFor('"msg":"leading"', 180_000);
    const standby = devnet.startNode(await replicaConfig(devnet, "standby", url, standbyPort));
    runs.push(standby);
    await standby.waitFor("standby: waiting for the lead", 180_000);

    const beforeRequest = await rpc(devnet, "evm_snapshot");
    const requestId = await send();
    const yes = statementOf(requestId, { status: ResultStatus.Ok, output: stringToHex("yes") });
    const no = statementOf(requestId, { status: ResultStatus.Ok, output: stringToHex("no") });
    const first = await askToCosign(leaderPort, asker, domain, yes);
    if (first.signed === undefined) throw new Error(`the leader signed nothing (HTTP ${first.status})`);
    const a = first.signed.statement;
    const b = answerKey(a) === answerKey(yes) ? no : yes;
    const asks: CosignAsk[] = [
      {
        replica: "leader",
        asked: answerKey(a) === answerKey(yes) ? "A" : "B",
        status: first.status,
        signed: "A",
      },
    ];
    const signed = new Set([answerKey(a)]);
    const ask = async (replica: Replica, port: number, asked: ResultStatement) => {
      const reply = await askToCosign(port, asker, domain, asked, [404, 503]);
      const key = reply.signed && answerKey(reply.signed.statement);
      if (key) signed.add(key);
      asks.push({
        replica,
        asked: answerKey(asked) === answerKey(a) ? "A" : "B",
        status: reply.status,
        signed: key === undefined ? undefined : key === answerKey(a) ? "A" : "B",
      });
    };
    await ask("standby", standbyPort, b);
    await ask("standby", standbyPort, a);

    await leader.stop("SIGKILL");
    await standby.waitFor('"msg":"leading"', 60_000);
    // Resumed: its endpoint published and its loops running. A reorg that removed the publication while
    // it waited for the receipt would leave it resuming for good (publishEndpoint waits on a receipt).
    await standby.waitFor('"msg":"result log in sync"', 60_000);
    await ask("new leader", standbyPort, b);
    await ask("new leader", standbyPort, a);

    const modelCallsBeforeReorg = modelCalls;
    const rewinds = countLogged(standby, "chain reorganised");
    await rpc(devnet, "evm_revert", [beforeRequest]);
    if ((await send()) !== requestId) throw new Error("the request did not come back under its id");
    await until(() => (countLogged(standby, "chain reorganised") > rewinds ? true : undefined), 60_000);
    await until(async () => ((await jobAnswered(url, requestId)) === false ? true : undefined), 60_000);
    await ask("new leader after the reorg", standbyPort, b);
    await ask("new leader after the reorg", standbyPort, a);
    const answered = await jobAnswer(url, requestId);
    return {
      asks,
      answersSigned: signed.size,
      answerA: answerKey(a),
      recorded: await signedRecord(url, requestId),
      modelCallsBeforeReorg,
      modelCalls,
      tookOver: standby.text.includes('"msg":"leading"'),
      answerAfterReorg: answered === undefined ? undefined : answered === a.outputHash ? "A" : "B",
    };
  } finally {
    for (const run of runs) await stopWithin(run, 15_000);
    await devnet.stop();
    await server.close();
  }
}

/** A replica of the operator on the shared database, with its own co-signing endpoint. */
function replicaConfig(devnet: Devnet, name: string, url: string, port: number): Promise<string> {
  return devnet.writeConfig(
    {
      store: { kind: "postgres", url, leaseMs: LEASE_MS },
      cosigning: { port, publicUrl: `http://127.0.0.1:${port}`, requestTimeoutMs: 5_000 },
    },
    `${name}.json`,
  );
}

/** The answers the shared record holds as signed for `requestId`. */
async function signedRecord(url: string, requestId: bigint): Promise<string[]> {
  const rows = await query<{ answer: string }>(
    url,
    "SELECT answer FROM signed_answers WHERE request_id = $1",
    [String(requestId)],
  );
  return rows.map((row) => row.answer);
}

/** Whether the shared job row of `requestId` holds an answer; undefined when there is no row. */
async function jobAnswered(url: string, requestId: bigint): Promise<boolean | undefined> {
  const rows = await query<{ status: number | null }>(url, "SELECT status FROM jobs WHERE request_id = $1", [
    String(requestId),
  ]);
  return rows[0] && rows[0].status !== null;
}

/** The output hash of the answer in the shared job row of `requestId`, if it has one. */
async function jobAnswer(url: string, requestId: bigint): Promise<Hex | undefined> {
  const rows = await query<{ output: Hex | null }>(url, "SELECT output FROM jobs WHERE request_id = $1", [
    String(requestId),
  ]);
  const output = rows[0]?.output;
  return output ? keccak256(output) : undefined;
}

async function query<Row extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** SIGTERM, then SIGKILL if the process has not exited within `ms`. */
async function stopWithin(run: ChildRun, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), ms);
  });
  if ((await Promise.race([run.stop("SIGTERM"), late])) === "late") await run.stop("SIGKILL");
  clearTimeout(timer);
}
