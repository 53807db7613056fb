/**
 * IP addresses for the egress gate: parsing (IPv4, IPv6, IPv4-mapped IPv6),
 * CIDR networks, and the special ranges a plugin may not reach unless the
 * operator allows a network explicitly (loopback, private, link-local,
 * multicast, unspecified, CGNAT, cloud metadata). Written without node:net so
 * that Node and Deno classify identically.
 * @module
 */
import { HostError } from "../errors.ts";

/** An address as a number: 32 bits (v4) or 128 bits (v6), IPv4-mapped v6 folded to v4. */
export interface Address {
  family: 4 | 6;
  value: bigint;
  /** Canonical text (`127.0.0.1`, `::1`). */
  text: string;
}

/** A CIDR network. */
export interface Network {
  family: 4 | 6;
  base: bigint;
  prefix: number;
  text: string;
}

/** Why an address is refused by default. */
export type AddressKind =
  | "unspecified"
  | "loopback"
  | "private"
  | "link-local"
  | "multicast"
  | "cgnat"
  | "metadata"
  | "reserved";

/** Parses an IPv4 or IPv6 literal (brackets allowed); undefined when it is not one. */
export function parseAddress(input: string): Address | undefined {
  const text = input.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = parseV4(text);
  if (v4 !== undefined) return v4Address(v4);
  const v6 = parseV6(text);
  if (v6 === undefined) return undefined;
  // ::ffff:a.b.c.d reaches the IPv4 address a.b.c.d: classify it as that.
  if (v6 >> 32n === 0xffffn) return v4Address(v6 & 0xffffffffn);
  return { family: 6, value: v6, text: v6Text(v6) };
}

/** Parses `addr/prefix` (or a bare address, meaning /32 or /128); throws HostError invalid_input. */
export function parseNetwork(input: string): Network {
  const [addr = "", prefixText] = input.trim().split("/");
  const address = parseAddress(addr);
  const max = address?.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    address === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    throw new HostError(
      "invalid_input",
      `'${input}' is not a network: write an address with a prefix length, like 10.0.0.0/8 or fd00::/8`,
    );
  }
  const base = address.value & mask(address.family, prefix);
  return { family: address.family, base, prefix, text: `${address.text}/${prefix}` };
}

/** Whether `address` lies in `network`. */
export function inNetwork(address: Address, network: Network): boolean {
  return address.family === network.family &&
    (address.value & mask(network.family, network.prefix)) === network.base;
}

const special: [AddressKind, Network][] = ([
  ["metadata", "169.254.169.254/32"],
  ["metadata", "169.254.170.2/32"],
  ["metadata", "100.100.100.200/32"],
  // Azure's WireServer (host agent), reachable from every Azure VM.
  ["metadata", "168.63.129.16/32"],
  ["metadata", "fd00:ec2::254/128"],
  ["unspecified", "0.0.0.0/8"],
  ["private", "10.0.0.0/8"],
  ["cgnat", "100.64.0.0/10"],
  ["loopback", "127.0.0.0/8"],
  ["link-local", "169.254.0.0/16"],
  ["private", "172.16.0.0/12"],
  ["reserved", "192.0.0.0/24"],
  ["reserved", "192.0.2.0/24"],
  // The old 6to4 relay anycast (RFC 7526): its relays reach IPv6 space the gate never saw.
  ["reserved", "192.88.99.0/24"],
  ["private", "192.168.0.0/16"],
  ["reserved", "198.18.0.0/15"],
  ["reserved", "198.51.100.0/24"],
  ["reserved", "203.0.113.0/24"],
  ["multicast", "224.0.0.0/4"],
  ["reserved", "240.0.0.0/4"],
  ["unspecified", "::/128"],
  ["loopback", "::1/128"],
  // IPv4-compatible (deprecated) and NAT64 forms can reach IPv4 space; refuse them whole.
  ["reserved", "::/96"],
  // IPv4-translated (SIIT) and Teredo tunnels embed IPv4 addresses too.
  ["reserved", "::ffff:0:0:0/96"],
  ["reserved", "2001::/32"],
  ["reserved", "64:ff9b::/96"],
  ["reserved", "64:ff9b:1::/48"],
  ["reserved", "100::/64"],
  ["reserved", "2001:db8::/32"],
  // Benchmarking, ORCHIDv2 and the newer documentation range: never public hosts.
  ["reserved", "2001:2::/48"],
  ["reserved", "2001:20::/28"],
  ["reserved", "3fff::/20"],
  // Segment Routing (SRv6) SIDs, RFC 9602: not globally reachable, routed inside an operator's domain.
  ["reserved", "5f00::/16"],
  ["reserved", "2002::/16"],
  ["private", "fc00::/7"],
  ["link-local", "fe80::/10"],
  ["private", "fec0::/10"],
  ["multicast", "ff00::/8"],
] as const).map(([kind, cidr]) => [kind, parseNetwork(cidr)]);

/** The special range `address` is in (first match, metadata first), or undefined for a public address. */
export function addressKind(address: Address): AddressKind | undefined {
  return special.find(([, network]) => inNetwork(address, network))?.[0];
}

/**
 * Whether the operator's networks let a plugin reach `address` of `kind`.
 * Cloud-metadata addresses need a network that names them alone (/32, /128):
 * allowing 169.254.0.0/16 for a device does not open the metadata service.
 */
export function allowedBy(
  address: Address,
  kind: AddressKind,
  networks: readonly Network[],
): Network | undefined {
  return networks.find((n) =>
    inNetwork(address, n) && (kind !== "metadata" || n.prefix === (n.family === 4 ? 32 : 128))
  );
}

function mask(family: 4 | 6, prefix: number): bigint {
  const bits = family === 4 ? 32n : 128n;
  const all = (1n << bits) - 1n;
  return prefix === 0 ? 0n : (all >> (bits - BigInt(prefix))) << (bits - BigInt(prefix));
}

function v4Address(value: bigint): Address {
  const parts = [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn));
  return { family: 4, value, text: parts.join(".") };
}

/** Dotted-quad decimal only: the URL parser has already turned 0x7f.1 and 2130706433 into it. */
function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  if (bytes.some((b) => b > 255)) return undefined;
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-f:.]+$/.test(text) || text.split("::").length > 2) return undefined;
  let groups: number[] = [];
  const halves = text.split("::").map((half) => (half === "" ? [] : half.split(":")));
  const expand = (parts: string[]): number[] | undefined => {
    const out: number[] = [];
    for (const [i, part] of parts.entries()) {
      if (part.includes(".") && i === parts.length - 1) {
        const v4 = parseV4(part);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-f]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = expand(halves[0] ?? []);
  const tail = halves.length === 2 ? expand(halves[1] ?? []) : [];
  if (head === undefined || tail === undefined) return undefined;
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return undefined;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else groups = head;
  if (groups.length !== 8) return undefined;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

function v6Text(value: bigint): string {
  const groups = [...Array(8).keys()].map((i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // Longest run of zero groups (2 or more) becomes "::".
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
