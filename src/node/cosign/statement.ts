/**
 * What operators sign when they vouch for a result: the EIP-712 ResultStatement in the domain of the
 * coordinator version that took the request. The contracts check these signatures
 * (contracts/libraries/ResultStatements.sol); nodes use the same signature to say "I, the request's
 * assignee, answered this" when they ask peers to co-sign, so every request between operators is
 * authenticated by an operator key.
 */
import { type Address, type Hex, keccak256, recoverTypedDataAddress } from "viem";
import type { LocalAccount } from "viem/accounts";

export interface StatementDomain {
  chainId: number;
  /** The coordinator version that took request `requestId`: its address is the domain's verifyingContract. */
  coordinatorOf(requestId: bigint): Address;
  /** The operators' ledger: who is active, and where each takes co-signing requests. */
  ledger(): Address;
}

export interface ResultStatement {
  requestId: bigint;
  outputHash: Hex;
  status: number;
}

const TYPES = {
  ResultStatement: [
    { name: "requestId", type: "uint256" },
    { name: "outputHash", type: "bytes32" },
    { name: "status", type: "uint8" },
  ],
} as const;

function typedData(domain: StatementDomain, statement: ResultStatement) {
  return {
    domain: {
      name: "Sibyl",
      version: "1",
      chainId: domain.chainId,
      verifyingContract: domain.coordinatorOf(statement.requestId),
    },
    types: TYPES,
    primaryType: "ResultStatement" as const,
    message: statement,
  };
}

export function statementOf(requestId: bigint, result: { status: number; output: Hex }): ResultStatement {
  return { requestId, outputHash: keccak256(result.output), status: result.status };
}

export function sameAnswer(a: ResultStatement, b: ResultStatement): boolean {
  return a.requestId === b.requestId && a.outputHash === b.outputHash && a.status === b.status;
}

export async function signStatement(
  account: LocalAccount,
  domain: StatementDomain,
  statement: ResultStatement,
): Promise<Hex> {
  return account.signTypedData(typedData(domain, statement));
}

/** The signer of `signature` over `statement`, or undefined for an unreadable signature. */
export async function signerOf(
  domain: StatementDomain,
  statement: ResultStatement,
  signature: Hex,
): Promise<Address | undefined> {
  try {
    return await recoverTypedDataAddress({ ...typedData(domain, statement), signature });
  } catch {
    return undefined;
  }
}

/** As `deliver` takes them: each 65 bytes, signers ascending. */
export function packSignatures(signed: ReadonlyArray<{ signer: Address; signature: Hex }>): Hex {
  const sorted = [...signed].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
  return `0x${sorted.map(({ signature }) => signature.slice(2)).join("")}`;
}
