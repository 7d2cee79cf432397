/**
 * A TCP proxy in front of a JSON-RPC endpoint that a test can take down and bring back, so a client
 * loses its RPC while the chain behind it (a `hardhat node`, whose state a restart would lose) keeps
 * running. Down, it either refuses connections (nothing listens on the port) or accepts them and never
 * answers (a black hole, what a dead load balancer looks like); either way open connections are cut.
 */
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";

export type OutageMode = "refuse" | "hang";

export class RpcProxy {
  readonly #target: URL;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #port = 0;
  #mode: OutageMode | undefined;

  private constructor(target: string) {
    this.#target = new URL(target);
  }

  /** Starts a proxy to `target` (an http:// URL) on a free local port. */
  static async start(target: string): Promise<RpcProxy> {
    const proxy = new RpcProxy(target);
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
    this.#cutAll();
    if (mode === "refuse") await this.#close();
  }

  /** Forwards again, on the same port; connections swallowed while down are cut so clients retry. */
  async up(): Promise<void> {
    this.#mode = undefined;
    this.#cutAll();
    if (this.#server === undefined) await this.#listen();
  }

  async stop(): Promise<void> {
    this.#mode = "refuse";
    this.#cutAll();
    await this.#close();
  }

  async #listen(): Promise<void> {
    const server = createServer((client) => this.#accept(client));
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

  #accept(client: Socket): void {
    this.#track(client);
    if (this.#mode === "hang") return;
    const upstream = connect(Number(this.#target.port), this.#target.hostname);
    this.#track(upstream);
    client.pipe(upstream).pipe(client);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", cut).on("close", cut);
    upstream.on("error", cut).on("close", cut);
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  }

  #cutAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}
