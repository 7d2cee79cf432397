/**
 * Hardhat's default accounts, from its publicly known mnemonic: the devnet's owner, operator and user.
 * Anyone can spend from them; they exist only for local chains.
 */
import { type Hex, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";

export const DEV_ACCOUNT = { owner: 0, operator: 1, user: 2 } as const;

export function hardhatKey(index: number): Hex {
  const key = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex: index }).getHdKey().privateKey;
  if (key === null) throw new Error(`no key for account ${index}`);
  return toHex(key);
}
