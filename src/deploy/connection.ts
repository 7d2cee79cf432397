import type { ChainType, NetworkConnection } from "hardhat/types/network";
import { type Address, isAddressEqual } from "viem";
import { SibylError } from "../shared/errors.js";

/**
 * What `network.create()` returns from `import { network } from "hardhat"`, for any chain type: the
 * in-process network, or `{ network: "localhost", override: { url } }` for a `hardhat node`.
 */
export type SibylConnection = NetworkConnection<ChainType | string>;

/** The connection's wallet client for `account`: an address it can sign for, or an index into its accounts. */
export async function walletFor(connection: SibylConnection, account: Address | number) {
  const wallets = await connection.viem.getWalletClients();
  const wallet =
    typeof account === "number"
      ? wallets[account]
      : wallets.find((candidate) => isAddressEqual(candidate.account.address, account));
  if (wallet === undefined) {
    throw new SibylError(
      `account ${account} is not one the ${connection.networkName} connection can sign for`,
      {
        details: `it has ${wallets.length} account(s): ${wallets.map((candidate) => candidate.account.address).join(", ") || "none"}`,
      },
    );
  }
  return wallet;
}
