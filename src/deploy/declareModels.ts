/** Declares in the operators' ledger which models an operator serves: only those are drawn for it. */
import type { Address, Hex, LocalAccount } from "viem";
import { declaredModels } from "../node/chain/declarations.js";
import { type ModelReference, resolveModelId } from "../sdk/utils.js";
import { operatorLedgerAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts } from "../shared/contracts.js";
import { SibylError } from "../shared/errors.js";
import { publicClientOf, type SibylConnection, walletFor } from "./connection.js";

export interface DeclareModelsParameters {
  /** The deployment's log or any of its coordinators. */
  coordinator: Address;
  /** The operator: an address the connection can sign for, an index into its accounts, or a local account. */
  operator: Address | number | LocalAccount;
  /** Names (e.g. "language-id") or bytes32 ids. */
  models: readonly ModelReference[];
}

/**
 * Declares each of `models` the operator has not declared yet, and returns the ids it declared now.
 *
 * @example
 * await declareModels(connection, { coordinator: deployment.log, operator: 1, models: ["language-id"] });
 */
export async function declareModels(
  connection: SibylConnection,
  { coordinator, operator, models }: DeclareModelsParameters,
): Promise<Hex[]> {
  const wallet = await walletFor(connection, operator);
  const publicClient = publicClientOf(connection);
  const { ledger } = await resolveSibylContracts(publicClient, coordinator);
  const declared = await declaredModels(publicClient, ledger, wallet.account.address);
  const missing = [...new Set(models.map(resolveModelId))].filter((id) => !declared.has(id));
  for (const modelId of missing) {
    const hash = await wallet.writeContract({
      address: ledger,
      abi: operatorLedgerAbi,
      functionName: "declareModel",
      args: [modelId],
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new SibylError(`declaring model ${modelId} for ${wallet.account.address} reverted (${hash})`);
  }
  return missing;
}
