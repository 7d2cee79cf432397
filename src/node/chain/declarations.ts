/**
 * The models this node serves, declared in the operators' ledger: requests are drawn only among the
 * operators that declared their model, so a node is never assigned (nor penalized for) a model it does
 * not run.
 */
import { type Address, createWalletClient, type Hex, type PublicClient, type Transport } from "viem";
import type { LocalAccount } from "viem/accounts";
import { operatorLedgerAbi } from "../../shared/abi/generated.js";
import { writeUntilDone } from "./setupWrite.js";

/** The models `operator` has declared onchain. */
export async function declaredModels(
  client: PublicClient,
  ledger: Address,
  operator: Address,
): Promise<Set<Hex>> {
  const declared = await client.readContract({
    address: ledger,
    abi: operatorLedgerAbi,
    functionName: "declaredModels",
    args: [operator],
  });
  return new Set(declared.map((id) => id.toLowerCase() as Hex));
}

/**
 * Declares each of `modelIds` the operator has not declared yet; sent at start, before the submitter
 * reads its nonce, so the two never race, and sent again if a reorg removes it. Returns the ids
 * declared now.
 */
export async function declareServedModels(
  client: PublicClient,
  account: LocalAccount,
  ledger: Address,
  modelIds: readonly Hex[],
  transport: Transport,
): Promise<Hex[]> {
  const declared = await declaredModels(client, ledger, account.address);
  const missing = modelIds.filter((id) => !declared.has(id.toLowerCase() as Hex));
  const wallet = createWalletClient({ account, transport });
  for (const modelId of missing) {
    await writeUntilDone(client, {
      what: `declaring model ${modelId} onchain`,
      done: async () =>
        (await declaredModels(client, ledger, account.address)).has(modelId.toLowerCase() as Hex),
      send: () =>
        wallet.writeContract({
          address: ledger,
          abi: operatorLedgerAbi,
          functionName: "declareModel",
          args: [modelId],
          chain: null,
        }),
    });
  }
  return missing;
}
