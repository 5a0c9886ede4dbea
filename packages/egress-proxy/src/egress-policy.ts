import { classifyAddress, formatAddress, inCidr, parseAddress, parseCidr, type Cidr } from "./address-ranges.js";
import { matchDomain, normalizeHostname, parseDomainPattern, type DomainPattern } from "./domain-names.js";

/** The tiers the proxy enforces (`full` needs no proxy, `none` has no network to proxy). */
export type ProxiedTier = "internet-only" | "allowlist";

/** What the proxy is told at start (JSON in `SBX_EGRESS_POLICY`): not secret. */
export interface EgressPolicy {
  tier: ProxiedTier;
  /** `example.com` and `*.example.com` entries; only the `allowlist` tier reads them. @default [] */
  allowedDomains?: string[];
  /**
   * Addresses refused on top of the ranges: the Docker host's own addresses, which a public-looking
   * address of the host would otherwise reach. @default []
   */
  refusedAddresses?: string[];
}

/**
 * TEST ONLY: CIDRs the address check treats as public, so a test can stand one of its own Docker
 * networks in for "the internet". The CLI never sets it; the proxy reads it only from its
 * `--test-public-cidr` argument.
 */
export interface EgressTestSettings {
  publicCidrs: string[];
}

/** What a transport asks: the canonical destination (the CONNECT target, the absolute URI, the DNS question). */
export interface EgressRequest {
  host: string;
  port: number;
  /** The address the proxy resolved `host` to and is about to connect to; absent for the name check. */
  address?: string;
}

export type EgressDecision =
  | { action: "allow"; rule: string; reason: string }
  | { action: "refuse"; rule: string; reason: string };

/**
 * The one decision function of every transport (HTTP CONNECT, plain HTTP, DNS). Called twice per
 * connection: once with the name (before any DNS query leaves the proxy, so a refused name is
 * never even resolved — no DNS tunnelling through the proxy's resolver), and once per resolved
 * address, which is the address the proxy then connects to (so a name that rebinds to a private
 * address between two lookups still cannot reach it).
 *
 * Contract: a decision function that throws denies. Callers go through `decide`, which turns any
 * exception into a refusal, so a bug here fails closed.
 */
export function decideEgress(policy: CompiledPolicy, request: EgressRequest): EgressDecision {
  const { tier } = policy;
  if (!Number.isInteger(request.port) || request.port < 1 || request.port > 65535) {
    return refuse("bad-port", `port ${String(request.port)} is not a TCP port`);
  }
  const host = request.host.startsWith("[") && request.host.endsWith("]") ? request.host.slice(1, -1) : request.host;
  const literal = parseAddress(host);
  const name = literal ? undefined : normalizeHostname(host);
  // The WHATWG host parser turns `0x7f.1` into 127.0.0.1: what it normalises to an address is one.
  const address = literal ?? (name ? parseAddress(name) : undefined);
  if (!address && !name) return refuse("bad-name", `${JSON.stringify(request.host)} is not a valid host name`);

  let allowedBy: DomainPattern | undefined;
  if (tier === "allowlist") {
    if (address) return refuse("not-listed", `${host} is an address, and the allowlist names domains only`);
    allowedBy = matchDomain(name as string, policy.domains);
    if (!allowedBy) return refuse("not-listed", `${name} is not on this sandbox's allowlist`);
  }
  const checked = request.address !== undefined ? parseAddress(request.address) : address;
  if (request.address !== undefined && !checked) return refuse("bad-address", `the resolver returned ${JSON.stringify(request.address)}, which is not an address`);
  if (!checked) {
    // The name check passed; the address check follows once the proxy has resolved it.
    return allowedBy ? allow(`allowlist:${allowedBy.pattern}`, `${name} matches ${allowedBy.pattern}`) : allow("internet-only", `${name} is a name; its addresses are checked next`);
  }
  const shown = formatAddress(checked);
  if (policy.testPublic.some((cidr) => inCidr(checked, cidr))) {
    return allowedBy ? allow(`allowlist:${allowedBy.pattern}`, `${name} matches ${allowedBy.pattern} and ${shown} is on a network a test marked public`) : allow("test-public", `${shown} is on a network a test marked public`);
  }
  if (policy.refused.some((refused) => refused.every((byte, index) => byte === checked[index]))) {
    return refuse("host-address", `${shown} is one of the Docker host's own addresses`);
  }
  const verdict = classifyAddress(checked);
  if (!verdict.public) return refuse(verdict.range.rule, `${shown}${name ? ` (${name})` : ""} is ${verdict.range.label}${verdict.form ? ` written in ${verdict.form} form` : ""}`);
  return allowedBy
    ? allow(`allowlist:${allowedBy.pattern}`, `${name} matches ${allowedBy.pattern} and ${shown} is public`)
    : allow("public-address", `${shown} is a public address`);
}

/** `decideEgress`, failing closed: an exception becomes a refusal with rule `policy-error`. */
export function decide(policy: CompiledPolicy, request: EgressRequest): EgressDecision {
  try {
    return decideEgress(policy, request);
  } catch (error) {
    return refuse("policy-error", `the policy check failed (${(error as Error).message}), so the connection is refused`);
  }
}

export interface CompiledPolicy {
  tier: ProxiedTier;
  domains: DomainPattern[];
  refused: Uint8Array[];
  testPublic: Cidr[];
}

/**
 * Validates and compiles a policy once, at proxy start. An invalid entry is an error here (the
 * proxy refuses to start, so the sandbox has no network) rather than a silently dropped rule.
 */
export function compilePolicy(policy: EgressPolicy, test: EgressTestSettings = { publicCidrs: [] }): CompiledPolicy {
  if (policy.tier !== "internet-only" && policy.tier !== "allowlist") throw new Error(`the egress proxy does not enforce the tier ${JSON.stringify(policy.tier)}`);
  const domains = (policy.allowedDomains ?? []).map((entry) => {
    const pattern = parseDomainPattern(entry);
    if (!pattern) throw new Error(`${JSON.stringify(entry)} is not a domain or *.domain pattern`);
    return pattern;
  });
  const refused = (policy.refusedAddresses ?? []).map((entry) => {
    const address = parseAddress(entry);
    if (!address) throw new Error(`${JSON.stringify(entry)} is not an IP address`);
    return address;
  });
  const testPublic = test.publicCidrs.map((entry) => {
    const cidr = parseCidr(entry);
    if (!cidr) throw new Error(`${JSON.stringify(entry)} is not a CIDR`);
    return cidr;
  });
  return { tier: policy.tier, domains, refused, testPublic };
}

/** Checks allowlist entries the way the proxy will, so the CLI can refuse a typo before starting anything. */
export function invalidDomainPatterns(entries: readonly string[]): string[] {
  return entries.filter((entry) => parseDomainPattern(entry) === undefined);
}

/** The rules of a tier, one line each, for the pre-launch audit and `sbx status`. */
export function describePolicy(policy: EgressPolicy): string[] {
  const refused = "no private (RFC 1918), CGNAT, loopback, link-local/metadata, unique-local or link-local IPv6, multicast or reserved addresses, in any IPv6 form; not the Docker host";
  if (policy.tier === "internet-only") return [`public addresses only: ${refused}`];
  const domains = policy.allowedDomains ?? [];
  return [`only ${domains.length ? domains.join(", ") : "(no domains)"}`, `and even those: ${refused}`];
}

function allow(rule: string, reason: string): EgressDecision {
  return { action: "allow", rule, reason };
}

function refuse(rule: string, reason: string): EgressDecision {
  return { action: "refuse", rule, reason };
}
