/**
 * An HTTP proxy in front of a JSON-RPC endpoint that a test can take down and bring back, so a client
 * loses its RPC while the chain behind it (a `hardhat node`, whose state a restart would lose) keeps
 * running. Down, it either refuses connections (nothing listens on the port) or accepts requests and
 * never answers (a black hole, what a dead load balancer looks like); either way open connections are
 * cut. It can also go down at the moment a given JSON-RPC method is called, to hit one exact step, or
 * hold each request until a test's hook has seen it (a mempool watcher acting before a transaction
 * reaches the chain).
 */
import { once } from "node:events";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";

export type OutageMode = "refuse" | "hang";

/** One JSON-RPC call of a request body. */
export interface RpcCall {
  method: string;
  params?: unknown[];
}

export interface RpcProxyOptions {
  /** Runs on each request's calls before it is forwarded; the request waits for it. */
  beforeForward?: (calls: RpcCall[]) => Promise<void>;
}

export class RpcProxy {
  readonly #target: URL;
  /** Requests swallowed while down in "hang" mode, cut when the proxy comes back. */
  readonly #hanging = new Set<ServerResponse>();
  #server: Server | undefined;
  #port = 0;
  #mode: OutageMode | undefined;
  #trigger: { method: string; mode: OutageMode; fired: () => void } | undefined;

  readonly #beforeForward: RpcProxyOptions["beforeForward"];

  private constructor(target: string, options: RpcProxyOptions) {
    this.#target = new URL(target);
    this.#beforeForward = options.beforeForward;
  }

  /** Starts a proxy to `target` (an http:// URL) on a free local port. */
  static async start(target: string, options: RpcProxyOptions = {}): Promise<RpcProxy> {
    const proxy = new RpcProxy(target, options);
    await proxy.#listen();
    return proxy;
  }

  /** The proxy's URL, the same while it is down and after it is back. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get isDown(): boolean {
    return this.#mode !== undefined;
  }

  /** Cuts every open connection and refuses (or swallows) new ones until `up()`. */
  async down(mode: OutageMode = "refuse"): Promise<void> {
    this.#mode = mode;
    this.#trigger = undefined;
    this.#cutHanging();
    const server = this.#server;
    if (server === undefined) return;
    server.closeAllConnections();
    if (mode === "refuse") await this.#close();
  }

  /**
   * Goes down the moment a request calls `method` (that request is cut, never forwarded); resolves
   * once it has.
   */
  downOn(method: string, mode: OutageMode = "refuse"): Promise<void> {
    return new Promise((resolve) => {
      this.#trigger = { method, mode, fired: resolve };
    });
  }

  /** Forwards again, on the same port; requests swallowed while down are cut so clients retry. */
  async up(): Promise<void> {
    this.#mode = undefined;
    this.#trigger = undefined;
    this.#cutHanging();
    if (this.#server === undefined) await this.#listen();
  }

  async stop(): Promise<void> {
    this.#mode = "refuse";
    this.#cutHanging();
    this.#server?.closeAllConnections();
    await this.#close();
  }

  async #listen(): Promise<void> {
    const server = createServer((req, res) => void this.#handle(req, res));
    server.listen(this.#port, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("the proxy has no port");
    this.#port = address.port;
    this.#server = server;
  }

  async #close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = once(server, "close");
    server.close();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const trigger = this.#trigger;
    if (trigger && callsOf(body).some((call) => call.method === trigger.method)) {
      res.destroy();
      await this.down(trigger.mode);
      trigger.fired();
      return;
    }
    if (this.#mode === "hang") {
      this.#hanging.add(res);
      return;
    }
    if (this.#mode === "refuse") {
      res.destroy();
      return;
    }
    if (this.#beforeForward) {
      try {
        await this.#beforeForward(callsOf(body));
      } catch {
        res.destroy();
        return;
      }
    }
    const upstream = httpRequest(
      {
        hostname: this.#target.hostname,
        port: this.#target.port,
        path: this.#target.pathname,
        method: req.method,
        headers: { ...req.headers, host: this.#target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    upstream.end(body);
  }

  #cutHanging(): void {
    for (const res of this.#hanging) res.destroy();
    this.#hanging.clear();
  }
}

/** The JSON-RPC calls of a request body (one, or several in a batch). */
function callsOf(body: Buffer): RpcCall[] {
  try {
    const parsed: unknown = JSON.parse(body.toString());
    const calls = Array.isArray(parsed) ? parsed : [parsed];
    return calls.map((call) => {
      const { method, params } = call as { method?: unknown; params?: unknown };
      return { method: String(method), params: Array.isArray(params) ? params : undefined };
    });
  } catch {
    return [];
  }
}
