/**
 * One POST to another operator's co-signing endpoint, bounded whatever the peer does: connects to the
 * address already checked (never resolved again), asks for an uncompressed reply and refuses a
 * compressed one (nothing is ever inflated), counts the reply's raw bytes and stops past the cap,
 * follows no redirect, and gives up when `signal` fires. A hostile peer costs at most the signal's
 * time and the cap's memory.
 */
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { SibylError } from "../../shared/errors.js";
import type { PeerTarget } from "./peerAddress.js";

export interface PeerReply {
  status: number;
  /** The reply parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
}

/** A peer's reply this node would not take: a redirect, a compressed or oversized body. */
export class PeerCallError extends SibylError {
  override name = "PeerCallError";
}

export async function postToPeer(
  target: PeerTarget,
  payload: string,
  options: { maxReplyBytes: number; signal: AbortSignal },
): Promise<PeerReply> {
  const { maxReplyBytes, signal } = options;
  signal.throwIfAborted();
  const transport = target.url.protocol === "https:" ? https : http;
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const request = transport.request(
      target.url,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(payload),
          accept: "application/json",
          "accept-encoding": "identity",
        },
        lookup: pinnedLookup(target),
        // A fresh connection per call: a pooled socket could be one made to another address.
        agent: false,
        signal,
        maxHeaderSize: 8_192,
      },
      resolve,
    );
    request.on("error", reject);
    request.end(payload);
  });
  try {
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400) throw new PeerCallError(`redirected (${status}): not followed`);
    const encoding = response.headers["content-encoding"];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity")
      throw new PeerCallError(`a ${encoding}-encoded reply: not inflated`);
    const declared = Number(response.headers["content-length"] ?? 0);
    if (declared > maxReplyBytes) throw new PeerCallError(`a reply of ${declared} bytes, over the cap`);
    const text = await readCapped(response, maxReplyBytes, signal);
    return { status, body: parseJson(text) };
  } finally {
    response.destroy();
  }
}

/** The reply's bytes as text, stopping with an error once they pass `maxBytes`. */
async function readCapped(response: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<string> {
  const onAbort = () => response.destroy(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) throw new PeerCallError(`a reply over ${maxBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
    signal.throwIfAborted();
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A lookup that answers the checked address whatever it is asked, as one address or as a list. */
function pinnedLookup(target: PeerTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}
