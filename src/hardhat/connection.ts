/** What both fixtures need besides the deploy API: a funded throwaway key for their operator. */
import { type Address, type Hex, numberToHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { publicClientOf, type SibylConnection } from "../deploy/connection.js";
import { SibylError } from "../shared/errors.js";

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
  const receipt = await publicClientOf(connection).waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new SibylError(`funding the operator reverted (${hash})`);
  return key;
}
