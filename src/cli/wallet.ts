/** A signing wallet for CLI commands: a key from an environment variable, or the devnet's test key. */
import { createWalletClient, type Hex, http, type WalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { CliError } from "./errors.js";
import type { Target } from "./target.js";

export async function walletFor(
  target: Target,
  keyEnv: string,
  role: "user" | "owner",
): Promise<WalletClient> {
  const key = process.env[keyEnv] || target.record?.devKeys?.[role];
  if (key === undefined) {
    throw new CliError(`${keyEnv} is not set: export the ${role}'s private key (0x + 64 hex digits)`);
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new CliError(`${keyEnv} is not a 0x-prefixed 32-byte hex key`);
  const chainId = await target.client.getChainId();
  return createWalletClient({
    account: privateKeyToAccount(key as Hex),
    chain: {
      id: chainId,
      name: `chain ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [target.rpcUrl] } },
    },
    transport: http(target.rpcUrl),
  });
}
