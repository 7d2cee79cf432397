/**
 * The explorer's read-only JSON-RPC proxy (POST /rpc): the page reads the chain through it, so the RPC
 * URL the explorer was started with — often a provider's, with its API key in the path or query — never
 * reaches a browser, and a visitor can spend that key on nothing but the reads the page makes.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/** What the page (and the SDK's verification in it) reads; nothing that writes, signs or subscribes. */
export const READ_METHODS: ReadonlySet<string> = new Set([
  "eth_chainId",
  "net_version",
  "eth_blockNumber",
  "eth_call",
  "eth_getCode",
  "eth_getBalance",
  "eth_getStorageAt",
  "eth_getLogs",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
]);

/** The largest request the page sends is a getLogs filter or a batch of a few calls. */
export const MAX_RPC_BODY_BYTES = 64 * 1024;
const MAX_BATCH = 100;
const UPSTREAM_TIMEOUT_MS = 30_000;

interface RpcCall {
  jsonrpc: "2.0";
  id?: unknown;
  method: string;
  params?: unknown;
}

/** Answers one POST /rpc: checks every call against READ_METHODS, then forwards it to `upstream`. */
export async function proxyRpc(upstream: string, request: IncomingMessage, response: ServerResponse) {
  if (request.method !== "POST") return refuse(response, 405, null, "POST a JSON-RPC request");
  // Only the page itself: another site's script must not spend the key through a visitor's browser.
  const origin = request.headers.origin;
  if (origin !== undefined && hostOf(origin) !== request.headers.host)
    return refuse(response, 403, null, "not from the explorer's own page");
  const text = await readCapped(request);
  if (text === undefined) return refuse(response, 413, null, `a request over ${MAX_RPC_BODY_BYTES} bytes`);
  const calls = parseCalls(text);
  if (calls === undefined) return refuse(response, 400, null, "not a JSON-RPC request");
  const writer = calls.find((call) => !READ_METHODS.has(call.method));
  if (writer !== undefined)
    return refuse(
      response,
      403,
      writer.id ?? null,
      `${writer.method} is not a read: the explorer only reads`,
    );
  let reply: Response;
  try {
    reply = await fetch(upstream, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: text,
      redirect: "error",
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch {
    // The error would name the upstream URL, key included: say only that it failed.
    return refuse(response, 502, null, "the chain's RPC did not answer");
  }
  response.writeHead(reply.status, {
    "content-type": reply.headers.get("content-type") ?? "application/json",
    "cache-control": "no-store",
  });
  response.end(Buffer.from(await reply.arrayBuffer()));
}

function parseCalls(text: string): RpcCall[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const calls = Array.isArray(value) ? value : [value];
  if (calls.length === 0 || calls.length > MAX_BATCH) return undefined;
  const wellFormed = calls.every(
    (call) =>
      typeof call === "object" &&
      call !== null &&
      (call as RpcCall).jsonrpc === "2.0" &&
      typeof (call as RpcCall).method === "string",
  );
  return wellFormed ? (calls as RpcCall[]) : undefined;
}

async function readCapped(request: IncomingMessage): Promise<string | undefined> {
  if (Number(request.headers["content-length"] ?? 0) > MAX_RPC_BODY_BYTES) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_RPC_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function refuse(response: ServerResponse, status: number, id: unknown, message: string): void {
  response.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" });
  response.end(JSON.stringify({ jsonrpc: "2.0", id, error: { code: -32601, message } }));
}

function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}
