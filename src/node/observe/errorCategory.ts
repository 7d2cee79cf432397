/**
 * A fixed, secret-free name for what went wrong, for places that are served rather than logged
 * (`/readyz`). Error text is never served: a viem error quotes the RPC URL, where providers put their
 * API keys, and a model server's error can name internal hosts. The log keeps the detail, redacted.
 */

/** viem's error classes by name, walked down the `cause` chain, and what they mean to an operator. */
const CATEGORIES: Record<string, string> = {
  HttpRequestError: "rpc unreachable",
  TimeoutError: "rpc unreachable",
  WebSocketRequestError: "rpc unreachable",
  SocketClosedError: "rpc unreachable",
  LimitExceededRpcError: "rpc rate limited",
  RpcRequestError: "rpc error",
  InternalRpcError: "rpc error",
  ContractFunctionRevertedError: "contract call reverted",
  TransactionExecutionError: "transaction failed",
  SqliteError: "database error",
  ProverUnavailableError: "prover unavailable",
  ProverArtifactError: "prover artifacts missing",
  InvalidWitnessError: "invalid witness",
};

/** Names made by code (class names) are shown as they are; anything else is "unexpected error". */
const CLASS_NAME = /^[A-Za-z][A-Za-z0-9]{0,47}$/;

export function errorCategory(error: unknown): string {
  for (let current = error, depth = 0; current instanceof Error && depth < 6; depth++) {
    const category = CATEGORIES[current.name];
    if (category) return category;
    current = current.cause;
  }
  const name = error instanceof Error ? error.name : "";
  return CLASS_NAME.test(name) && name !== "Error" ? `unexpected ${name}` : "unexpected error";
}
