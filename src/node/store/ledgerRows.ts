/**
 * How the signing record and other operators' statements look as table rows, and the rules read from
 * them, shared by the SQLite and PostgreSQL stores.
 */
import type { Address, Hex } from "viem";
import type { Equivocation, EquivocationState, SignedStatement, SignVerdict } from "./store.js";

/** A statement already kept that disagrees with a new one from the same signer. */
export interface StatementRow {
  output_hash: Hex;
  status: number;
  signature: Hex;
}

export interface EquivocationRow {
  evidence: string;
  state: EquivocationState;
  committed_block: number | null;
}

/** The equivocation a new statement proves against a different one its signer made before. */
export function equivocationOf(signed: SignedStatement, other: StatementRow): Equivocation {
  const { signer, statement } = signed;
  return {
    signer,
    a: signed,
    b: {
      signer,
      statement: { requestId: statement.requestId, outputHash: other.output_hash, status: other.status },
      signature: other.signature,
    },
    state: "found",
    committedBlock: undefined,
  };
}

export function toEquivocation(row: EquivocationRow): Equivocation {
  return {
    ...parseEvidence(row.evidence),
    state: row.state,
    committedBlock: row.committed_block === null ? undefined : BigInt(row.committed_block),
  };
}

/**
 * The verdict the record already gives on signing `answer`, or undefined when this operator may sign it
 * now: the answer it signed before decides; failing that, a request at or before the signing floor (or
 * one the store does not hold) is "unknown", since a lost database may have signed it.
 */
export function recordedVerdict(
  signedBefore: string | undefined,
  answer: string,
  requestBlock: number | undefined,
  floor: bigint | undefined,
): SignVerdict | undefined {
  if (signedBefore !== undefined) return signedBefore === answer ? "signed" : "another";
  if (requestBlock === undefined || floor === undefined || BigInt(requestBlock) <= floor) return "unknown";
  return undefined;
}

/** The evidence as stored: both signed statements, the request id as a decimal string. */
export function stringifyEvidence(equivocation: Equivocation): string {
  const plain = (signed: SignedStatement) => ({
    ...signed,
    statement: { ...signed.statement, requestId: String(signed.statement.requestId) },
  });
  return JSON.stringify({ signer: equivocation.signer, a: plain(equivocation.a), b: plain(equivocation.b) });
}

export function parseEvidence(text: string): Pick<Equivocation, "signer" | "a" | "b"> {
  const raw = JSON.parse(text) as { signer: Address; a: SignedStatement; b: SignedStatement };
  const typed = (signed: SignedStatement) => ({
    ...signed,
    statement: { ...signed.statement, requestId: BigInt(signed.statement.requestId) },
  });
  return { signer: raw.signer, a: typed(raw.a), b: typed(raw.b) };
}
