/**
 * A network of operators on quorum-2 models, as processes: daemons with their own keys, databases and
 * co-signing endpoints on one coordinator. Every answer must carry another operator's signature of the
 * same answer. Four scenarios, each counted from the chain: honest operators agree; a tampered
 * operator gets none of its answers through and pays for every request it held; an equivocating
 * operator is reported by an honest node and slashed; a crashed operator and a co-signer whose peer
 * traffic is dropped end every request late or NoConsensus, never wrong or twice.
 */
import { writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { type AddressInfo, createServer as createNetServer, type Socket } from "node:net";
import path from "node:path";
import { type Hex, hexToString, stringToHex } from "viem";
import { type LocalAccount, privateKeyToAccount } from "viem/accounts";
import type { CosignRequest } from "../../src/node/cosign/peerServer.js";
import {
  type ResultStatement,
  type StatementDomain,
  signStatement,
  statementOf,
} from "../../src/node/cosign/statement.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, hardhatKey, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import type { ChildRun } from "../helpers/processes.js";
import { assignNextRequestTo, YES_NO } from "../helpers/quorum.js";
import { TEST_OPERATOR_PARAMETERS } from "../helpers/sibyl.js";
import { LANGUAGE_ID, registerOperator, sentence } from "./chainFaults.js";
import { report, type ScenarioReport, type ScenarioSize, settle, type Tally } from "./harness.js";

/** The tampered operator's API key: the fake server answers it "No." where it answers others "Yes.". */
const TAMPERED_KEY = "tampered-key";
const LANGUAGE_ID_MODEL = modelIdFromName(LANGUAGE_ID.name);
/** Requests each scenario steers to the operator it is about. */
const STEERED = 3;
const YES_NO_MODEL = modelIdFromName(YES_NO.name);

export interface Daemon {
  name: string;
  address: Hex;
  port: number;
  run: ChildRun;
  log: string;
}

export interface QuorumNetwork {
  devnet: Devnet;
  daemons: Daemon[];
  stop(): Promise<void>;
}

export interface QuorumCheck {
  report: ScenarioReport;
  /** Answers that are neither the model's right answer nor (where allowed) NoConsensus. */
  wrong: string[];
  /** Statuses of the first delivery of each request, by status number. */
  statuses: Record<number, number>;
  /** OperatorPenalized events by operator name, and how many requests each was first assigned. */
  penaltiesBy: Record<string, number>;
  assignedTo: Record<string, number>;
  /** Requests delivered by the named misbehaving operator. */
  deliveredByCulprit: number;
  /** Wei the culprit's stake lost, and the penalties and slashes the chain recorded against it. */
  culpritStakeLost: bigint;
  culpritCharged: bigint;
  /** OperatorSlashed events against the culprit: reporter names, and the first amount with the stake then. */
  slashes: Array<{ reporter: string; amount: bigint }>;
  firstSlashOfStake: { amount: bigint; stake: bigint } | undefined;
  culpritActive: boolean;
  logs: string[];
}

/**
 * Three daemons on quorum-2 models: op-a and op-b honest, op-tampered serving the yes/no model through
 * a key the model server answers wrongly. Each publishes its co-signing endpoint.
 */
export async function startQuorumNetwork(exclusiveWindow = 60n): Promise<QuorumNetwork> {
  const fake = new FakeOpenAIServer({
    answer: (_model, _messages, apiKey) => (apiKey === TAMPERED_KEY ? "No." : "Yes."),
  });
  const server = await fake.start();
  const devnet = await startDevnet([LANGUAGE_ID, { ...YES_NO, baseURL: server.url }], { quorum: 2 });
  // A devnet's clock runs ahead of the wall's (each block at least a second after the last, and a burst
  // of requests is a block each): a window long enough that honest operators are never late, and that
  // an assignee short of co-signatures, which ends the request NoConsensus well inside it, first gives
  // its peers time to answer (60 s for the test's sizes, windowFor at soak size).
  await setWindow(devnet, exclusiveWindow);
  const daemons = await startDaemons(devnet, 19_465, [
    { name: "op-a", account: 1, env: { OPENAI_API_KEY: "test-key" } },
    { name: "op-b", account: 16, env: { OPENAI_API_KEY: "test-key" } },
    { name: "op-tampered", account: 17, env: { OPENAI_API_KEY: TAMPERED_KEY } },
  ]);
  return {
    devnet,
    daemons,
    async stop() {
      await stopDaemons(daemons);
      await devnet.stop();
      await server.close();
    },
  };
}

/** Requests to the reproducible built-in model: all answered Ok, right, once. */
export async function honestQuorum(network: QuorumNetwork, size: ScenarioSize): Promise<QuorumCheck> {
  const started = Date.now();
  const { devnet } = network;
  const fromBlock = await devnet.sibyl.publicClient.getBlockNumber();
  const languageOf = (i: number) => (i % 2 === 0 ? "en" : "fr");
  const ids = await sendRequests(devnet, size.requests, LANGUAGE_ID_MODEL, (i) => sentence(languageOf(i), i));
  const result = await settle(devnet, ids, fromBlock, 240_000);
  return check(devnet, network.daemons, {
    scenario: "quorum 2: honest operators",
    injected: "3 daemons, every answer co-signed by another",
    ids,
    result,
    fromBlock,
    started,
    rightAnswer: (i, output) => hexToString(output).startsWith(`${languageOf(i)} `),
    noConsensusAllowed: false,
    culprit: undefined,
  });
}

/** Requests to the yes/no model, which op-tampered answers wrongly: it never lands one, and pays. */
export async function tamperedOperator(network: QuorumNetwork, size: ScenarioSize): Promise<QuorumCheck> {
  const started = Date.now();
  const { devnet } = network;
  const fromBlock = await devnet.sibyl.publicClient.getBlockNumber();
  const question = (i: number) => stringToHex(`Is ${i} a number?`);
  // The tampered operator holds some requests by construction, not by the draw's luck.
  const tampered = network.daemons.find((daemon) => daemon.name === "op-tampered") as Daemon;
  const ids = await sendSteered(devnet, tampered.address, STEERED, YES_NO_MODEL, question);
  const steered = ids.length;
  ids.push(
    ...(await sendRequests(devnet, Math.max(0, size.requests - steered), YES_NO_MODEL, (i) =>
      question(i + steered),
    )),
  );
  const result = await settle(devnet, ids, fromBlock, 300_000);
  return check(devnet, network.daemons, {
    scenario: "quorum 2: a tampered operator",
    injected: "1 of 3 daemons serves a model that answers wrongly",
    ids,
    result,
    fromBlock,
    started,
    rightAnswer: (_i, output) => hexToString(output) === "yes",
    noConsensusAllowed: false,
    culprit: "op-tampered",
  });
}

/**
 * A fourth operator with no daemon equivocates: as the assignee of some requests it asks the honest
 * nodes to co-sign "no", signing that answer itself; its published endpoint signs whatever it is asked,
 * so once they take its requests over it signs their "yes" too. One of them reports it.
 */
export async function equivocation(network: QuorumNetwork, size: ScenarioSize): Promise<QuorumCheck> {
  const started = Date.now();
  const { devnet, daemons } = network;
  const { coordinator, ledger, publicClient } = devnet.sibyl;
  // The tampered operator leaves first: with an endpoint that signs anything in the network, its wrong
  // answers would have their second signature (two colluding operators are a quorum of 2).
  // At soak size its penalties may already have taken it out of the active set.
  const tampered = daemons.find((daemon) => daemon.name === "op-tampered");
  if (tampered) {
    await tampered.run.stop("SIGTERM");
    if ((await ledger.read.operatorOf([tampered.address])).active)
      await publicClient.waitForTransactionReceipt({
        hash: await ledger.write.requestOperatorExit({ account: privateKeyToAccount(hardhatKey(17)) }),
      });
  }
  const equivocator = privateKeyToAccount(await registerOperator(devnet, 18));
  const domain: StatementDomain = {
    chainId: await publicClient.getChainId(),
    coordinatorOf: () => coordinator.address,
    ledger: () => ledger.address,
  };
  const yesMan = await startYesMan(equivocator, domain);
  try {
    await publicClient.waitForTransactionReceipt({
      hash: await ledger.write.setOperatorEndpoint([yesMan.url], { account: equivocator }),
    });
    const fromBlock = await publicClient.getBlockNumber();
    const question = (i: number) => stringToHex(`Is ${i} even?`);
    const no = stringToHex("no");
    // Each of its requests is put to the honest nodes at once, while it is still the equivocator's
    // alone (its window not yet run out, so nobody has taken it over), and until each has read it.
    const ids = await sendSteered(
      devnet,
      equivocator.address,
      STEERED,
      YES_NO_MODEL,
      question,
      async (id) => {
        const statement = statementOf(id, { status: ResultStatus.Ok, output: no });
        const signature = await signStatement(equivocator, domain, statement);
        for (const daemon of daemons.slice(0, 2)) await askUntilRead(daemon.port, statement, signature);
      },
    );
    const steered = ids.length;
    ids.push(
      ...(await sendRequests(devnet, Math.max(0, size.requests - steered), YES_NO_MODEL, (i) =>
        question(i + steered),
      )),
    );
    const result = await settle(devnet, ids, fromBlock, 300_000);
    const operators = [...daemons, { name: "equivocator", address: equivocator.address }];
    return await check(network.devnet, operators, {
      scenario: "quorum 2: an equivocating operator",
      injected: "an operator signs a wrong answer, then the right one, for the same requests",
      ids,
      result,
      fromBlock,
      started,
      rightAnswer: (_i, output) => hexToString(output) === "yes",
      noConsensusAllowed: false,
      culprit: "equivocator",
    });
  } finally {
    await yesMan.close();
  }
}

/**
 * Its own devnet: op-crashed is killed before the requests come, and op-a's published endpoint drops
 * every connection (a proxy that swallows peer traffic). Short deadlines, so a result that cannot get
 * its co-signature ends NoConsensus within seconds: 120 s, less the node's margins (30 + 60 s), and
 * before the 60 s window would let another operator take it.
 */
export async function crashAndDroppedPeers(size: ScenarioSize): Promise<QuorumCheck> {
  const blackhole = await startBlackhole();
  const devnet = await startDevnet([LANGUAGE_ID], { quorum: 2, timeout: 120 });
  let daemons: Daemon[] = [];
  try {
    await setWindow(devnet, 60n);
    daemons = await startDaemons(devnet, 19_475, [
      { name: "op-a", account: 1, publicUrl: blackhole.url, env: {} },
      { name: "op-b", account: 16, env: {} },
      { name: "op-crashed", account: 17, env: {} },
    ]);
    const crashed = daemons[2] as Daemon;
    await crashed.run.stop("SIGKILL");
    const started = Date.now();
    const fromBlock = await devnet.sibyl.publicClient.getBlockNumber();
    const languageOf = (i: number) => (i % 2 === 0 ? "en" : "fr");
    // The first few are drawn for the crashed operator (the devnet's draws would repeat every run).
    const input = (i: number) => sentence(languageOf(i), i);
    const ids = await sendSteered(devnet, crashed.address, STEERED, LANGUAGE_ID_MODEL, input);
    const steered = ids.length;
    ids.push(
      ...(await sendRequests(devnet, Math.max(0, size.requests - steered), LANGUAGE_ID_MODEL, (i) =>
        input(i + steered),
      )),
    );
    const result = await settle(devnet, ids, fromBlock, 300_000);
    return await check(devnet, daemons, {
      scenario: "quorum 2: a crash, peer traffic dropped",
      injected: "1 of 3 daemons killed, another's endpoint swallows connections",
      ids,
      result,
      fromBlock,
      started,
      rightAnswer: (i, output) => hexToString(output).startsWith(`${languageOf(i)} `),
      noConsensusAllowed: true,
      culprit: "op-crashed",
    });
  } finally {
    await stopDaemons(daemons);
    await devnet.stop();
    await blackhole.close();
  }
}

/** Every quorum scenario at `size`, for `npm run soak`. */
export async function runQuorum(size: ScenarioSize): Promise<QuorumCheck[]> {
  const network = await startQuorumNetwork(windowFor(size.requests));
  const checks: QuorumCheck[] = [];
  try {
    checks.push(await honestQuorum(network, size));
    checks.push(await tamperedOperator(network, size));
    checks.push(await equivocation(network, size));
  } finally {
    await network.stop();
  }
  checks.push(await crashAndDroppedPeers(size));
  return checks;
}

interface CheckOptions {
  scenario: string;
  injected: string;
  ids: bigint[];
  result: Tally;
  fromBlock: bigint;
  started: number;
  rightAnswer: (i: number, output: Hex) => boolean;
  noConsensusAllowed: boolean;
  /** The daemon (by name) whose misbehaviour the scenario injects. */
  culprit: string | undefined;
}

/** Reads the scenario's outcome from the chain; `operators` name the addresses in it. */
async function check(
  devnet: Devnet,
  operators: ReadonlyArray<{ name: string; address: Hex; log?: string }>,
  options: CheckOptions,
): Promise<QuorumCheck> {
  const { coordinator, ledger } = devnet.sibyl;
  const { ids, result } = options;
  // The scenario's requests were all made after `fromBlock`, which may hold the last scenario's work.
  const fromBlock = options.fromBlock + 1n;
  const ofScenario = (event: { args: { requestId?: bigint } }) =>
    ids.includes(event.args.requestId as bigint);
  const nameOf = (address: string | undefined) =>
    operators.find((operator) => operator.address.toLowerCase() === address?.toLowerCase())?.name ??
    String(address);
  const wrong: string[] = [];
  const statuses: Record<number, number> = {};
  for (const [i, id] of ids.entries()) {
    const delivery = result.deliveries.get(id)?.[0];
    if (delivery === undefined) continue;
    statuses[delivery.status] = (statuses[delivery.status] ?? 0) + 1;
    const right =
      delivery.status === ResultStatus.NoConsensus
        ? options.noConsensusAllowed && delivery.output === "0x"
        : delivery.status === ResultStatus.Ok && options.rightAnswer(i, delivery.output);
    if (!right) wrong.push(`${id}: status ${delivery.status}, ${delivery.output}`);
  }
  const count = (names: Array<string | undefined>) => {
    const counts: Record<string, number> = {};
    for (const name of names) if (name !== undefined) counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  };
  const requested = await coordinator.getEvents.InferenceRequested({}, { fromBlock });
  const penalties = (await ledger.getEvents.OperatorPenalized({}, { fromBlock })).filter(ofScenario);
  const delivered = (await coordinator.getEvents.ResultDelivered({}, { fromBlock })).filter(ofScenario);
  const culprit = operators.find((operator) => operator.name === options.culprit);
  const slashEvents = culprit
    ? (await ledger.getEvents.OperatorSlashed({ operator: culprit.address }, { fromBlock })).filter(
        ofScenario,
      )
    : [];
  const charged = [...penalties, ...slashEvents]
    .filter((event) => event.args.operator?.toLowerCase() === culprit?.address.toLowerCase())
    .reduce((sum, event) => sum + (event.args.amount as bigint), 0n);
  const stakeAt = async (blockNumber: bigint | undefined) =>
    culprit ? (await ledger.read.operatorOf([culprit.address], { blockNumber })).stake : 0n;
  const first = slashEvents[0];
  const registration = culprit ? await ledger.read.operatorOf([culprit.address]) : undefined;
  const stakeBefore = await stakeAt(options.fromBlock);
  return {
    report: report(options.scenario, options.injected, ids.length, result, Date.now() - options.started),
    wrong,
    statuses,
    penaltiesBy: count(penalties.map((event) => nameOf(event.args.operator))),
    assignedTo: count(
      requested
        .filter((event) => ids.includes(event.args.requestId as bigint))
        .map((event) => nameOf(event.args.commitment?.operator)),
    ),
    deliveredByCulprit: delivered.filter(
      (event) => culprit && event.args.operator?.toLowerCase() === culprit.address.toLowerCase(),
    ).length,
    culpritStakeLost: stakeBefore - (registration?.stake ?? 0n),
    culpritCharged: charged,
    slashes: slashEvents.map((event) => ({
      reporter: nameOf(event.args.reporter),
      amount: event.args.amount as bigint,
    })),
    firstSlashOfStake: first && {
      amount: first.args.amount as bigint,
      stake: await stakeAt((first.blockNumber as bigint) - 1n),
    },
    culpritActive: registration?.active ?? false,
    logs: operators.flatMap((operator) => (operator.log ? [operator.log] : [])),
  };
}

/** An exclusive window that outlasts the devnet seconds a burst of `requests` and its answers take. */
export function windowFor(requests: number): bigint {
  return BigInt(Math.max(60, 3 * requests));
}

export async function setWindow(devnet: Devnet, exclusiveWindow: bigint): Promise<void> {
  await devnet.sibyl.publicClient.waitForTransactionReceipt({
    hash: await devnet.sibyl.ledger.write.setOperatorParameters([
      { ...TEST_OPERATOR_PARAMETERS, exclusiveWindow },
    ]),
  });
}

/**
 * Stakes the operators (account 1 already is), then starts a daemon for each; `publicUrl` overrides,
 * and each calls peers on private addresses (all are on 127.0.0.1) unless `allowPrivatePeers` is false.
 */
export async function startDaemons(
  devnet: Devnet,
  firstPort: number,
  operators: Array<{
    name: string;
    account: number;
    publicUrl?: string;
    allowPrivatePeers?: boolean;
    env: NodeJS.ProcessEnv;
  }>,
): Promise<Daemon[]> {
  for (const operator of operators)
    if (operator.account !== 1) await registerOperator(devnet, operator.account);
  const daemons: Daemon[] = [];
  for (const [i, operator] of operators.entries()) {
    const port = firstPort + i;
    const config = await devnet.writeConfig(
      {
        database: { path: path.join(devnet.dir, `${operator.name}.db`) },
        cosigning: {
          port,
          publicUrl: operator.publicUrl ?? `http://127.0.0.1:${port}`,
          requestTimeoutMs: 2_000,
          retryAfterMs: 500,
          allowPrivatePeers: operator.allowPrivatePeers ?? true,
        },
      },
      `${operator.name}.json`,
    );
    const key = hardhatKey(operator.account);
    daemons.push({
      name: operator.name,
      address: privateKeyToAccount(key).address,
      port,
      run: devnet.startNode(config, { SIBYL_OPERATOR_KEY: key, ...operator.env }),
      log: path.join(devnet.dir, `${operator.name}.log`),
    });
  }
  await Promise.all(daemons.map(({ run }) => run.waitFor("sibyl node started", 180_000)));
  return daemons;
}

export async function stopDaemons(daemons: Daemon[]): Promise<void> {
  for (const { run, log } of daemons) {
    await run.stop("SIGTERM");
    await writeFile(log, run.text);
  }
}

/**
 * Sends one request at a time, each with the draw steered to `operator`, until `count` of them are its
 * (a transaction mined first can take the steered block); `then` runs on each of those before the next
 * is sent. Returns every request sent, in order.
 */
async function sendSteered(
  devnet: Devnet,
  operator: Hex,
  count: number,
  model: Hex,
  inputOf: (i: number) => Hex,
  then: (requestId: bigint) => Promise<void> = async () => undefined,
): Promise<bigint[]> {
  const { coordinator } = devnet.sibyl;
  const ids: bigint[] = [];
  let steered = 0;
  while (steered < count) {
    if (ids.length >= count * 5) throw new Error(`could not steer ${count} requests to ${operator}`);
    await assignNextRequestTo(devnet.connection, devnet.sibyl, operator, model);
    const [id] = await sendRequests(devnet, 1, model, () => inputOf(ids.length));
    ids.push(id as bigint);
    const [event] = await coordinator.getEvents.InferenceRequested({ requestId: id }, { fromBlock: 0n });
    if (event?.args.commitment?.operator.toLowerCase() !== operator.toLowerCase()) continue;
    steered++;
    await then(id as bigint);
  }
  return ids;
}

/** An operator's co-signing endpoint that signs any answer it is asked about: an equivocator's. */
async function startYesMan(account: LocalAccount, domain: StatementDomain) {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as CosignRequest;
      const statement = {
        requestId: BigInt(body.requestId),
        outputHash: body.outputHash,
        status: body.status,
      };
      const signature = await signStatement(account, domain, statement);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ outputHash: body.outputHash, status: body.status, signature }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Asks a daemon to co-sign until it has read the request and run the model (404 and 503 until then);
 * an honest one refuses.
 */
async function askUntilRead(port: number, statement: ResultStatement, signature: Hex): Promise<void> {
  const body = JSON.stringify({
    requestId: String(statement.requestId),
    outputHash: statement.outputHash,
    status: statement.status,
    signature,
  });
  for (let tries = 0; tries < 100; tries++) {
    const response = await fetch(`http://127.0.0.1:${port}/v1/cosign`, { method: "POST", body });
    if (response.status === 409) return;
    if (response.status !== 404 && response.status !== 503)
      throw new Error(`the daemon on ${port} answered ${response.status}, not 409: ${await response.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the daemon on ${port} never read request ${statement.requestId}`);
}

/** A co-signing endpoint that accepts connections and never answers: dropped peer traffic. */
async function startBlackhole() {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
