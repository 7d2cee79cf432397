import assert from "node:assert/strict";
import { once } from "node:events";
import { connect } from "node:net";
import { after, before, describe, it } from "mocha";
import { type ApiServer, type HealthReport, startApiServer } from "../../../src/node/observe/api.js";
import { createLogger } from "../../../src/node/observe/logger.js";
import { createMetrics, type Metrics } from "../../../src/node/observe/metrics.js";
import { sampleValue } from "./prometheus.js";

const logger = createLogger({ level: "silent", format: "json" });

function start(metrics: Metrics, health: () => HealthReport): Promise<ApiServer> {
  return startApiServer({ host: "127.0.0.1", port: 0, metrics, health, logger });
}

describe("startApiServer", () => {
  let report: HealthReport;
  let metrics: Metrics;
  let server: ApiServer;

  before(async () => {
    report = { ready: false, checks: { rpc: { ok: true }, prover: { ok: false, detail: "warming up" } } };
    metrics = createMetrics();
    server = await start(metrics, () => report);
  });
  after(() => server.close());

  it("listens on a real port when asked for port 0 and reports it in the url", () => {
    assert.notEqual(server.port, 0);
    assert.equal(server.url, `http://127.0.0.1:${server.port}`);
  });

  it("answers /healthz while the process runs, query string or not", async () => {
    for (const path of ["/healthz", "/healthz?probe=1"]) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
      assert.deepEqual(await response.json(), { status: "ok" });
    }
  });

  it("answers /readyz with 503 until the node is ready, then 200, with the report either way", async () => {
    const notReady = await fetch(`${server.url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(await notReady.json(), report);

    report = { ready: true, checks: { rpc: { ok: true }, prover: { ok: true } } };
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), report);
  });

  it("serves the node's metrics in Prometheus text format", async () => {
    metrics.requestsTotal.inc({ model: "llama" }, 3);
    metrics.jobsByState.set({ state: "proving" }, 4);

    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), metrics.registry.contentType);
    const text = await response.text();
    assert.equal(sampleValue(text, 'sibyl_requests_total{model="llama"}'), 3);
    assert.equal(sampleValue(text, 'sibyl_jobs{state="proving"}'), 4);
  });

  it("answers 404 for unknown paths and 405 for methods other than GET", async () => {
    assert.equal((await fetch(`${server.url}/`)).status, 404);
    assert.equal((await fetch(`${server.url}/config`)).status, 404);

    const post = await fetch(`${server.url}/readyz`, { method: "POST", body: "{}" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET");
  });
});

describe("startApiServer failures and shutdown", () => {
  it("answers 500 without the error's text when the health check throws", async () => {
    const secret = "https://eth-mainnet.example/v2/s3cr3t-api-key";
    const server = await start(createMetrics(), () => {
      throw new Error(`cannot reach ${secret}`);
    });
    try {
      const response = await fetch(`${server.url}/readyz`);
      assert.equal(response.status, 500);
      assert.ok(!(await response.text()).includes("s3cr3t"));
    } finally {
      await server.close();
    }
  });

  it("closes promptly while a client holds a connection open mid-request", async function () {
    // Fail fast here rather than at the suite timeout if close() ever waits on the client.
    this.timeout(10_000);
    const server = await start(createMetrics(), () => ({ ready: true, checks: {} }));
    const socket = connect(server.port, "127.0.0.1");
    await once(socket, "connect");
    socket.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n");
    // The server resetting this connection is the point, so a reset is not a failure here.
    socket.on("error", () => {});
    const socketClosed = new Promise((resolve) => socket.once("close", resolve));

    await server.close();
    await socketClosed;
    await assert.rejects(fetch(`${server.url}/healthz`));
  });

  it("can be closed twice", async () => {
    const server = await start(createMetrics(), () => ({ ready: true, checks: {} }));
    await Promise.all([server.close(), server.close()]);
    await server.close();
  });

  it("rejects when the port is taken", async () => {
    const first = await start(createMetrics(), () => ({ ready: true, checks: {} }));
    try {
      await assert.rejects(
        startApiServer({
          host: "127.0.0.1",
          port: first.port,
          metrics: createMetrics(),
          health: () => ({ ready: true, checks: {} }),
          logger,
        }),
        { code: "EADDRINUSE" },
      );
    } finally {
      await first.close();
    }
  });
});
