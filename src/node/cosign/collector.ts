/**
 * Asks the other active operators to co-sign one of this node's results, at the endpoints they
 * published onchain, and keeps the signatures that really are theirs over exactly this answer.
 */
import type { Address, Hex, PublicClient } from "viem";
import { sibylCoordinatorAbi } from "../../shared/abi/generated.js";
import type { Logger } from "../observe/logger.js";
import type { JobStore } from "../store/store.js";
import { type CosignRequest, keepStatement } from "./peerServer.js";
import { type ResultStatement, type StatementDomain, sameAnswer, signerOf } from "./statement.js";

export interface Peer {
  operator: Address;
  endpoint: string;
}

export interface Cosignature {
  signer: Address;
  signature: Hex;
}

/** How long the list of peers and their endpoints is reused before it is read again. */
const PEERS_TTL_MS = 10_000;
/** A peer that has not read the request, its takeover or its own answer yet is asked again this soon. */
const NOT_YET = new Set([403, 404, 503]);
const NOT_YET_RETRY_MS = 150;

export class CosignatureCollector {
  readonly #client: PublicClient;
  readonly #domain: StatementDomain;
  readonly #self: Address;
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #store: JobStore;
  #peers: { at: number; list: Peer[] } | undefined;

  constructor(options: {
    client: PublicClient;
    domain: StatementDomain;
    self: Address;
    timeoutMs: number;
    logger: Logger;
    store: JobStore;
  }) {
    this.#store = options.store;
    this.#client = options.client;
    this.#domain = options.domain;
    this.#self = options.self;
    this.#timeoutMs = options.timeoutMs;
    this.#logger = options.logger;
  }

  /**
   * Up to `needed` co-signatures of `statement` from distinct other active operators, asked all at
   * once; returns as soon as `needed` have come (a slow or silent peer holds nothing up), or when every
   * peer has answered. `signature` is this node's own signature of it, which authenticates the ask.
   */
  async collect(statement: ResultStatement, signature: Hex, needed: number): Promise<Cosignature[]> {
    const peers = await this.peers();
    const body: CosignRequest = {
      requestId: String(statement.requestId),
      outputHash: statement.outputHash,
      status: statement.status,
      signature,
    };
    const collected: Cosignature[] = [];
    await new Promise<void>((resolve) => {
      let waiting = peers.length;
      if (waiting === 0) resolve();
      for (const peer of peers) {
        void this.#ask(peer, body, statement).then((answer) => {
          if (answer !== undefined) collected.push(answer);
          waiting--;
          if (collected.length >= needed || waiting === 0) resolve();
        });
      }
    });
    return collected.slice(0, needed);
  }

  /** The other active operators that published an endpoint. */
  async peers(): Promise<Peer[]> {
    if (this.#peers && Date.now() - this.#peers.at < PEERS_TTL_MS) return this.#peers.list;
    const coordinator = this.#domain.coordinator;
    const active = await this.#client.readContract({
      address: coordinator,
      abi: sibylCoordinatorAbi,
      functionName: "activeOperators",
    });
    const others = active.filter((operator) => operator.toLowerCase() !== this.#self.toLowerCase());
    const endpoints = await Promise.all(
      others.map((operator) =>
        this.#client.readContract({
          address: coordinator,
          abi: sibylCoordinatorAbi,
          functionName: "operatorEndpoint",
          args: [operator],
        }),
      ),
    );
    const list = others.flatMap((operator, i) => {
      const endpoint = endpoints[i];
      return endpoint ? [{ operator, endpoint }] : [];
    });
    this.#peers = { at: Date.now(), list };
    return list;
  }

  async #ask(peer: Peer, body: CosignRequest, statement: ResultStatement): Promise<Cosignature | undefined> {
    const url = `${peer.endpoint.replace(/\/+$/, "")}/v1/cosign`;
    const giveUpAt = Date.now() + this.#timeoutMs;
    try {
      let response: Response;
      for (;;) {
        response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(Math.max(1, giveUpAt - Date.now())),
        });
        // Not read the request (or its takeover) from the chain yet: it will have in a moment.
        if (!NOT_YET.has(response.status) || Date.now() + NOT_YET_RETRY_MS >= giveUpAt) break;
        await response.body?.cancel();
        await new Promise((resolve) => setTimeout(resolve, NOT_YET_RETRY_MS));
      }
      const reply = (await response.json().catch(() => ({}))) as {
        outputHash?: Hex;
        status?: number;
        signature?: Hex;
      };
      if (reply.signature === undefined) {
        this.#logger.debug(
          { requestId: body.requestId, peer: peer.operator, status: response.status },
          "peer did not co-sign",
        );
        return undefined;
      }
      const theirs = { requestId: statement.requestId, outputHash: reply.outputHash, status: reply.status };
      if (!isStatement(theirs)) return undefined;
      const signer = await signerOf(this.#domain, theirs, reply.signature);
      // A signature by anyone but the peer asked would not count onchain (or would count twice).
      if (signer?.toLowerCase() !== peer.operator.toLowerCase()) return undefined;
      // Kept whatever it says: two different answers from one peer are slashable evidence.
      await keepStatement(this.#store, this.#logger, {
        signer,
        statement: theirs,
        signature: reply.signature,
      });
      if (response.status !== 200 || !sameAnswer(theirs, statement)) return undefined;
      return { signer, signature: reply.signature };
    } catch (error) {
      this.#logger.debug(
        { requestId: body.requestId, peer: peer.operator, err: error },
        "peer unreachable for co-signing",
      );
      return undefined;
    }
  }
}

function isStatement(value: {
  requestId: bigint;
  outputHash: Hex | undefined;
  status: number | undefined;
}): value is ResultStatement {
  return typeof value.outputHash === "string" && typeof value.status === "number";
}
