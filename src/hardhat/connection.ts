/** Plumbing the fixtures share: clients over a Hardhat connection's provider, and a funded throwaway key. */
import {
  type Address,
  createPublicClient,
  custom,
  type EIP1193Provider,
  type Hex,
  numberToHex,
  type PublicClient,
  type Transport,
} from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { SibylConnection } from "../deploy/index.js";
import { SibylError } from "../shared/errors.js";

export function transportOf(connection: SibylConnection): Transport {
  return custom(connection.provider as EIP1193Provider, { retryCount: 0 });
}

export function publicClientOn(connection: SibylConnection, pollingInterval = 50): PublicClient {
  return createPublicClient({ transport: transportOf(connection), pollingInterval }) as PublicClient;
}

/**
 * A fresh key, funded by the connection's first account: the fixture's operator signs with a key of its
 * own, so its nonces never race the accounts the user's tests send from.
 */
export async function fundedKey(connection: SibylConnection, value: bigint): Promise<Hex> {
  const [funder] = (await connection.provider.request({ method: "eth_accounts" })) as Address[];
  if (funder === undefined) {
    throw new SibylError(
      `the ${connection.networkName ?? "given"} connection has no account to fund the operator`,
    );
  }
  const key = generatePrivateKey();
  const hash = (await connection.provider.request({
    method: "eth_sendTransaction",
    params: [{ from: funder, to: privateKeyToAccount(key).address, value: numberToHex(value) }],
  })) as Hex;
  const receipt = await publicClientOn(connection).waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new SibylError(`funding the operator reverted (${hash})`);
  return key;
}
