/**
 * Which IP addresses count as "not the public internet". Pure: bytes in, a verdict out.
 *
 * Every address is parsed to its 16-byte IPv6 form first, so an IPv4 address and each IPv6 form
 * that carries one (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64
 * `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`) meet the same IPv4 table: a refused IPv4 range
 * cannot be reached by writing it the IPv6 way.
 */

export interface AddressRange {
  /** A stable rule name, shown in refusals and in `sbx network log`. */
  rule: string;
  /** What the range is, in the words a user reads in a 403. */
  label: string;
  cidr: string;
}

/** IPv4 ranges that are not public destinations (IANA special-purpose registry and friends). */
export const REFUSED_IPV4: readonly AddressRange[] = [
  { rule: "this-network", label: "\"this network\" (0.0.0.0/8)", cidr: "0.0.0.0/8" },
  { rule: "private", label: "a private (RFC 1918) address", cidr: "10.0.0.0/8" },
  { rule: "cgnat", label: "a carrier-grade NAT (100.64/10) address", cidr: "100.64.0.0/10" },
  { rule: "loopback", label: "a loopback address", cidr: "127.0.0.0/8" },
  // Covers the cloud metadata endpoints (169.254.169.254, 169.254.170.2, …).
  { rule: "link-local", label: "a link-local address (includes cloud metadata)", cidr: "169.254.0.0/16" },
  { rule: "private", label: "a private (RFC 1918) address", cidr: "172.16.0.0/12" },
  { rule: "reserved", label: "an IETF protocol assignment (192.0.0.0/24)", cidr: "192.0.0.0/24" },
  { rule: "documentation", label: "a documentation address", cidr: "192.0.2.0/24" },
  { rule: "reserved", label: "the 6to4 relay anycast range", cidr: "192.88.99.0/24" },
  { rule: "private", label: "a private (RFC 1918) address", cidr: "192.168.0.0/16" },
  { rule: "reserved", label: "a benchmarking address (198.18/15)", cidr: "198.18.0.0/15" },
  { rule: "documentation", label: "a documentation address", cidr: "198.51.100.0/24" },
  { rule: "documentation", label: "a documentation address", cidr: "203.0.113.0/24" },
  { rule: "multicast", label: "a multicast address", cidr: "224.0.0.0/4" },
  // 240/4 also holds the limited broadcast 255.255.255.255.
  { rule: "reserved", label: "a reserved address (240/4, broadcast)", cidr: "240.0.0.0/4" },
];

/** IPv6 ranges refused outright (the forms that embed IPv4 are unwrapped before these apply). */
export const REFUSED_IPV6: readonly AddressRange[] = [
  { rule: "unspecified", label: "the unspecified address", cidr: "::/128" },
  { rule: "loopback", label: "a loopback address", cidr: "::1/128" },
  { rule: "reserved", label: "a local-use NAT64 address (64:ff9b:1::/48)", cidr: "64:ff9b:1::/48" },
  { rule: "reserved", label: "a discard-only address (100::/64)", cidr: "100::/64" },
  // Teredo (2001::/32) tunnels to an obfuscated IPv4 address; the rest of 2001::/23 is protocol use.
  { rule: "reserved", label: "an IETF protocol assignment (2001::/23, includes Teredo)", cidr: "2001::/23" },
  { rule: "documentation", label: "a documentation address", cidr: "2001:db8::/32" },
  { rule: "documentation", label: "a documentation address", cidr: "3fff::/20" },
  { rule: "unique-local", label: "a unique-local IPv6 address (fc00::/7)", cidr: "fc00::/7" },
  { rule: "link-local", label: "a link-local IPv6 address (fe80::/10)", cidr: "fe80::/10" },
  { rule: "site-local", label: "a site-local IPv6 address (fec0::/10)", cidr: "fec0::/10" },
  { rule: "multicast", label: "a multicast address", cidr: "ff00::/8" },
];

/** Parses an IPv4 or IPv6 literal (no zone id, no brackets) to 16 bytes; undefined if it is not one. */
export function parseAddress(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4) return mapped(v4);
  return parseIpv6(text);
}

/** Dotted-quad only: `127.1`, `0x7f.0.0.1` and `2130706433` are not addresses here (they are names, resolved and then checked). */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (const [index, part] of parts.entries()) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const value = Number(part);
    if (value > 255) return undefined;
    bytes[index] = value;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return undefined;
  let head = text;
  let tailV4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    if (!tailV4) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === "" ? [] : half.split(":"));
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  for (const [index, group] of all.entries()) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(group)) return undefined;
    const value = parseInt(group, 16);
    bytes[index * 2] = value >> 8;
    bytes[index * 2 + 1] = value & 0xff;
  }
  if (tailV4) bytes.set(tailV4, 12);
  return bytes;
}

function mapped(v4: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(16);
  bytes[10] = 0xff;
  bytes[11] = 0xff;
  bytes.set(v4, 12);
  return bytes;
}

/** A parsed CIDR: 16-byte network and prefix length in the 128-bit space. */
export interface Cidr {
  network: Uint8Array;
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const [address, length, extra] = text.split("/");
  if (address === undefined || length === undefined || extra !== undefined || !/^\d{1,3}$/.test(length)) return undefined;
  const isV4 = parseIpv4(address) !== undefined;
  const network = parseAddress(address);
  const prefix = Number(length) + (isV4 ? 96 : 0);
  if (!network || prefix > 128 || (isV4 && Number(length) > 32)) return undefined;
  return { network, prefix };
}

export function inCidr(address: Uint8Array, cidr: Cidr): boolean {
  const full = Math.floor(cidr.prefix / 8);
  for (let i = 0; i < full; i += 1) if (address[i] !== cidr.network[i]) return false;
  const rest = cidr.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((address[full] as number) & mask) === ((cidr.network[full] as number) & mask);
}

const v4Table = REFUSED_IPV4.map((range) => ({ range, cidr: parseCidr(range.cidr) as Cidr }));
const v6Table = REFUSED_IPV6.map((range) => ({ range, cidr: parseCidr(range.cidr) as Cidr }));
const IPV4_MAPPED = parseCidr("::ffff:0:0/96") as Cidr;
const IPV4_COMPATIBLE = parseCidr("::/96") as Cidr;
const NAT64 = parseCidr("64:ff9b::/96") as Cidr;
const SIX_TO_FOUR = parseCidr("2002::/16") as Cidr;
const GLOBAL_UNICAST = parseCidr("2000::/3") as Cidr;

/** The IPv4 address an IPv6 form carries, if it is one of the forms that reach IPv4 hosts. */
export function embeddedIpv4(address: Uint8Array): { v4: Uint8Array; form: string } | undefined {
  if (inCidr(address, IPV4_MAPPED)) return { v4: address.slice(12), form: "IPv4-mapped" };
  if (inCidr(address, NAT64)) return { v4: address.slice(12), form: "NAT64" };
  if (inCidr(address, SIX_TO_FOUR)) return { v4: address.slice(2, 6), form: "6to4" };
  // ::/96 minus :: and ::1 is the deprecated IPv4-compatible form.
  if (inCidr(address, IPV4_COMPATIBLE) && !inCidr(address, parseCidr("::/127") as Cidr)) return { v4: address.slice(12), form: "IPv4-compatible" };
  return undefined;
}

export type AddressVerdict = { public: true } | { public: false; range: AddressRange; form?: string };

/**
 * Whether an address (16 bytes from `parseAddress`) is a public destination. IPv6 must be global
 * unicast (2000::/3) and outside the refused sub-ranges; anything unassigned is refused too.
 */
export function classifyAddress(address: Uint8Array): AddressVerdict {
  // IPv4 and IPv4-mapped IPv6 (the same 16 bytes here) meet the IPv4 table directly.
  if (inCidr(address, IPV4_MAPPED)) {
    for (const { range, cidr } of v4Table) if (inCidr(address, cidr)) return { public: false, range };
    return { public: true };
  }
  const embedded = embeddedIpv4(address);
  if (embedded) {
    // Deprecated (RFC 4291) and never routed: nothing legitimate connects to it.
    if (embedded.form === "IPv4-compatible") return { public: false, range: { rule: "reserved", label: "a deprecated IPv4-compatible IPv6 address", cidr: "::/96" }, form: embedded.form };
    const inner = classifyAddress(mapped(embedded.v4));
    return inner.public ? inner : { ...inner, form: embedded.form };
  }
  for (const { range, cidr } of v6Table) if (inCidr(address, cidr)) return { public: false, range };
  if (!inCidr(address, GLOBAL_UNICAST)) {
    return { public: false, range: { rule: "reserved", label: "an unassigned IPv6 address (outside 2000::/3)", cidr: "::/0" } };
  }
  return { public: true };
}

/** The address as text: dotted quad for IPv4 (and IPv4-mapped), compressed lower-case IPv6 otherwise. */
export function formatAddress(address: Uint8Array): string {
  if (inCidr(address, IPV4_MAPPED)) return [...address.slice(12)].join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((address[i] as number) << 8) | (address[i + 1] as number));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((group) => group.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}
