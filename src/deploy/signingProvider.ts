/**
 * An EIP-1193 provider that signs with a key held in this process: what a deployment to a real chain
 * needs (its nodes hold no unlocked accounts), with no Hardhat runtime. Ignition sends fully specified
 * transactions (nonce, gas, fees), so signing is all that is added; every other call goes through.
 */
import { type Hex, hexToBigInt, hexToNumber, type LocalAccount } from "viem";
import type { SibylConnection } from "./connection.js";

type Provider = SibylConnection["provider"];

interface RpcTransaction {
  to?: Hex;
  data?: Hex;
  value?: Hex;
  nonce?: Hex;
  gas?: Hex;
  gasPrice?: Hex;
  maxFeePerGas?: Hex;
  maxPriorityFeePerGas?: Hex;
}

export function signingProvider(inner: Provider, account: LocalAccount): Provider {
  let chainId: number | undefined;
  return {
    async request({ method, params }) {
      if (method === "eth_accounts" || method === "eth_requestAccounts") return [account.address];
      if (method !== "eth_sendTransaction") return inner.request({ method, params });
      const [tx] = params as [RpcTransaction];
      chainId ??= hexToNumber((await inner.request({ method: "eth_chainId" })) as Hex);
      const common = {
        chainId,
        ...(tx.to ? { to: tx.to } : {}),
        data: tx.data,
        value: tx.value === undefined ? undefined : hexToBigInt(tx.value),
        nonce: tx.nonce === undefined ? undefined : hexToNumber(tx.nonce),
        gas: tx.gas === undefined ? undefined : hexToBigInt(tx.gas),
      };
      if (typeof account.signTransaction !== "function")
        throw new Error(`account ${account.address} cannot sign`);
      const signed =
        tx.gasPrice !== undefined
          ? await account.signTransaction({ ...common, type: "legacy", gasPrice: hexToBigInt(tx.gasPrice) })
          : await account.signTransaction({
              ...common,
              type: "eip1559",
              maxFeePerGas: tx.maxFeePerGas === undefined ? undefined : hexToBigInt(tx.maxFeePerGas),
              maxPriorityFeePerGas:
                tx.maxPriorityFeePerGas === undefined ? undefined : hexToBigInt(tx.maxPriorityFeePerGas),
            });
      return inner.request({ method: "eth_sendRawTransaction", params: [signed] });
    },
  };
}
