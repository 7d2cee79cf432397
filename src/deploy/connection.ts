import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  custom,
  type EIP1193Provider,
  getAddress,
  isAddressEqual,
  type LocalAccount,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { SibylError } from "../shared/errors.js";

/**
 * What the deploy API needs of a chain: an EIP-1193 provider that can sign for its accounts. A Hardhat
 * 3 network connection (`await network.connect()` or `network.create(...)`, the in-process network
 * included) is one as it is, with or without the viem or Ignition plugins in the project; so is any
 * wallet-backed provider.
 */
export interface SibylConnection {
  provider: { request(args: { method: string; params?: unknown }): Promise<unknown> };
  /** For messages and per-network parameter files; Hardhat's connections carry it. */
  networkName?: string;
  /** Hardhat's resolved network config: its type, and the Ignition plugin's fee settings when present. */
  networkConfig?: {
    type?: string;
    ignition?: {
      maxFeePerGasLimit?: bigint;
      maxFeePerGas?: bigint;
      maxPriorityFeePerGas?: bigint;
      gasPrice?: bigint;
      disableFeeBumping?: boolean;
      maxRetries?: number;
      retryInterval?: number;
    };
  };
}

export function transportOf(connection: SibylConnection): Transport {
  return custom(connection.provider as EIP1193Provider, { retryCount: 0 });
}

export function publicClientOf(connection: SibylConnection, pollingInterval = 100): PublicClient {
  return createPublicClient({ transport: transportOf(connection), pollingInterval }) as PublicClient;
}

/**
 * A wallet client for `account`: an address the connection can sign for, an index into its accounts, or
 * a local account (a key held in this process) that signs itself and only needs the connection to send.
 */
export async function walletFor(
  connection: SibylConnection,
  account: Address | number | LocalAccount,
): Promise<WalletClient<Transport, Chain, Account>> {
  const chainId = await publicClientOf(connection).getChainId();
  const chain = {
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [] } },
  };
  if (typeof account === "object")
    return createWalletClient({ account, chain, transport: transportOf(connection) });
  const accounts = ((await connection.provider.request({ method: "eth_accounts" })) as string[]).map(
    (address) => getAddress(address),
  );
  const address =
    typeof account === "number"
      ? accounts[account]
      : accounts.find((candidate) => isAddressEqual(candidate, account));
  if (address === undefined) {
    throw new SibylError(
      `account ${account} is not one the ${connection.networkName ?? "given"} connection can sign for`,
      { details: `it has ${accounts.length} account(s): ${accounts.join(", ") || "none"}` },
    );
  }
  return createWalletClient({ account: address, chain, transport: transportOf(connection) });
}
