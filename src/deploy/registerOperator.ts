/**
 * Stakes and registers an operator, and declares the models it serves, so a devnet's node can fulfil
 * requests as soon as it starts.
 */
import type { Address, LocalAccount } from "viem";
import type { ModelReference } from "../sdk/utils.js";
import { operatorLedgerAbi } from "../shared/abi/generated.js";
import { resolveSibylContracts } from "../shared/contracts.js";
import { SibylError } from "../shared/errors.js";
import { publicClientOf, type SibylConnection, walletFor } from "./connection.js";
import { declareModels } from "./declareModels.js";

export interface RegisterOperatorParameters {
  /** The deployment's log or any of its coordinators. */
  coordinator: Address;
  /** The operator: an address the connection can sign for, an index into its accounts, or a local account. */
  operator: Address | number | LocalAccount;
  /** Wei to stake. Default: the coordinator's minStake. */
  stake?: bigint;
  /**
   * Models it serves (names or ids), declared unless already: requests are drawn only among an
   * operator's declared models. A node declares the models it runs when it starts, too.
   */
  models?: readonly ModelReference[];
}

export interface RegisterOperatorReturnType {
  operator: Address;
  /** False when the operator was already active and nothing was sent. */
  registered: boolean;
}

/**
 * @example
 * await registerOperator(connection, { coordinator: deployment.coordinator, operator: 1 });
 */
export async function registerOperator(
  connection: SibylConnection,
  { coordinator, operator, stake, models = [] }: RegisterOperatorParameters,
): Promise<RegisterOperatorReturnType> {
  const wallet = await walletFor(connection, operator);
  const address = wallet.account.address;
  const publicClient = publicClientOf(connection);
  const { ledger } = await resolveSibylContracts(publicClient, coordinator);
  const { active } = await publicClient.readContract({
    address: ledger,
    abi: operatorLedgerAbi,
    functionName: "operatorOf",
    args: [address],
  });
  if (active) {
    await declareModels(connection, { coordinator, operator, models });
    return { operator: address, registered: false };
  }
  const value =
    stake ??
    (
      await publicClient.readContract({
        address: ledger,
        abi: operatorLedgerAbi,
        functionName: "operatorParameters",
      })
    ).minStake;
  const hash = await wallet.writeContract({
    address: ledger,
    abi: operatorLedgerAbi,
    functionName: "registerOperator",
    value,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success")
    throw new SibylError(`registering operator ${address} reverted (${hash})`);
  await declareModels(connection, { coordinator, operator, models });
  return { operator: address, registered: true };
}
