import { domainToASCII } from "node:url";

/**
 * Host names as the proxy compares them: lower-case ASCII (IDN labels in punycode), one trailing
 * dot dropped. Pure.
 */
export function normalizeHostname(name: string): string | undefined {
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  if (trimmed === "" || trimmed.length > 253) return undefined;
  // domainToASCII lower-cases, applies IDNA mapping (so `ＡＰＩ.example` and `api.example` meet) and
  // returns "" for what is not a valid domain.
  const ascii = domainToASCII(trimmed);
  if (ascii === "" || ascii.endsWith(".")) return undefined;
  const labels = ascii.split(".");
  if (!labels.every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label))) return undefined;
  return ascii;
}

/** A validated allowlist entry: `example.com` (exactly that name) or `*.example.com` (any name below it, not the name itself). */
export interface DomainPattern {
  pattern: string;
  wildcard: boolean;
  /** The normalised name, without `*.`. */
  base: string;
}

export function parseDomainPattern(entry: string): DomainPattern | undefined {
  const wildcard = entry.startsWith("*.");
  const base = normalizeHostname(wildcard ? entry.slice(2) : entry);
  // A bare TLD wildcard (`*.com`) would be the whole internet by another name.
  if (!base || (wildcard && !base.includes("."))) return undefined;
  return { pattern: wildcard ? `*.${base}` : base, wildcard, base };
}

/** The first pattern that covers `host` (already normalised), if any. */
export function matchDomain(host: string, patterns: readonly DomainPattern[]): DomainPattern | undefined {
  return patterns.find((pattern) => (pattern.wildcard ? host.endsWith(`.${pattern.base}`) : host === pattern.base));
}
