/**
 * Serves the prebuilt explorer page, the one thing it cannot know by itself: which chain and
 * coordinator to read (GET /config.json), and a read-only proxy to the RPC (POST /rpc), so the RPC URL
 * and any key in it stay on this server. What the page shows is only as trustworthy as that RPC.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { PACKAGE_ROOT } from "../node/packageRoot.js";
import { SibylError } from "../shared/errors.js";
import { proxyRpc } from "./rpcProxy.js";

/** Where `npm run build:explorer` writes the page: the package root, in a clone or installed. */
export const EXPLORER_DIST = path.join(PACKAGE_ROOT, "dist-explorer");

/** Which chain the page reads; the query string (?rpc=…&coordinator=…) can override each field. */
export interface ExplorerConfig {
  /** Never given to the page: it reads the chain through this server's /rpc. */
  rpcUrl: string;
  coordinator: string;
  /** The coordinator's deployment block, where event scans start. */
  fromBlock: string;
}

export interface ExplorerServer {
  url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

export class ExplorerServerError extends SibylError {
  override name = "ExplorerServerError";
}

export async function startExplorerServer(options: {
  config: ExplorerConfig;
  port: number;
  host?: string;
  dist?: string;
}): Promise<ExplorerServer> {
  const dist = options.dist ?? EXPLORER_DIST;
  if (!existsSync(path.join(dist, "index.html"))) {
    throw new ExplorerServerError(`the explorer page is not built (${dist}): run npm run build:explorer`);
  }
  const server = createServer((request, response) => {
    const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
    if (pathname === "/config.json") {
      response.writeHead(200, { "content-type": TYPES[".json"], "cache-control": "no-store" });
      // The proxy's address, relative to the page's: the RPC URL itself may carry a key.
      response.end(JSON.stringify({ ...options.config, rpcUrl: "rpc" }));
      return;
    }
    if (pathname === "/rpc") {
      proxyRpc(options.config.rpcUrl, request, response).catch(() => response.destroy());
      return;
    }
    const file = path.join(dist, pathname === "/" ? "index.html" : path.normalize(pathname));
    // path.join normalises "..": anything that lands outside the build folder is not served.
    if (!file.startsWith(dist + path.sep)) {
      response.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        response.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
        response.end(body);
      },
      () => response.writeHead(404).end("not found"),
    );
  });
  const host = options.host ?? "127.0.0.1";
  await listen(server, options.port, host).catch((error: NodeJS.ErrnoException) => {
    throw new ExplorerServerError(
      `cannot serve the explorer on ${host}:${options.port} (${error.code ?? error.message})`,
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A browser keeps connections alive; they must not hold the process open.
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
