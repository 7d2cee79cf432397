/**
 * Quorum models in tests and benchmarks: steer a request to a chosen operator (the coordinator draws
 * its assignee from the block's prevrandao), and co-sign a result the way other operators vouch for
 * it (EIP-712 ResultStatement of the coordinator's domain, signers ascending by address).
 */
import type { network } from "hardhat";
import {
  type Account,
  type Address,
  concatHex,
  encodeAbiParameters,
  type Hex,
  hexToBigInt,
  keccak256,
  type WalletClient,
} from "viem";
import { type Sibyl, TEST_MODEL } from "./sibyl.js";

type Connection = Awaited<ReturnType<typeof network.create>>;

/**
 * A yes/no question answered by an OpenAI-compatible server (give it `baseURL`): reproducible only
 * through its constraint, so a quorum model.
 */
export const YES_NO = {
  provider: "openai",
  name: "yes-no",
  model: "fake-yes-no",
  apiKeyEnv: "OPENAI_API_KEY",
  answer: { kind: "yes-no" },
} as const;

export interface ResultStatement {
  requestId: bigint;
  outputHash: Hex;
  status: number;
}

export const RESULT_STATEMENT_TYPES = {
  ResultStatement: [
    { name: "requestId", type: "uint256" },
    { name: "outputHash", type: "bytes32" },
    { name: "status", type: "uint8" },
  ],
} as const;

/**
 * Sets the next block's prevrandao so the coordinator assigns the next request (made in that block) to
 * `operator`, as its draw does: operatorsFor(modelId)[keccak256(abi.encode(prevrandao, requestId)) % count].
 */
export async function assignNextRequestTo(
  connection: Connection,
  sibyl: Sibyl,
  operator: Address,
  modelId: Hex = TEST_MODEL.id,
) {
  const active = await sibyl.ledger.read.operatorsFor([modelId]);
  const index = active.findIndex((address) => address.toLowerCase() === operator.toLowerCase());
  if (index < 0) throw new Error(`${operator} does not serve model ${modelId}`);
  const requestId = await sibyl.coordinator.read.nextRequestId();
  const count = BigInt(active.length);
  for (let prevRandao = 1n; ; prevRandao++) {
    const seed = keccak256(
      encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [prevRandao, requestId]),
    );
    if (hexToBigInt(seed) % count === BigInt(index)) {
      await connection.networkHelpers.setPrevRandao(prevRandao);
      return;
    }
  }
}

/** `signer`'s EIP-712 signature of `statement` for the coordinator at `coordinator` on `chainId`. */
export function signStatement(
  signer: WalletClient & { account: Account },
  coordinator: Address,
  chainId: number,
  statement: ResultStatement,
): Promise<Hex> {
  return signer.signTypedData({
    account: signer.account,
    domain: { name: "Sibyl", version: "1", chainId, verifyingContract: coordinator },
    types: RESULT_STATEMENT_TYPES,
    primaryType: "ResultStatement",
    message: statement,
  });
}

/** The `signatures` field of a result: each co-signer's signature of `statement`, signers ascending. */
export async function cosign(
  signers: ReadonlyArray<WalletClient & { account: Account }>,
  coordinator: Address,
  chainId: number,
  statement: ResultStatement,
): Promise<Hex> {
  const ascending = [...signers].sort((a, b) =>
    hexToBigInt(a.account.address) < hexToBigInt(b.account.address) ? -1 : 1,
  );
  const signatures = await Promise.all(
    ascending.map((signer) => signStatement(signer, coordinator, chainId, statement)),
  );
  return signatures.length === 0 ? "0x" : concatHex(signatures);
}
