/**
 * Which published co-signing endpoints this node calls. Any staked operator publishes one, so each is a
 * stranger's choice: parsed strictly (http(s), no credentials, no query or fragment that could pick the
 * path), resolved, and refused when an address is one a stranger must not make this node reach —
 * loopback, private, link-local, CGNAT, multicast, unspecified or reserved — unless the config allows
 * private peers (a devnet), and always when it is one of this node's own listening ports on its own
 * host. The address checked is the address connected to, so DNS cannot change it in between.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIPv4, isIPv6 } from "node:net";
import os from "node:os";
import { SibylError } from "../../shared/errors.js";

/** Where one co-signing request goes: the URL it is posted to, and the checked address it connects to. */
export interface PeerTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

export interface PeerAddressPolicy {
  /** Loopback and private addresses allowed (a devnet, or operators on one private network). */
  allowPrivatePeers: boolean;
  /** This node's own listening ports (API, co-signing), never called on one of its own addresses. */
  ownPorts: () => readonly number[];
}

/** A published endpoint this node will not call, and why. */
export class RefusedEndpoint extends SibylError {
  override name = "RefusedEndpoint";
}

/** The path every co-signing request is posted to, below the published endpoint's own path. */
const COSIGN_PATH = "/v1/cosign";

/**
 * The URL a co-signing request to `endpoint` is posted to; throws RefusedEndpoint for anything but a
 * plain http(s) URL: credentials, a query or a fragment (which would change what is posted where),
 * whitespace or backslashes (which parsers read differently) are all refused.
 */
export function cosignUrlOf(endpoint: string): URL {
  if (/[?#\\\s]/.test(endpoint) || endpoint.length > 2_048)
    throw new RefusedEndpoint("has a query, fragment, whitespace or backslash, or is too long");
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new RefusedEndpoint("is not a URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new RefusedEndpoint("is not http(s)");
  if (url.username !== "" || url.password !== "") throw new RefusedEndpoint("carries credentials");
  return new URL(`${url.origin}${url.pathname.replace(/\/+$/, "")}${COSIGN_PATH}`);
}

/** Addresses a stranger's endpoint must not resolve to (IPv4, and IPv6 with IPv4 inside checked as IPv4). */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // unspecified, "this network"
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // CGNAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 96], // unspecified, loopback, IPv4-compatible
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local
  ["ff00::", 8], // multicast
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, "ipv6");

/** Why `address` (on `port`) may not be called, or undefined when it may. */
export function refusalOf(withZone: string, port: number, policy: PeerAddressPolicy): string | undefined {
  const address = withZone.replace(/%.*$/, "");
  const v4 = isIPv4(address) ? address : embeddedIpv4(address);
  if (policy.ownPorts().includes(port) && isOwnAddress(address, v4))
    return "this node's own port on its own host";
  if (policy.allowPrivatePeers) return undefined;
  if (v4 !== undefined) return NOT_PUBLIC.check(v4, "ipv4") ? "not a public address" : undefined;
  if (isIPv6(address)) return NOT_PUBLIC.check(address, "ipv6") ? "not a public address" : undefined;
  return "not an IP address";
}

/**
 * Resolves a co-signing URL's host and checks every address it has; the first is the one to connect
 * to. Throws RefusedEndpoint when any address is refused or none resolves.
 */
export async function resolvePeer(
  url: URL,
  policy: PeerAddressPolicy,
  resolve: (host: string) => Promise<Array<{ address: string; family: number }>> = (host) =>
    lookup(host, { all: true, verbatim: true }),
): Promise<PeerTarget> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  let addresses: Array<{ address: string; family: number }>;
  if (isIPv4(host) || isIPv6(host)) addresses = [{ address: host, family: isIPv4(host) ? 4 : 6 }];
  else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw new RefusedEndpoint(`${host} does not resolve`, { cause: error, retryable: true });
    }
  }
  const first = addresses[0];
  if (first === undefined) throw new RefusedEndpoint(`${host} has no address`, { retryable: true });
  for (const { address } of addresses) {
    const refusal = refusalOf(address, port, policy);
    if (refusal !== undefined) throw new RefusedEndpoint(`${host} is ${address}: ${refusal}`);
  }
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) or 6to4 (2002::/16) one. */
function embeddedIpv4(address: string): string | undefined {
  const words = ipv6Words(address);
  if (words === undefined) return undefined;
  const v4 = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((word) => word === 0);
  if (zeros(0, 5) && words[5] === 0xffff) return v4(words[6] as number, words[7] as number);
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6))
    return v4(words[6] as number, words[7] as number);
  if (words[0] === 0x2002) return v4(words[1] as number, words[2] as number);
  return undefined;
}

/** An IPv6 address as its eight 16-bit words (a trailing dotted IPv4 part included). */
function ipv6Words(address: string): number[] | undefined {
  if (!isIPv6(address)) return undefined;
  let text = address;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const parse = (part: string) =>
    part === "" ? [] : part.split(":").map((word) => Number.parseInt(word, 16));
  const before = parse(head);
  const after = tail === undefined ? [] : parse(tail);
  return [...before, ...new Array(8 - before.length - after.length).fill(0), ...after];
}

/** Loopback, unspecified, or an address of one of this host's interfaces. */
function isOwnAddress(address: string, v4: string | undefined): boolean {
  const plain = v4 ?? address.toLowerCase();
  if (plain === "0.0.0.0" || plain === "::" || plain === "::1" || plain.startsWith("127.")) return true;
  return Object.values(os.networkInterfaces()).some((interfaces) =>
    (interfaces ?? []).some((entry) => entry.address.toLowerCase() === plain),
  );
}
