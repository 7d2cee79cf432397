/**
 * Model servers misbehave: rate limits, 5xx, hung sockets, resets, truncated JSON, empty choices,
 * oversized answers. One daemon serves one model per fault kind from a scripted OpenAI-protocol
 * server; every request must still be answered exactly once, before its deadline, with the status the
 * fault deserves and a fixed reason. Permanent faults (every call fails) run together: those about the
 * request are answered with an error; those that are the operator's (a server that keeps failing past
 * its retries, a spent quota) are not answered at all while they last (the model stops on the node)
 * and are answered Ok once the server is mended. Transient faults (only the next calls fail) run one
 * kind at a time, since the server's "next calls" queue is shared by every model, and must recover to
 * Ok within their retries.
 */
import { type Hex, hexToString, toHex } from "viem";
import type { ModelSpecInput } from "../../src/node/models/registry.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer, type Fault } from "../helpers/openaiServer.js";
import type { ChildRun } from "../helpers/processes.js";
import { report, type ScenarioReport, type ScenarioSize, settle, type Tally, tally } from "./harness.js";

/** A fault kind's report, with what the chain says about each answer beyond Ok or not. */
export interface ModelFaultReport extends ScenarioReport {
  model: string;
  /** The status every request of this kind must get. */
  expected: string;
  /** The statuses delivered onchain, e.g. `ModelError×4`. */
  statuses: string;
  /** Requests answered with another status (or, for Ok, another text than the model's answer). */
  wrongStatus: number;
  /** Error answers whose reason is empty or over 200 bytes. */
  badReason: number;
  /** Answers in a block past the request's deadline. */
  late: number;
  /** Calls the model server saw for this model: every attempt, once. */
  modelCalls: number;
  /** Exact, or for operator faults the least (their probes come on top). */
  expectedCalls: number;
  /** The operator fault /readyz named while the fault lasted ("" for the other kinds). */
  operatorFault: string;
  /** Requests answered while the operator fault lasted: must be 0. */
  answeredWhileBroken: number;
  /** One error reason as committed onchain, for the table. */
  reason: string;
}

interface FaultKind {
  model: string;
  injected: string;
  fault: Fault;
  expected: ResultStatus;
  maxAttempts: number;
  /** Model server calls that `requests` requests cost in all (at least, for operator faults). */
  calls: (requests: number) => number;
  /** The operator fault the node must stop the model with; such requests end Ok once mended. */
  operatorFault?: string;
}

/** Short timeouts so that hangs resolve in seconds; three attempts for everything retryable. */
const TIMEOUT_MS = 1_500;
const ATTEMPTS = 3;
const MAX_REASON_BYTES = 200;
const OVERSIZE_BYTES = 2_000;

/**
 * Every call for the model fails this way (until mended, for operator faults); retryable faults cost
 * every attempt, the others one.
 */
const PERMANENT: FaultKind[] = [
  {
    model: "fault-429",
    injected: "429 Retry-After: 1 on every call until mended",
    fault: { kind: "rateLimit", retryAfter: "1" },
    expected: ResultStatus.Ok,
    operatorFault: "rate limited",
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests * ATTEMPTS,
  },
  {
    model: "fault-quota",
    injected: "429 insufficient_quota on every call until mended",
    fault: { kind: "rateLimit", code: "insufficient_quota" },
    expected: ResultStatus.Ok,
    operatorFault: "quota exhausted",
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests,
  },
  {
    model: "fault-500",
    injected: "HTTP 500 on every call until mended",
    fault: { kind: "status", status: 500 },
    expected: ResultStatus.Ok,
    operatorFault: "server error",
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests * ATTEMPTS,
  },
  {
    model: "fault-400",
    injected: "HTTP 400 on every call",
    fault: { kind: "status", status: 400 },
    expected: ResultStatus.InvalidInput,
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests,
  },
  {
    model: "fault-hang",
    injected: `no response until mended (timeout ${TIMEOUT_MS} ms, 2 attempts)`,
    fault: { kind: "hang" },
    expected: ResultStatus.Ok,
    operatorFault: "timed out",
    maxAttempts: 2,
    calls: (requests) => requests * 2,
  },
  {
    model: "fault-reset",
    injected: "socket reset on every call until mended",
    fault: { kind: "reset" },
    expected: ResultStatus.Ok,
    operatorFault: "server unreachable",
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests * ATTEMPTS,
  },
  {
    model: "fault-malformed",
    injected: "truncated JSON body on every call until mended",
    fault: { kind: "malformed" },
    expected: ResultStatus.Ok,
    operatorFault: "server error",
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests * ATTEMPTS,
  },
  {
    model: "fault-empty",
    injected: "200 with choices: [] on every call",
    fault: { kind: "emptyChoices" },
    expected: ResultStatus.ModelError,
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests,
  },
  {
    model: "fault-null",
    injected: "200 with content: null on every call",
    fault: { kind: "nullContent" },
    expected: ResultStatus.ModelError,
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests,
  },
  {
    model: "fault-oversize",
    injected: `answer of ${OVERSIZE_BYTES} bytes (limit 1024) on every call`,
    fault: { kind: "longAnswer", bytes: OVERSIZE_BYTES },
    expected: ResultStatus.OutputTooLarge,
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests,
  },
  {
    model: "slow-ok",
    injected: `every answer after 500 ms (timeout ${TIMEOUT_MS} ms)`,
    fault: { kind: "delay", ms: 500 },
    expected: ResultStatus.Ok,
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests,
  },
];

/** Only the next `times` calls (fewer than the attempts) fail, then the server answers: each ends Ok. */
const TRANSIENT: Array<FaultKind & { times: number }> = [
  transient("flaky-429", "429 Retry-After: 1", { kind: "rateLimit", retryAfter: "1" }, 2),
  transient("flaky-503", "HTTP 503", { kind: "status", status: 503 }, 2),
  transient("flaky-hang", "no response", { kind: "hang" }, 1),
  transient("flaky-reset", "socket reset", { kind: "reset" }, 2),
  transient("flaky-malformed", "truncated JSON body", { kind: "malformed" }, 1),
];

/** Runs every fault kind at `size.requests` requests each; one report per kind. */
export async function runModelFaults(size: ScenarioSize): Promise<ModelFaultReport[]> {
  const server = new FakeOpenAIServer();
  const { url, close } = await server.start();
  const kinds = [...PERMANENT, ...TRANSIENT];
  const models: ModelSpecInput[] = kinds.map((kind) => ({
    provider: "openai",
    name: kind.model,
    model: kind.model,
    baseURL: url,
    timeoutMs: TIMEOUT_MS,
    maxAttempts: kind.maxAttempts,
  }));
  for (const kind of PERMANENT) server.failModel(kind.model, kind.fault);

  let devnet: Devnet | undefined;
  let node: ChildRun | undefined;
  let exit: Awaited<ChildRun["exited"]> | undefined;
  const reports: ModelFaultReport[] = [];
  try {
    devnet = await startDevnet(models);
    node = devnet.startNode(
      await devnet.writeConfig({
        // Every fault kind in flight at once: a hung call must not hold up the others.
        // Stopped models are probed again within two seconds, so mended ones resume quickly.
        execution: { concurrency: 128, probeAfterMs: 500, maxProbeAfterMs: 2_000 },
        batching: { maxSize: 16, maxWaitMs: 300 },
      }),
    );
    await node.waitFor("sibyl node started", 120_000);
    const running = devnet;
    // Proving dominates once every fault has resolved: allow ~2 s per answer, and two minutes at least.
    const settleMs = Math.max(120_000, size.requests * PERMANENT.length * 2_000);

    const phaseStarted = Date.now();
    const fromBlock = (await running.sibyl.publicClient.getBlockNumber()) + 1n;
    const sent: bigint[][] = [];
    for (const kind of PERMANENT) sent.push(await sendFor(running, kind, size.requests));
    const requestFaults = PERMANENT.filter((kind) => kind.operatorFault === undefined);
    await Promise.all(
      requestFaults.map((kind) =>
        settle(running, sent[PERMANENT.indexOf(kind)] as bigint[], fromBlock, settleMs),
      ),
    );
    // The operator's faults: the node must stop each model (and say which), answering none of them...
    const stopped = await stoppedModels(node, PERMANENT, settleMs);
    const whileBroken = await Promise.all(sent.map((ids) => tally(running, ids, fromBlock)));
    // ...and serve them all once the server is mended.
    for (const kind of PERMANENT) if (kind.operatorFault) server.failModel(kind.model, undefined);
    const tallies = await Promise.all(
      sent.map(async (ids) => ({
        result: await settle(running, ids, fromBlock, settleMs),
        durationMs: Date.now() - phaseStarted,
      })),
    );
    for (const [index, kind] of PERMANENT.entries()) {
      const { result, durationMs } = tallies[index] as { result: Tally; durationMs: number };
      const ids = sent[index] as bigint[];
      const report = await check(running, server, kind, ids, fromBlock, result, durationMs);
      report.operatorFault = stopped.get(kind.model) ?? "";
      report.answeredWhileBroken = kind.operatorFault ? ids.length - (whileBroken[index] as Tally).lost : 0;
      reports.push(report);
    }

    for (const kind of TRANSIENT) {
      const started = Date.now();
      const from = (await running.sibyl.publicClient.getBlockNumber()) + 1n;
      server.failNext(kind.fault, kind.times);
      const ids = await sendFor(running, kind, size.requests);
      const result = await settle(running, ids, from, settleMs);
      reports.push(await check(running, server, kind, ids, from, result, Date.now() - started));
    }
  } finally {
    exit = await node?.stop("SIGTERM");
    await devnet?.stop();
    await close();
  }
  // A daemon that died mid-run, or cannot stop cleanly, fails the scenario whatever was answered.
  if (exit?.code !== 0) throw new Error(`daemon exit ${JSON.stringify(exit)}:\n${node?.tail()}`);
  return reports;
}

/**
 * What /readyz names for each operator-fault kind, once it names them all (the node stops each model
 * after its retries are used up); model name → fault.
 */
async function stoppedModels(
  node: ChildRun,
  kinds: readonly FaultKind[],
  timeoutMs: number,
): Promise<Map<string, string>> {
  const api = node.text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg?: string; api?: string })
    .find((line) => line.msg === "sibyl node started")?.api;
  const expected = kinds.filter((kind) => kind.operatorFault !== undefined);
  const started = Date.now();
  for (;;) {
    const body = (await (await fetch(`${api}/readyz`)).json()) as { checks: { models: { detail: string } } };
    const named = new Map(
      body.checks.models.detail
        .split("; ")
        .map((entry) => /^model (\S+): (.+)$/.exec(entry))
        .filter((match) => match !== null)
        .map((match) => [match[1] as string, match[2] as string]),
    );
    if (expected.every((kind) => named.has(kind.model)) || Date.now() - started > timeoutMs) return named;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function transient(model: string, what: string, fault: Fault, times: number): FaultKind & { times: number } {
  return {
    model,
    injected: `${what} on the next ${times} call${times === 1 ? "" : "s"}, then answers`,
    fault,
    times,
    expected: ResultStatus.Ok,
    maxAttempts: ATTEMPTS,
    calls: (requests) => requests + times,
  };
}

function inputText(kind: FaultKind, index: number): string {
  return `${kind.model} request ${index}`;
}

function sendFor(devnet: Devnet, kind: FaultKind, count: number): Promise<bigint[]> {
  return sendRequests(devnet, count, modelIdFromName(kind.model), (i) => toHex(inputText(kind, i)));
}

async function check(
  devnet: Devnet,
  server: FakeOpenAIServer,
  kind: FaultKind,
  ids: readonly bigint[],
  fromBlock: bigint,
  result: Tally,
  durationMs: number,
): Promise<ModelFaultReport> {
  const { coordinator, publicClient } = devnet.sibyl;
  const modelId = modelIdFromName(kind.model);
  const requested = await coordinator.getEvents.InferenceRequested({ modelId }, { fromBlock });
  const delivered = await coordinator.getEvents.ResultDelivered({ modelId }, { fromBlock });
  const requests = new Map(requested.map((event) => [event.args.requestId as bigint, event.args]));
  const blockTimes = new Map<bigint, bigint>();
  for (const { blockNumber } of delivered) {
    if (!blockTimes.has(blockNumber))
      blockTimes.set(blockNumber, (await publicClient.getBlock({ blockNumber })).timestamp);
  }

  const statusCounts = new Map<string, number>();
  let wrongStatus = 0;
  let badReason = 0;
  let late = 0;
  let reason = "";
  for (const event of delivered) {
    const id = event.args.requestId as bigint;
    if (!ids.includes(id)) continue;
    const status = event.args.status as ResultStatus;
    const output = hexToString(event.args.output as Hex);
    const request = requests.get(id);
    const name = statusName(status);
    statusCounts.set(name, (statusCounts.get(name) ?? 0) + 1);
    if (status !== kind.expected) wrongStatus++;
    else if (status === ResultStatus.Ok && output !== `echo:${hexToString(request?.input as Hex)}`)
      wrongStatus++;
    if (status !== ResultStatus.Ok) {
      reason ||= output;
      const bytes = new TextEncoder().encode(output).length;
      if (bytes === 0 || bytes > MAX_REASON_BYTES) badReason++;
    }
    const deadline = request?.commitment?.deadline;
    if (deadline === undefined || (blockTimes.get(event.blockNumber) as bigint) > deadline) late++;
  }

  return {
    ...report("model faults", kind.injected, ids.length, result, durationMs),
    model: kind.model,
    expected: statusName(kind.expected),
    statuses: [...statusCounts].map(([name, count]) => `${name}×${count}`).join(" "),
    wrongStatus,
    badReason,
    late,
    modelCalls: server.requests.filter((call) => (call.body as { model?: unknown })?.model === kind.model)
      .length,
    expectedCalls: kind.calls(ids.length),
    operatorFault: "",
    answeredWhileBroken: 0,
    reason,
  };
}

function statusName(status: number): string {
  return Object.entries(ResultStatus).find(([, value]) => value === status)?.[0] ?? `status ${status}`;
}
