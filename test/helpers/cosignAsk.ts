/**
 * Asking a daemon's co-signing endpoint as another operator does: the statement signed with the
 * asker's key, asked again while the daemon cannot answer yet (it has not read the request: 404), and
 * any signature in the reply checked, whatever the HTTP status: a valid one is evidence in the
 * asker's hands.
 */
import type { Hex } from "viem";
import type { LocalAccount } from "viem/accounts";
import {
  type ResultStatement,
  type StatementDomain,
  signerOf,
  signStatement,
} from "../../src/node/cosign/statement.js";

export interface SignedAnswer {
  statement: ResultStatement;
  signature: Hex;
}

export async function askToCosign(
  port: number,
  asker: LocalAccount,
  domain: StatementDomain,
  statement: ResultStatement,
  waitWhile: readonly number[] = [404],
): Promise<{ status: number; signed?: SignedAnswer }> {
  const body = JSON.stringify({
    requestId: String(statement.requestId),
    outputHash: statement.outputHash,
    status: statement.status,
    signature: await signStatement(asker, domain, statement),
  });
  for (let tries = 0; tries < 150; tries++) {
    const response = await fetch(`http://127.0.0.1:${port}/v1/cosign`, { method: "POST", body });
    if (waitWhile.includes(response.status)) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      continue;
    }
    const reply = (await response.json()) as { outputHash?: Hex; status?: number; signature?: Hex };
    if (reply.signature === undefined || reply.outputHash === undefined || reply.status === undefined)
      return { status: response.status };
    const theirs = { requestId: statement.requestId, outputHash: reply.outputHash, status: reply.status };
    if ((await signerOf(domain, theirs, reply.signature)) === undefined) return { status: response.status };
    return { status: response.status, signed: { statement: theirs, signature: reply.signature } };
  }
  throw new Error(`the daemon on ${port} never answered about request ${statement.requestId}`);
}
