/**
 * The node's operational HTTP API: liveness, readiness and Prometheus metrics. It serves only what
 * orchestrators and scrapers need and never echoes configuration, so nothing secret can leak.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";

/**
 * What the node reports to `/readyz`. Check details are served verbatim, so they are fixed category
 * texts ("listener: rpc unreachable", "model gpt-x: authentication failed"), never error text.
 */
export interface HealthReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
  /** Of an operator's replicas sharing one store, the one that leads does the work; the others stand by. */
  role?: "leader" | "standby";
  /** Since when (ISO time) this replica has had its role. */
  since?: string;
}

export interface ApiServerOptions {
  host: string;
  /** 0 picks a free port; the real one is in the result. */
  port: number;
  metrics: Metrics;
  health: () => HealthReport;
  logger: Logger;
}

export interface ApiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

type Route = (response: ServerResponse) => Promise<void> | void;

export async function startApiServer({
  host,
  port,
  metrics,
  health,
  logger,
}: ApiServerOptions): Promise<ApiServer> {
  const routes = new Map<string, Route>([
    // Liveness: answering at all is the signal, so this never depends on the node's state.
    ["/healthz", (response) => sendJson(response, 200, { status: "ok" })],
    [
      "/readyz",
      (response) => {
        const report = health();
        sendJson(response, report.ready ? 200 : 503, report);
      },
    ],
    [
      "/metrics",
      async (response) => {
        const body = await metrics.registry.metrics();
        response.writeHead(200, { "content-type": metrics.registry.contentType }).end(body);
      },
    ],
  ]);

  const server = createServer((request, response) => {
    handle(routes, request, response).catch((error: unknown) => {
      logger.error({ err: error, path: request.url }, "api request failed");
      if (!response.headersSent) sendJson(response, 500, { error: "internal error" });
      else response.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => logger.error({ err: error }, "api server error"));

  const actualPort = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${actualPort}`;
  logger.info({ url }, "api listening");

  let closing: Promise<void> | undefined;
  return {
    url,
    port: actualPort,
    close() {
      closing ??= new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // A scraper's keep-alive connection would otherwise hold shutdown open until it times out.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

async function handle(
  routes: ReadonlyMap<string, Route>,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const path = request.url?.split("?", 1)[0] ?? "/";
  const route = routes.get(path);
  if (!route) return sendJson(response, 404, { error: "not found" });
  if (request.method !== "GET") {
    response.setHeader("allow", "GET");
    return sendJson(response, 405, { error: "method not allowed" });
  }
  await route(response);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response
    .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
    .end(JSON.stringify(body));
}
