/** A signing wallet for CLI commands: a key from an environment variable, or the devnet's test key. */
import {
  type Chain,
  createWalletClient,
  type Hex,
  http,
  type LocalAccount,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { CliError } from "./errors.js";
import type { Target } from "./target.js";

type KeyWallet = WalletClient<Transport, Chain, LocalAccount>;

export async function walletFor(target: Target, keyEnv: string, role: "user" | "owner"): Promise<KeyWallet> {
  const key = process.env[keyEnv] || target.record?.devKeys?.[role];
  if (key === undefined) {
    throw new CliError(`${keyEnv} is not set: export the ${role}'s private key (0x + 64 hex digits)`);
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new CliError(`${keyEnv} is not a 0x-prefixed 32-byte hex key`);
  return walletOn(target.rpcUrl, await target.client.getChainId(), key as Hex);
}

/** A wallet client signing with `key` (a raw key or an account, e.g. from a keystore) on the chain at `rpcUrl`. */
export function walletOn(rpcUrl: string, chainId: number, key: Hex | LocalAccount): KeyWallet {
  return createWalletClient({
    account: typeof key === "string" ? privateKeyToAccount(key) : key,
    chain: {
      id: chainId,
      name: `chain ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    },
    transport: http(rpcUrl),
  });
}
