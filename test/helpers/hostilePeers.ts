/**
 * Co-signing endpoints an attacker would publish, as real HTTP servers on 127.0.0.1: a reply that never
 * ends, a gzip bomb, a reply dripped a byte at a time, a redirect elsewhere, a refusal of every ask
 * with one status, and a plain listener (an internal service an SSRF would reach) that counts whatever
 * reaches it.
 */
import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { createGzip } from "node:zlib";

export type Attack =
  | { kind: "huge-body"; bytes: number }
  | { kind: "gzip-bomb"; body: Buffer }
  | { kind: "slow-drip"; everyMs: number }
  | { kind: "redirect"; to: string; status: number }
  /** Every ask answered `status` with a short JSON error: a co-signature withheld. */
  | { kind: "refuse"; status: number }
  | { kind: "listener" };

export interface HostilePeer {
  url: string;
  /** TCP connections accepted, HTTP requests read, and body bytes the server got onto the wire. */
  readonly connections: number;
  readonly requests: number;
  readonly bytesSent: number;
  close(): Promise<void>;
}

/** A gzip stream whose body inflates to a JSON object of `inflatedBytes`, made without holding it. */
export async function gzipBomb(inflatedBytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on("data", (chunk: Buffer) => out.push(chunk));
  const chunk = Buffer.alloc(1 << 20, "a");
  gzip.write('{"signature":"0x');
  for (let written = 0; written < inflatedBytes; written += chunk.length)
    if (!gzip.write(chunk)) await once(gzip, "drain");
  gzip.end('"}');
  await once(gzip, "end");
  return Buffer.concat(out);
}

export async function startHostilePeer(attack: Attack): Promise<HostilePeer> {
  const counts = { connections: 0, requests: 0, bytesSent: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((request, response) => {
    counts.requests++;
    request.resume();
    request.on("end", () => void serve(attack, response, counts, timers));
  });
  server.on("connection", (socket: Socket) => {
    counts.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return counts.connections;
    },
    get requests() {
      return counts.requests;
    },
    get bytesSent() {
      return counts.bytesSent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearInterval(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function serve(
  attack: Attack,
  response: ServerResponse,
  counts: { bytesSent: number },
  timers: Set<NodeJS.Timeout>,
): Promise<void> {
  const send = (chunk: Buffer | string) => {
    counts.bytesSent += Buffer.byteLength(chunk);
    return response.write(chunk);
  };
  response.on("error", () => undefined);
  switch (attack.kind) {
    case "huge-body": {
      response.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(1 << 20, "a");
      send('{"signature":"0x');
      for (let sent = 0; sent < attack.bytes && !response.destroyed; sent += chunk.length) {
        if (!send(chunk)) await drainedOrClosed(response);
      }
      response.end('"}');
      return;
    }
    case "gzip-bomb":
      response.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
      send(attack.body);
      response.end();
      return;
    case "slow-drip": {
      response.writeHead(200, { "content-type": "application/json" });
      send("{");
      const timer = setInterval(() => {
        if (response.destroyed) clearInterval(timer);
        else send(" ");
      }, attack.everyMs);
      timers.add(timer);
      response.on("close", () => clearInterval(timer));
      return;
    }
    case "redirect":
      response.writeHead(attack.status, { location: attack.to }).end();
      return;
    case "refuse":
      response.writeHead(attack.status, { "content-type": "application/json" });
      send('{"error":"not signing"}');
      response.end();
      return;
    case "listener":
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
      return;
  }
}

function drainedOrClosed(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}
