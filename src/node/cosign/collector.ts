/**
 * Asks the other active operators to co-sign one of this node's results, at the endpoints they
 * published onchain, and keeps the signatures that really are theirs over exactly this answer. Peers
 * are strangers: each call is bounded (see peerCall.ts, peerAddress.ts) and a round of asking ends at
 * one deadline, whatever the peers do.
 */
import { type Address, type Hex, isHex, type PublicClient } from "viem";
import { operatorLedgerAbi } from "../../shared/abi/generated.js";
import type { Logger } from "../observe/logger.js";
import type { JobStore } from "../store/store.js";
import { cosignUrlOf, type PeerAddressPolicy, RefusedEndpoint, resolvePeer } from "./peerAddress.js";
import { postToPeer } from "./peerCall.js";
import { type CosignRequest, keepStatement } from "./peerServer.js";
import { type ResultStatement, type StatementDomain, sameAnswer, signerOf } from "./statement.js";

export interface Peer {
  operator: Address;
  endpoint: string;
  /** Where co-signing requests to it are posted. */
  url: URL;
}

export interface Cosignature {
  signer: Address;
  signature: Hex;
}

/** Requests whose peers' other answers are remembered; the oldest are forgotten past this. */
const MAX_REMEMBERED_REQUESTS = 10_000;
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
  readonly #maxReplyBytes: number;
  readonly #policy: PeerAddressPolicy;
  readonly #logger: Logger;
  readonly #store: JobStore;
  /** Each model's peers, as last read. */
  readonly #peers = new Map<Hex, { at: number; list: Peer[] }>();
  /** Endpoints already warned about, so a refused one is said once, not every round. */
  readonly #warned = new Set<string>();
  /** By request: the answers peers signed that differ from this node's, by signer. */
  readonly #otherAnswers = new Map<bigint, Map<Address, string>>();

  constructor(options: {
    client: PublicClient;
    domain: StatementDomain;
    self: Address;
    /** The deadline of one round of asking: every peer's answer, retries included, comes by then. */
    timeoutMs: number;
    /** The most bytes a peer's reply may have. */
    maxReplyBytes: number;
    policy: PeerAddressPolicy;
    logger: Logger;
    store: JobStore;
  }) {
    this.#store = options.store;
    this.#client = options.client;
    this.#domain = options.domain;
    this.#self = options.self;
    this.#timeoutMs = options.timeoutMs;
    this.#maxReplyBytes = options.maxReplyBytes;
    this.#policy = options.policy;
    this.#logger = options.logger;
  }

  /**
   * Up to `needed` co-signatures of `statement` from distinct other operators serving `modelId`,
   * asked all at once; returns as soon as `needed` have come (a slow or silent peer holds nothing up), when every
   * peer has answered, or at the round's deadline, whichever is first. `signature` is this node's own
   * signature of it, which authenticates the ask.
   */
  async collect(
    modelId: Hex,
    statement: ResultStatement,
    signature: Hex,
    needed: number,
    /** A shorter round than the configured one: the asker must decide before then. */
    maxMs = this.#timeoutMs,
  ): Promise<Cosignature[]> {
    const peers = await this.peers(modelId);
    const body: CosignRequest = {
      requestId: String(statement.requestId),
      outputHash: statement.outputHash,
      status: statement.status,
      signature,
    };
    const roundMs = Math.max(1, Math.min(this.#timeoutMs, maxMs));
    const round = { signal: AbortSignal.timeout(roundMs), endsAt: Date.now() + roundMs };
    const collected: Cosignature[] = [];
    await new Promise<void>((resolve) => {
      let waiting = peers.length;
      if (waiting === 0) return resolve();
      round.signal.addEventListener("abort", () => resolve(), { once: true });
      for (const peer of peers) {
        void this.#ask(peer, body, statement, round).then((answer) => {
          if (answer !== undefined) collected.push(answer);
          waiting--;
          if (collected.length >= needed || waiting === 0) resolve();
        });
      }
    });
    return collected.slice(0, needed);
  }

  /**
   * The other operators serving `modelId` (active, declared it) that published an endpoint: only their
   * signatures count onchain.
   */
  async peers(modelId: Hex): Promise<Peer[]> {
    const known = this.#peers.get(modelId);
    if (known && Date.now() - known.at < PEERS_TTL_MS) return known.list;
    const ledger = this.#domain.ledger();
    const active = await this.#client.readContract({
      address: ledger,
      abi: operatorLedgerAbi,
      functionName: "operatorsFor",
      args: [modelId],
    });
    const others = active.filter((operator) => operator.toLowerCase() !== this.#self.toLowerCase());
    const endpoints = await Promise.all(
      others.map((operator) =>
        this.#client.readContract({
          address: ledger,
          abi: operatorLedgerAbi,
          functionName: "operatorEndpoint",
          args: [operator],
        }),
      ),
    );
    const list = others.flatMap((operator, i) => {
      const endpoint = endpoints[i];
      if (!endpoint) return [];
      try {
        return [{ operator, endpoint, url: cosignUrlOf(endpoint) }];
      } catch (error) {
        this.#refused(operator, endpoint, error);
        return [];
      }
    });
    this.#peers.set(modelId, { at: Date.now(), list });
    return list;
  }

  async #ask(
    peer: Peer,
    body: CosignRequest,
    statement: ResultStatement,
    round: { signal: AbortSignal; endsAt: number },
  ): Promise<Cosignature | undefined> {
    const payload = JSON.stringify(body);
    const call = { maxReplyBytes: this.#maxReplyBytes, signal: round.signal };
    try {
      const target = await resolvePeer(peer.url, this.#policy);
      let reply = await postToPeer(target, payload, call);
      // Not read the request (or its takeover) from the chain yet: it will have in a moment.
      while (NOT_YET.has(reply.status) && Date.now() + NOT_YET_RETRY_MS < round.endsAt) {
        await new Promise((resolve) => setTimeout(resolve, NOT_YET_RETRY_MS));
        reply = await postToPeer(target, payload, call);
      }
      const { outputHash, status, signature } = (reply.body ?? {}) as {
        outputHash?: unknown;
        status?: unknown;
        signature?: unknown;
      };
      if (!isHex(signature) || !isHex(outputHash) || outputHash.length !== 66 || typeof status !== "number") {
        this.#logger.debug(
          { requestId: body.requestId, peer: peer.operator, status: reply.status },
          "peer did not co-sign",
        );
        return undefined;
      }
      const theirs = { requestId: statement.requestId, outputHash, status };
      const signer = await signerOf(this.#domain, theirs, signature);
      // A signature by anyone but the peer asked would not count onchain (or would count twice).
      if (signer?.toLowerCase() !== peer.operator.toLowerCase()) return undefined;
      // Kept whatever it says: two different answers from one peer are slashable evidence.
      await keepStatement(this.#store, this.#logger, { signer, statement: theirs, signature });
      if (!sameAnswer(theirs, statement)) this.#rememberOtherAnswer(theirs, signer);
      if (reply.status !== 200 || !sameAnswer(theirs, statement)) return undefined;
      return { signer, signature };
    } catch (error) {
      if (error instanceof RefusedEndpoint && !error.retryable)
        this.#refused(peer.operator, peer.endpoint, error);
      else
        this.#logger.debug(
          { requestId: body.requestId, peer: peer.operator, err: error },
          "peer unreachable for co-signing",
        );
      return undefined;
    }
  }

  /**
   * The most peers that signed one same answer to `requestId` other than this node's: when it reaches
   * the quorum, the others agree without this node, whose answer is likely the wrong one.
   */
  largestOtherAgreement(requestId: bigint): number {
    const counts = new Map<string, number>();
    for (const answer of this.#otherAnswers.get(requestId)?.values() ?? [])
      counts.set(answer, (counts.get(answer) ?? 0) + 1);
    return Math.max(0, ...counts.values());
  }

  #rememberOtherAnswer(statement: ResultStatement, signer: Address): void {
    const answers = this.#otherAnswers.get(statement.requestId) ?? new Map<Address, string>();
    answers.set(signer.toLowerCase() as Address, `${statement.outputHash}:${statement.status}`);
    this.#otherAnswers.set(statement.requestId, answers);
    if (this.#otherAnswers.size > MAX_REMEMBERED_REQUESTS) {
      const [oldest] = this.#otherAnswers.keys();
      if (oldest !== undefined) this.#otherAnswers.delete(oldest);
    }
  }

  /** Says once per endpoint why a peer's published endpoint is not called. */
  #refused(operator: Address, endpoint: string, error: unknown): void {
    if (this.#warned.has(endpoint)) return;
    this.#warned.add(endpoint);
    this.#logger.warn(
      { peer: operator, reason: error instanceof Error ? error.message : String(error) },
      "not calling a peer's published co-signing endpoint",
    );
  }
}
