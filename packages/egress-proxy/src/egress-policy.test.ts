import { describe, expect, it } from "vitest";
import { formatAddress, parseAddress } from "./address-ranges.js";
import { compilePolicy, decide, decideEgress, invalidDomainPatterns, type EgressDecision } from "./egress-policy.js";

const internetOnly = compilePolicy({ tier: "internet-only", refusedAddresses: ["198.41.0.4"] });
const allowlist = compilePolicy({ tier: "allowlist", allowedDomains: ["api.anthropic.com", "*.example.com", "bücher.de"] });

const address = (host: string, policy = internetOnly): EgressDecision => decideEgress(policy, { host, port: 443 });
const resolved = (host: string, to: string, policy = allowlist): EgressDecision => decideEgress(policy, { host, port: 443, address: to });

describe("the address check (internet-only)", () => {
  const refused: Array<[string, string]> = [
    ["0.0.0.0", "this-network"],
    ["0.1.2.3", "this-network"],
    ["10.0.0.1", "private"],
    ["10.255.255.255", "private"],
    ["100.64.0.1", "cgnat"],
    ["100.127.255.254", "cgnat"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["169.254.169.254", "link-local"],
    ["169.254.170.2", "link-local"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.0.0.8", "reserved"],
    ["192.0.2.1", "documentation"],
    ["192.88.99.1", "reserved"],
    ["192.168.1.1", "private"],
    ["198.18.0.1", "reserved"],
    ["198.51.100.7", "documentation"],
    ["203.0.113.9", "documentation"],
    ["224.0.0.251", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["::", "unspecified"],
    ["::1", "loopback"],
    ["fc00::1", "unique-local"],
    ["fd12:3456:789a::1", "unique-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["fec0::1", "site-local"],
    ["ff02::1", "multicast"],
    ["2001:db8::1", "documentation"],
    ["2001:0:4136:e378::1", "reserved"],
    ["100::1", "reserved"],
    ["64:ff9b:1::1", "reserved"],
    ["4000::1", "reserved"],
    // IPv4 in IPv6 clothing reaches the same IPv4 table.
    ["::ffff:127.0.0.1", "loopback"],
    ["::ffff:7f00:1", "loopback"],
    ["::ffff:169.254.169.254", "link-local"],
    ["::ffff:a9fe:a9fe", "link-local"],
    ["::ffff:10.1.2.3", "private"],
    ["0:0:0:0:0:ffff:192.168.0.1", "private"],
    ["::127.0.0.1", "reserved"],
    ["::8.8.8.8", "reserved"],
    ["64:ff9b::10.0.0.1", "private"],
    ["64:ff9b::a9fe:a9fe", "link-local"],
    ["2002:a9fe:a9fe::1", "link-local"],
    ["2002:c0a8:0101::", "private"],
    ["2002:7f00:1::", "loopback"],
  ];
  for (const [ip, rule] of refused) {
    it(`refuses ${ip} (${rule})`, () => {
      expect(address(ip)).toMatchObject({ action: "refuse", rule });
      expect(address(`[${ip}]`)).toMatchObject({ action: "refuse", rule });
    });
  }

  for (const ip of ["1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0", "169.253.1.1", "11.0.0.1", "2606:4700::1111", "2a00:1450:4001::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]) {
    it(`allows the public address ${ip}`, () => {
      expect(address(ip)).toMatchObject({ action: "allow" });
    });
  }

  it("refuses the Docker host's own addresses even when they look public", () => {
    expect(address("198.41.0.4")).toMatchObject({ action: "refuse", rule: "host-address" });
    expect(address("::ffff:198.41.0.4")).toMatchObject({ action: "refuse", rule: "host-address" });
  });

  it("checks the address a name resolved to, not the name: a name resolving to a private address is refused", () => {
    expect(decideEgress(internetOnly, { host: "rebind.example", port: 443 })).toMatchObject({ action: "allow" });
    expect(decideEgress(internetOnly, { host: "rebind.example", port: 443, address: "10.0.0.5" })).toMatchObject({ action: "refuse", rule: "private" });
    expect(decideEgress(internetOnly, { host: "rebind.example", port: 443, address: "::ffff:169.254.169.254" })).toMatchObject({ action: "refuse", rule: "link-local" });
    expect(decideEgress(internetOnly, { host: "localhost", port: 80, address: "127.0.0.1" })).toMatchObject({ action: "refuse", rule: "loopback" });
  });

  it("treats WHATWG-style numeric hosts as the address they mean", () => {
    expect(address("0x7f.1")).toMatchObject({ action: "refuse", rule: "loopback" });
    expect(address("2130706433")).toMatchObject({ action: "refuse", rule: "loopback" });
    expect(address("0251.0376.0251.0376")).toMatchObject({ action: "refuse", rule: "link-local" });
  });

  it("refuses a port that is not a TCP port, and a host that is not a name", () => {
    expect(decideEgress(internetOnly, { host: "example.com", port: 0 })).toMatchObject({ action: "refuse", rule: "bad-port" });
    expect(decideEgress(internetOnly, { host: "example.com", port: 70000 })).toMatchObject({ action: "refuse", rule: "bad-port" });
    expect(decideEgress(internetOnly, { host: "exa mple.com", port: 443 })).toMatchObject({ action: "refuse", rule: "bad-name" });
    expect(decideEgress(internetOnly, { host: "", port: 443 })).toMatchObject({ action: "refuse", rule: "bad-name" });
    expect(decideEgress(internetOnly, { host: "fe80::1%eth0", port: 443 })).toMatchObject({ action: "refuse" });
    expect(decideEgress(internetOnly, { host: "example.com", port: 443, address: "not-an-ip" })).toMatchObject({ action: "refuse", rule: "bad-address" });
  });

  it("lets a test mark one of its own networks public, and only that one", () => {
    const test = compilePolicy({ tier: "internet-only" }, { publicCidrs: ["172.30.0.0/16"] });
    expect(decideEgress(test, { host: "172.30.1.2", port: 80 })).toMatchObject({ action: "allow", rule: "test-public" });
    expect(decideEgress(test, { host: "172.31.1.2", port: 80 })).toMatchObject({ action: "refuse", rule: "private" });
  });
});

describe("the allowlist", () => {
  it("allows a listed name on a public address, naming the pattern that allowed it", () => {
    expect(resolved("api.anthropic.com", "160.79.104.10")).toMatchObject({ action: "allow", rule: "allowlist:api.anthropic.com" });
  });

  it("refuses a name that is not listed before resolving it", () => {
    expect(decideEgress(allowlist, { host: "evil.test", port: 443 })).toMatchObject({ action: "refuse", rule: "not-listed" });
    expect(decideEgress(allowlist, { host: "anthropic.com", port: 443 })).toMatchObject({ action: "refuse", rule: "not-listed" });
    expect(decideEgress(allowlist, { host: "api.anthropic.com.evil.test", port: 443 })).toMatchObject({ action: "refuse", rule: "not-listed" });
    expect(decideEgress(allowlist, { host: "xapi.anthropic.com", port: 443 })).toMatchObject({ action: "refuse", rule: "not-listed" });
  });

  it("still refuses everything internet-only refuses when a listed name resolves there", () => {
    expect(resolved("api.anthropic.com", "127.0.0.1")).toMatchObject({ action: "refuse", rule: "loopback" });
    expect(resolved("a.example.com", "169.254.169.254")).toMatchObject({ action: "refuse", rule: "link-local" });
    expect(resolved("a.example.com", "::ffff:192.168.1.1")).toMatchObject({ action: "refuse", rule: "private" });
    expect(resolved("a.example.com", "fd00::1")).toMatchObject({ action: "refuse", rule: "unique-local" });
  });

  it("refuses addresses: the allowlist names domains", () => {
    expect(decideEgress(allowlist, { host: "160.79.104.10", port: 443 })).toMatchObject({ action: "refuse", rule: "not-listed" });
    expect(decideEgress(allowlist, { host: "[2606:4700::1111]", port: 443 })).toMatchObject({ action: "refuse", rule: "not-listed" });
  });

  it("matches *.example.com below the name, not the name itself nor a look-alike", () => {
    expect(decideEgress(allowlist, { host: "a.example.com", port: 443 })).toMatchObject({ action: "allow", rule: "allowlist:*.example.com" });
    expect(decideEgress(allowlist, { host: "a.b.example.com", port: 443 })).toMatchObject({ action: "allow" });
    expect(decideEgress(allowlist, { host: "example.com", port: 443 })).toMatchObject({ action: "refuse" });
    expect(decideEgress(allowlist, { host: "badexample.com", port: 443 })).toMatchObject({ action: "refuse" });
    expect(decideEgress(allowlist, { host: "example.com.evil.test", port: 443 })).toMatchObject({ action: "refuse" });
  });

  it("ignores case and one trailing dot, in requests and in entries", () => {
    expect(decideEgress(allowlist, { host: "API.Anthropic.COM.", port: 443 })).toMatchObject({ action: "allow" });
    expect(decideEgress(allowlist, { host: "A.EXAMPLE.com", port: 443 })).toMatchObject({ action: "allow" });
    expect(decideEgress(allowlist, { host: "api.anthropic.com..", port: 443 })).toMatchObject({ action: "refuse" });
    const upper = compilePolicy({ tier: "allowlist", allowedDomains: ["API.ANTHROPIC.COM.", "*.Example.Com"] });
    expect(decideEgress(upper, { host: "api.anthropic.com", port: 443 })).toMatchObject({ action: "allow" });
    expect(decideEgress(upper, { host: "x.example.com", port: 443 })).toMatchObject({ action: "allow" });
  });

  it("compares internationalised names in punycode, both ways, and is not fooled by look-alikes", () => {
    expect(decideEgress(allowlist, { host: "bücher.de", port: 443 })).toMatchObject({ action: "allow", rule: "allowlist:xn--bcher-kva.de" });
    expect(decideEgress(allowlist, { host: "xn--bcher-kva.de", port: 443 })).toMatchObject({ action: "allow" });
    expect(decideEgress(allowlist, { host: "BÜCHER.de", port: 443 })).toMatchObject({ action: "allow" });
    // Cyrillic а (U+0430) in place of Latin a: another domain.
    expect(decideEgress(allowlist, { host: "\u0430pi.anthropic.com", port: 443 })).toMatchObject({ action: "refuse", rule: "not-listed" });
    // Full-width letters map to ASCII under IDNA, so they are the same name.
    expect(decideEgress(allowlist, { host: "ａｐｉ.anthropic.com", port: 443 })).toMatchObject({ action: "allow" });
  });

  it("refuses entries that are not domains, and a TLD-wide wildcard", () => {
    expect(invalidDomainPatterns(["api.anthropic.com", "*.example.com", "*.com", "*", "exa mple.com", "http://x.com", "a.*.com"])).toEqual(["*.com", "*", "exa mple.com", "http://x.com", "a.*.com"]);
    expect(() => compilePolicy({ tier: "allowlist", allowedDomains: ["*.com"] })).toThrow(/not a domain/);
  });
});

describe("failing closed", () => {
  it("turns an exception in the decision into a refusal", () => {
    const broken = { ...allowlist, domains: null as never };
    expect(() => decideEgress(broken, { host: "api.anthropic.com", port: 443 })).toThrow();
    expect(decide(broken, { host: "api.anthropic.com", port: 443 })).toMatchObject({ action: "refuse", rule: "policy-error" });
  });

  it("refuses to compile a tier it does not enforce", () => {
    expect(() => compilePolicy({ tier: "full" as never })).toThrow(/does not enforce/);
  });
});

describe("address parsing", () => {
  it("round-trips the forms it accepts and rejects the rest", () => {
    expect(formatAddress(parseAddress("2001:0db8:0000:0000:0000:0000:0000:0001") as Uint8Array)).toBe("2001:db8::1");
    expect(formatAddress(parseAddress("::ffff:7f00:1") as Uint8Array)).toBe("127.0.0.1");
    expect(formatAddress(parseAddress("fe80::") as Uint8Array)).toBe("fe80::");
    for (const bad of ["1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1::2::3", "1:2:3:4:5:6:7:8:9", "::g", "1.2.3.4::", ":::"]) {
      expect(parseAddress(bad), bad).toBeUndefined();
    }
  });
});
