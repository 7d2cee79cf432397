/**
 * Where other operators ask this node to co-sign a quorum model's result. A request names the result
 * and carries the asker's own signature of it, so it is authenticated by an operator key: only the
 * request's current assignee (as this node read it from the chain) is answered. This node answers from
 * its own run of the model, never from the asker's output, and signs at most one answer per request.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Hex, isHex } from "viem";
import type { LocalAccount } from "viem/accounts";
import type { ResultPayload } from "../../shared/encoding.js";
import type { Logger } from "../observe/logger.js";
import type { JobStore, SignedStatement } from "../store/store.js";
import { type StatementDomain, sameAnswer, signerOf, signStatement, statementOf } from "./statement.js";

/** A co-signing request's body: the result and the asker's signature of its statement. */
export interface CosignRequest {
  requestId: string;
  outputHash: Hex;
  status: number;
  signature: Hex;
}

export interface PeerServerOptions {
  host: string;
  port: number;
  account: LocalAccount;
  domain: StatementDomain;
  store: JobStore;
  /** This node's own answer to a request it has read, running the model if it has none yet. */
  ownAnswer: (requestId: bigint) => Promise<ResultPayload | undefined>;
  logger: Logger;
}

export interface PeerServer {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4_096;

export async function startPeerServer(options: PeerServerOptions): Promise<PeerServer> {
  const { logger } = options;
  const server = createServer((request, response) => {
    handle(options, request, response).catch((error: unknown) => {
      logger.error({ err: error }, "co-signing request failed");
      if (!response.headersSent) send(response, 500, { error: "internal error" });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  logger.info({ url }, "co-signing listening");
  return {
    url,
    close: () =>
      new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function handle(options: PeerServerOptions, request: IncomingMessage, response: ServerResponse) {
  const path = request.url?.split("?", 1)[0];
  if (path !== "/v1/cosign") return send(response, 404, { error: "not found" });
  if (request.method !== "POST") return send(response, 405, { error: "method not allowed" });
  const body = parseRequest(await readBody(request));
  if (body === undefined) return send(response, 400, { error: "malformed co-signing request" });
  const requestId = BigInt(body.requestId);
  const asked = { requestId, outputHash: body.outputHash, status: body.status };
  const job = await options.store.job(requestId);
  // Only what this node read from the chain itself: an unknown id may be one it has not read yet.
  if (job === undefined) return send(response, 404, { error: "request not read from the chain" });
  const asker = await signerOf(options.domain, asked, body.signature);
  if (asker === undefined || asker.toLowerCase() !== job.commitment.operator.toLowerCase()) {
    return send(response, 403, { error: "not signed by the request's assignee" });
  }
  await keepStatement(options.store, options.logger, {
    signer: asker,
    statement: asked,
    signature: body.signature,
  });
  const answer = await options.ownAnswer(requestId);
  if (answer === undefined) return send(response, 503, { error: "no answer of its own yet" });
  const mine = statementOf(requestId, answer);
  const verdict = await options.store.markSigned(requestId, answerKey(mine));
  if (verdict === "another") return send(response, 409, { error: "signed another answer to this request" });
  if (verdict === "unknown") {
    // Its database is newer than the request: it may have signed it before, with a record now lost.
    return send(response, 409, { error: "cannot rule out having signed this request before" });
  }
  const signature = await signStatement(options.account, options.domain, mine);
  const reply = { outputHash: mine.outputHash, status: mine.status, signature };
  if (!sameAnswer(mine, asked)) {
    options.logger.debug(
      { requestId: String(requestId), asker, theirs: asked.outputHash, mine: mine.outputHash },
      "refused to co-sign: a different answer",
    );
    return send(response, 409, reply);
  }
  send(response, 200, reply);
}

/** Keeps another operator's signed statement, and says so loudly when it proves an equivocation. */
export async function keepStatement(store: JobStore, logger: Logger, signed: SignedStatement): Promise<void> {
  const equivocation = await store.recordStatement(signed);
  if (equivocation === undefined) return;
  logger.warn(
    {
      operator: equivocation.signer,
      requestId: String(signed.statement.requestId),
      answers: [equivocation.a.statement.outputHash, equivocation.b.statement.outputHash],
    },
    "equivocation: an operator signed two answers to one request; reporting it",
  );
}

/** How an answer is recorded as signed: output hash and status. */
export function answerKey(statement: { outputHash: Hex; status: number }): string {
  return `${statement.outputHash}:${statement.status}`;
}

function parseRequest(text: string | undefined): CosignRequest | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const { requestId, outputHash, status, signature } = (value ?? {}) as Partial<CosignRequest>;
  const ok =
    typeof requestId === "string" &&
    /^[0-9]{1,78}$/.test(requestId) &&
    isHex(outputHash) &&
    outputHash.length === 66 &&
    Number.isInteger(status) &&
    (status as number) >= 0 &&
    (status as number) < 256 &&
    isHex(signature) &&
    signature.length === 132;
  return ok ? { requestId, outputHash, status: status as number, signature } : undefined;
}

async function readBody(request: IncomingMessage): Promise<string | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response
    .writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
    .end(JSON.stringify(body));
}
