/** Which chain and coordinator the page reads: the serving command's /config.json, overridden by ?rpc=&coordinator=. */
import { type Address, getAddress, isAddress } from "viem";

export interface Target {
  rpcUrl: string;
  coordinator: Address;
  /** The coordinator's deployment block, where event scans start. */
  fromBlock: bigint;
}

/** A problem the page explains to the person looking at it instead of showing data. */
export class ExplorerProblem extends Error {}

interface ServedConfig {
  rpcUrl?: string;
  coordinator?: string;
  fromBlock?: string;
}

export async function loadTarget(): Promise<Target> {
  const served: ServedConfig = await fetch("config.json", { cache: "no-store" })
    .then((response) => (response.ok ? (response.json() as Promise<ServedConfig>) : {}))
    .catch(() => ({}));
  const query = new URLSearchParams(location.search);
  // The serving command's RPC is its proxy, at an address relative to this page's.
  const rpcUrl = query.get("rpc") ?? (served.rpcUrl && new URL(served.rpcUrl, location.href).href);
  const coordinator = query.get("coordinator") ?? served.coordinator;
  const fromBlock = query.get("fromBlock") ?? served.fromBlock ?? "0";
  if (!rpcUrl || !coordinator) {
    throw new ExplorerProblem(
      "No chain to read: open this page from `sibyl dev` or `sibyl explorer --rpc <url> --coordinator <address>`, or add ?rpc=…&coordinator=… to its address.",
    );
  }
  if (!/^https?:\/\//.test(rpcUrl)) throw new ExplorerProblem(`The RPC "${rpcUrl}" is not an http(s) URL.`);
  if (!isAddress(coordinator, { strict: false })) {
    throw new ExplorerProblem(`The coordinator "${coordinator}" is not an address (0x and 40 hex digits).`);
  }
  if (!/^\d+$/.test(fromBlock)) throw new ExplorerProblem(`fromBlock "${fromBlock}" is not a block number.`);
  return { rpcUrl, coordinator: getAddress(coordinator), fromBlock: BigInt(fromBlock) };
}
