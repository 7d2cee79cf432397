/**
 * Requesters must not pay for the operator's faults. A node whose API key the model server refuses,
 * whose quota is spent, whose model the server does not have, or whose server is down past its
 * retries answers NOTHING onchain for that model: the model stops on the node (`/readyz` 503 naming
 * it, a metric, one error line), its requests wait, and once the fault is mended the node's probe
 * sees it and every request is answered Ok, once. Errors about the request itself are still answered,
 * with fixed texts that carry none of the server's words.
 *
 * Processes: `hardhat node`, `sibyl node`, and the OpenAI-protocol server the real SDK talks to.
 */
import assert from "node:assert/strict";
import path from "node:path";
import Database from "better-sqlite3";
import { type Hex, hexToString, toHex } from "viem";
import type { ModelSpecInput } from "../../src/node/models/registry.js";
import { modelIdFromName, ResultStatus } from "../../src/shared/encoding.js";
import { type Devnet, sendRequests, startDevnet } from "../helpers/devnet.js";
import { FakeOpenAIServer } from "../helpers/openaiServer.js";
import type { ChildRun } from "../helpers/processes.js";
import { until } from "../helpers/wait.js";
import { settle, tally } from "./harness.js";

/** What the model server says, that must reach neither the chain nor /readyz nor the metrics. */
const SERVER_WORDS = /corp\.example|internal-gpu|Incorrect API key|wrong-ke|does not exist/;
const INTERNAL_URL = "https://internal-gpu-7.corp.example:8000/v1";

interface FaultyModel {
  name: string;
  /** The fixed category /readyz, the log and the metric name it by. */
  fault: string;
  /** Breaks the server for this model; `mend` undoes it. */
  breakIt: (server: FakeOpenAIServer) => void;
  mend: (server: FakeOpenAIServer) => void;
}

const FAULTY: FaultyModel[] = [
  {
    name: "auth-fault",
    fault: "authentication failed",
    // The server takes another key than the node sends, until it "starts accepting" the node's.
    breakIt: (server) => server.requireKey("auth-fault", "rotated-key"),
    mend: (server) => server.requireKey("auth-fault", "test-key"),
  },
  {
    name: "quota-fault",
    fault: "quota exhausted",
    breakIt: (server) => server.failModel("quota-fault", { kind: "rateLimit", code: "insufficient_quota" }),
    mend: (server) => server.failModel("quota-fault", undefined),
  },
  {
    name: "missing-model",
    fault: "model not found",
    breakIt: (server) =>
      server.failModel("missing-model", {
        kind: "status",
        status: 404,
        code: "model_not_found",
        message: `The model missing-model does not exist at ${INTERNAL_URL}`,
      }),
    mend: (server) => server.failModel("missing-model", undefined),
  },
  {
    name: "server-down",
    fault: "server unreachable",
    breakIt: (server) => server.failModel("server-down", { kind: "reset" }),
    mend: (server) => server.failModel("server-down", undefined),
  },
];

const REQUESTS_PER_MODEL = 2;
/** An input the server never answers, while it answers every other one at once. */
const POISON = "an input the model never finishes";

describe("reliability: operator faults stop the model instead of answering with a paid error", function () {
  this.timeout(300_000);
  const server = new FakeOpenAIServer();
  let closeServer: () => Promise<void>;
  let devnet: Devnet;
  let node: ChildRun;
  let api: string;
  let fromBlock: bigint;
  const sent = new Map<string, bigint[]>();

  before(async () => {
    const { url, close } = await server.start();
    closeServer = close;
    const openai = (name: string, maxAttempts = 3): ModelSpecInput => ({
      provider: "openai",
      name,
      model: name,
      baseURL: url,
      timeoutMs: 2_000,
      maxAttempts,
    });
    devnet = await startDevnet([
      ...FAULTY.map((model) => openai(model.name, model.name === "server-down" ? 2 : 3)),
      openai("healthy"),
      openai("too-long"),
      openai("refuses"),
      openai("oversize"),
      { ...openai("slow-one", 1), timeoutMs: 1_000 },
    ]);
    for (const model of FAULTY) model.breakIt(server);
    server.failModel("too-long", {
      kind: "status",
      status: 400,
      code: "context_length_exceeded",
      param: "messages",
      message: `This model's maximum context length is 8192 tokens (served by ${INTERNAL_URL})`,
    });
    server.failModel("refuses", { kind: "refusal" });
    server.failModel("oversize", { kind: "longAnswer", bytes: 2_000 });
    server.failInput(POISON, { kind: "hang" });
    node = devnet.startNode(
      await devnet.writeConfig({
        execution: { concurrency: 16, probeAfterMs: 500, maxProbeAfterMs: 2_000 },
        batching: { maxSize: 16, maxWaitMs: 300 },
      }),
    );
    await node.waitFor("sibyl node started", 120_000);
    api = (startedLine(node.text) as { api: string }).api;
  });

  after(async () => {
    if (node?.running) {
      const exit = await node.stop("SIGTERM");
      assert.equal(exit.code, 0, node.tail());
    }
    await devnet?.stop();
    await closeServer?.();
  });

  it("answers nothing onchain for a wrong key, a spent quota, a missing model or a server down, and says so", async () => {
    fromBlock = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    for (const model of FAULTY) {
      const ids = await sendRequests(devnet, REQUESTS_PER_MODEL, modelIdFromName(model.name), (i) =>
        toHex(`${model.name} ${i}`),
      );
      sent.set(model.name, ids);
    }
    // A healthy model on the same node is answered meanwhile: the pipeline runs, batches go out.
    const healthy = await sendRequests(devnet, 2, modelIdFromName("healthy"), (i) => toHex(`fine ${i}`));
    const healthyResult = await settle(devnet, healthy, fromBlock, 120_000);
    assert.equal(healthyResult.answeredOk, 2, node.tail());

    const report = await until(async () => {
      const response = await fetch(`${api}/readyz`);
      const body = (await response.json()) as { checks: { models: { detail: string } } };
      const detail = body.checks.models.detail;
      return response.status === 503 && FAULTY.every((m) => detail.includes(`model ${m.name}: ${m.fault}`))
        ? { body, detail }
        : undefined;
    }, 60_000);
    assert.equal(
      report.detail.split("; ").sort().join("; "),
      FAULTY.map((m) => `model ${m.name}: ${m.fault}`)
        .sort()
        .join("; "),
      "fixed texts, nothing else",
    );
    assert.doesNotMatch(JSON.stringify(report.body), SERVER_WORDS);

    // Probes keep asking (a real call each), and still nothing is answered.
    const callsOf = (model: string) =>
      server.requests.filter((call) => (call.body as { model?: unknown })?.model === model).length;
    await until(() => (callsOf("auth-fault") >= REQUESTS_PER_MODEL + 2 ? true : undefined), 30_000);
    const ids = FAULTY.flatMap((model) => sent.get(model.name) as bigint[]);
    const result = await tally(devnet, ids, fromBlock);
    assert.equal(result.lost, ids.length, "no faulty request was answered onchain");
    assert.equal(result.deliveries.size, 2, "only the healthy ones");

    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.doesNotMatch(metrics, SERVER_WORDS);
    for (const model of FAULTY) {
      assert.match(metrics, new RegExp(`sibyl_model_unavailable\\{model="${model.name}"\\} 1\\n`));
      assert.match(
        metrics,
        new RegExp(`sibyl_operator_faults_total\\{model="${model.name}",fault="${model.fault}"\\} [1-9]`),
      );
    }
    assert.match(metrics, /sibyl_model_unavailable\{model="healthy"\} 0\n/);

    // Once per change of state: the stop is one warning, the failed probes since are debug lines.
    const loudLines = logLines(node.text).filter((line) => line.level >= 40);
    for (const model of FAULTY) {
      const about = loudLines.filter((line) => line.msg?.startsWith(`model ${model.name} `));
      assert.deepEqual(
        about.map((line) => [line.level, line.msg?.split(";")[0]]),
        [[40, `model ${model.name} stopped: ${model.fault}`]],
        `one line for ${model.name}:\n${node.tail()}`,
      );
    }
    assert.ok(!node.text.includes("/account/api-keys"), "the server's URL is cut to its host in the log");

    // The requests wait, unanswered, where the node will pick them up again.
    const db = new Database(path.join(devnet.dir, "node.db"), { readonly: true, fileMustExist: true });
    try {
      const rows = db
        .prepare(`SELECT state, note FROM jobs WHERE request_id IN (${ids.map(() => "?").join(",")})`)
        .all(...ids.map(String)) as Array<{ state: string; note: string | null }>;
      assert.equal(rows.length, ids.length);
      for (const row of rows) {
        assert.ok(row.state === "received" || row.state === "running", row.state);
        assert.doesNotMatch(row.note ?? "", SERVER_WORDS);
      }
    } finally {
      db.close();
    }
  });

  it("resumes each model once its fault is mended, and answers every waiting request Ok, once", async () => {
    for (const model of FAULTY) model.mend(server);
    const ids = FAULTY.flatMap((model) => sent.get(model.name) as bigint[]);
    const result = await settle(devnet, ids, fromBlock, 120_000);
    assert.equal(result.answeredOk, ids.length, node.tail());
    assert.equal(result.doubleAnswered, 0);
    for (const [id, [delivery]] of result.deliveries) {
      if (!ids.includes(id)) continue;
      assert.match(hexToString(delivery?.output as Hex), /^echo:/);
    }

    const ready = await until(async () => {
      const response = await fetch(`${api}/readyz`);
      return response.status === 200 ? response : undefined;
    }, 30_000);
    assert.equal(((await ready.json()) as { ready: boolean }).ready, true);
    const metrics = await (await fetch(`${api}/metrics`)).text();
    for (const model of FAULTY) {
      assert.match(metrics, new RegExp(`sibyl_model_unavailable\\{model="${model.name}"\\} 0\\n`));
      assert.ok(
        logLines(node.text).some((line) => line.msg === `model ${model.name} resumed`),
        `${model.name} resumed`,
      );
    }
  });

  it("still answers errors about the request itself, with fixed texts and none of the server's words", async () => {
    const from = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const cases = [
      {
        model: "healthy",
        input: "0xfffe68" as Hex,
        status: ResultStatus.InvalidInput,
        text: "invalid input: not UTF-8",
      },
      {
        model: "too-long",
        input: toHex("a long story"),
        status: ResultStatus.InvalidInput,
        text: "invalid input: too long for the model",
      },
      {
        model: "refuses",
        input: toHex("something bad"),
        status: ResultStatus.ModelError,
        text: "refused by model",
      },
      {
        model: "oversize",
        input: toHex("go on"),
        status: ResultStatus.OutputTooLarge,
        text: "output too large",
      },
    ];
    const ids = await sendRequests(
      devnet,
      cases.length,
      (i) => modelIdFromName(cases[i]?.model as string),
      (i) => cases[i]?.input as Hex,
    );
    const result = await settle(devnet, ids, from, 120_000);
    assert.equal(result.answeredError, cases.length, node.tail());
    const events = await devnet.sibyl.coordinator.getEvents.ResultDelivered({}, { fromBlock: from });
    for (const [index, expected] of cases.entries()) {
      const event = events.find((candidate) => candidate.args.requestId === ids[index]);
      assert.equal(event?.args.status, expected.status, expected.model);
      assert.equal(hexToString(event?.args.output as Hex), expected.text, expected.model);
      const metadata = hexToString(event?.args.metadata as Hex);
      assert.equal(JSON.parse(metadata).error, expected.text);
      assert.doesNotMatch(metadata, SERVER_WORDS);
    }
    // The detail is in the node's log, and only there.
    assert.ok(logLines(node.text).some((line) => line.msg === "answered with an error"));
    assert.equal((await fetch(`${api}/readyz`)).status, 200, "request errors stop no model");
    assert.ok(!node.text.includes(INTERNAL_URL), "URLs are cut to their host in the log");
  });
  it("answers a request that always times out alone as a model timeout, without holding up the others", async () => {
    const from = (await devnet.sibyl.publicClient.getBlockNumber()) + 1n;
    const slowOne = modelIdFromName("slow-one");
    const [poison] = await sendRequests(devnet, 1, slowOne, () => toHex(POISON));
    await until(async () => {
      const body = await (await fetch(`${api}/readyz`)).text();
      return body.includes("model slow-one: timed out") ? true : undefined;
    }, 30_000);
    // Each other request is served (the probe passes over the poison one), and the poison one,
    // failing alone while the model answers, is answered on its third strike.
    for (let i = 0; i < 3; i++) {
      const ids = await sendRequests(devnet, 1, slowOne, () => toHex(`other ${i}`));
      const other = await settle(devnet, ids, from, 60_000);
      assert.equal(other.answeredOk, 1, node.tail());
    }
    const result = await settle(devnet, [poison as bigint], from, 60_000);
    const [delivery] = result.deliveries.get(poison as bigint) ?? [];
    assert.equal(delivery?.status, ResultStatus.ModelTimeout, node.tail());
    assert.equal(hexToString(delivery?.output as Hex), "model timeout");
    await until(async () => ((await fetch(`${api}/readyz`)).status === 200 ? true : undefined), 30_000);
  });
});

function logLines(text: string): Array<{ level: number; msg?: string; api?: string }> {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level: number; msg?: string; api?: string });
}

function startedLine(text: string) {
  return logLines(text).find((line) => line.msg === "sibyl node started");
}
