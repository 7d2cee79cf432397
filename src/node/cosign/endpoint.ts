/**
 * Where other operators reach this node for co-signatures: published onchain with the operator's
 * registration in the operators' ledger (setOperatorEndpoint), so every node finds its peers from the
 * chain alone.
 */
import { type Address, createWalletClient, http, type PublicClient, type Transport } from "viem";
import type { LocalAccount } from "viem/accounts";
import { operatorLedgerAbi } from "../../shared/abi/generated.js";
import { writeUntilDone } from "../chain/setupWrite.js";
import type { NodeConfig } from "../config.js";

/**
 * Publishes `cosigning.publicUrl` as this operator's co-signing endpoint, unless the chain already has
 * it; sent before the submitter reads its nonce, so the two never race.
 */
export async function publishEndpoint(
  client: PublicClient,
  account: LocalAccount,
  config: NodeConfig,
  ledger: Address,
  transport: Transport | undefined,
): Promise<void> {
  const endpoint = config.cosigning.publicUrl;
  if (endpoint === undefined) return;
  const wallet = createWalletClient({ account, transport: transport ?? http(config.chain.rpcUrl) });
  await writeUntilDone(client, {
    what: "cosigning.publicUrl: publishing it onchain",
    done: async () =>
      (await client.readContract({
        address: ledger,
        abi: operatorLedgerAbi,
        functionName: "operatorEndpoint",
        args: [account.address],
      })) === endpoint,
    send: () =>
      wallet.writeContract({
        address: ledger,
        abi: operatorLedgerAbi,
        functionName: "setOperatorEndpoint",
        args: [endpoint],
        chain: null,
      }),
  });
}
