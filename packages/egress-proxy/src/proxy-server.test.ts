import { createSocket } from "node:dgram";
import { createServer, request, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerQuery, dnsAnswer, parseDnsQuery, startDnsServers } from "./dns-server.js";
import type { EgressLogEntry, EgressLogWriter } from "./egress-log.js";
import { compilePolicy } from "./egress-policy.js";
import { createEgressProxy, parseAuthority, type Resolver } from "./proxy-server.js";

/** A log the test can read. */
function memoryLog(): EgressLogWriter & { entries: EgressLogEntry[] } {
  const entries: EgressLogEntry[] = [];
  return { entries, record: (entry) => entries.push({ time: new Date().toISOString(), ...entry }) };
}

const listen = (server: Server | ReturnType<typeof createServer>) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));

/** Sends raw bytes to the proxy and returns everything it answers before closing (or after `waitMs`). */
function rawExchange(port: number, bytes: string, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let text = "";
    socket.on("data", (chunk) => (text += chunk.toString("utf8")));
    const done = () => resolve(text);
    socket.on("close", done);
    socket.on("error", done);
    socket.write(bytes);
    setTimeout(() => socket.destroy(), waitMs);
  });
}

describe("the egress proxy on loopback", () => {
  // The upstream stands in for "a public host": a loopback listener this test marks public.
  const upstream = createServer((req, res) => res.end(`upstream saw ${req.method} ${req.url} host=${req.headers.host} proxy-auth=${req.headers["proxy-authorization"] ?? "none"}`));
  let upstreamPort = 0;
  let proxyPort = 0;
  const log = memoryLog();
  const lookups: string[] = [];
  // A rebinding name server: the first answer is the public stand-in, every later one private.
  let rebindCalls = 0;
  const resolve: Resolver = async (name) => {
    lookups.push(name);
    if (name === "public.test" || name === "api.allowed.test") return ["127.0.0.1"];
    if (name === "lan.test") return ["10.1.2.3"];
    if (name === "rebind.test") return rebindCalls++ === 0 ? ["127.0.0.1"] : ["10.9.9.9"];
    if (name === "mixed.test") return ["169.254.169.254", "127.0.0.1"];
    throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
  };
  const policy = compilePolicy({ tier: "internet-only" }, { publicCidrs: ["127.0.0.0/8"] });
  const proxy = createEgressProxy({ policy, log, resolve });
  const allowlistProxy = createEgressProxy({ policy: compilePolicy({ tier: "allowlist", allowedDomains: ["api.allowed.test"] }, { publicCidrs: ["127.0.0.0/8"] }), log, resolve });
  let allowlistPort = 0;

  beforeAll(async () => {
    upstreamPort = await listen(upstream);
    proxyPort = await listen(proxy);
    allowlistPort = await listen(allowlistProxy);
  });
  afterAll(() => {
    for (const server of [upstream, proxy, allowlistProxy]) server.close();
  });

  it("tunnels a CONNECT to an allowed destination, to the address it checked", async () => {
    const answer = await rawExchange(proxyPort, `CONNECT public.test:${upstreamPort} HTTP/1.1\r\nHost: public.test:${upstreamPort}\r\n\r\nGET /tunnelled HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 200 Connection Established/);
    expect(answer).toContain("upstream saw GET /tunnelled");
    expect(log.entries.at(-1)).toMatchObject({ transport: "connect", host: "public.test", decision: "allowed", address: "127.0.0.1", rule: "test-public" });
  });

  it("refuses a CONNECT to a name resolving to a private address with a 403 naming tier and rule", async () => {
    const answer = await rawExchange(proxyPort, `CONNECT lan.test:443 HTTP/1.1\r\nHost: lan.test:443\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 403 Forbidden/);
    expect(answer).toContain("sbx egress proxy refused lan.test:443: 10.1.2.3 (lan.test) is a private (RFC 1918) address (network tier internet-only, rule private)");
    expect(log.entries.at(-1)).toMatchObject({ decision: "refused", rule: "private", address: "10.1.2.3" });
  });

  it("refuses CONNECT to the metadata address by IP, in any spelling", async () => {
    for (const target of ["169.254.169.254:80", "[::ffff:169.254.169.254]:80", "[::ffff:a9fe:a9fe]:80"]) {
      const answer = await rawExchange(proxyPort, `CONNECT ${target} HTTP/1.1\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1.1 403 Forbidden[\s\S]*rule link-local/);
    }
  });

  it("resolves once per connection and connects to that answer: a rebinding name cannot reach the private address", async () => {
    rebindCalls = 0;
    const before = lookups.filter((name) => name === "rebind.test").length;
    const answer = await rawExchange(proxyPort, `CONNECT rebind.test:${upstreamPort} HTTP/1.1\r\n\r\nGET /r HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer).toContain("upstream saw GET /r");
    expect(lookups.filter((name) => name === "rebind.test").length - before).toBe(1);
    // The next connection gets the rebound (private) answer, checked again, and refused.
    const second = await rawExchange(proxyPort, `CONNECT rebind.test:${upstreamPort} HTTP/1.1\r\n\r\n`);
    expect(second).toMatch(/^HTTP\/1.1 403[\s\S]*rule private/);
  });

  it("skips a refused address among several and connects to the allowed one", async () => {
    const answer = await rawExchange(proxyPort, `CONNECT mixed.test:${upstreamPort} HTTP/1.1\r\n\r\nGET /m HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(answer).toContain("upstream saw GET /m");
  });

  it("proxies plain HTTP to the absolute URI's host, never the Host header's, and drops Proxy-Authorization", async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: proxyPort, path: `http://public.test:${upstreamPort}/plain?q=1`, headers: { host: "lan.test", "proxy-authorization": "Basic c2VjcmV0" } }, (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end();
    });
    expect(body).toBe(`upstream saw GET /plain?q=1 host=public.test:${upstreamPort} proxy-auth=none`);
  });

  it("refuses plain HTTP to a private destination with a 403 body naming the rule", async () => {
    const answer = await rawExchange(proxyPort, `GET http://10.0.0.1/ HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 403 Forbidden/);
    expect(answer).toContain("rule private");
  });

  it("answers a request that is not proxy-shaped with 400, and forwards nothing", async () => {
    expect(await rawExchange(proxyPort, `GET / HTTP/1.1\r\nHost: public.test\r\n\r\n`)).toMatch(/^HTTP\/1.1 400/);
    expect(await rawExchange(proxyPort, `CONNECT public.test HTTP/1.1\r\n\r\n`)).toMatch(/^HTTP\/1.1 400/);
    expect(await rawExchange(proxyPort, `GET https://public.test/ HTTP/1.1\r\nHost: public.test\r\n\r\n`)).toMatch(/^HTTP\/1.1 400/);
  });

  it("refuses ambiguous framing (Content-Length with Transfer-Encoding) instead of forwarding it", async () => {
    const answer = await rawExchange(proxyPort, `POST http://public.test:${upstreamPort}/ HTTP/1.1\r\nHost: public.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 400/);
  });

  it("under allowlist, refuses an unlisted name without resolving it, and says how to allow it", async () => {
    const before = lookups.length;
    const answer = await rawExchange(allowlistPort, `CONNECT public.test:${upstreamPort} HTTP/1.1\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1.1 403 Forbidden/);
    expect(answer).toContain("public.test is not on this sandbox's allowlist (network tier allowlist, rule not-listed)");
    expect(answer).toContain("sbx up --allow");
    expect(lookups.length).toBe(before);
    const allowed = await rawExchange(allowlistPort, `CONNECT api.allowed.test:${upstreamPort} HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(allowed).toContain("upstream saw GET /a");
  });

  it("parses only authority-form CONNECT targets", () => {
    expect(parseAuthority("example.com:443")).toEqual({ host: "example.com", port: 443 });
    expect(parseAuthority("[::1]:443")).toEqual({ host: "[::1]", port: 443 });
    for (const bad of ["example.com", "user@example.com:443", "http://example.com:443", "example.com:443/x", "::1:443", ""]) expect(parseAuthority(bad), bad).toBeUndefined();
  });
});

/** A DNS query for `name` of `type` (1 = A, 28 = AAAA, 16 = TXT). */
function dnsQuery(name: string, type = 1, id = 0x1234): Buffer {
  const labels = name.split(".").map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)]));
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  return Buffer.concat([header, ...labels, Buffer.from([0, type >> 8, type & 0xff, 0, 1])]);
}

describe("the DNS sinkhole", () => {
  const allowlist = compilePolicy({ tier: "allowlist", allowedDomains: ["api.anthropic.com"] });

  it("answers an allowed name with the proxy's own address, never a real one", () => {
    const reply = answerQuery(allowlist, memoryLog(), dnsQuery("api.anthropic.com"), "172.20.0.2") as Buffer;
    expect(reply.readUInt16BE(0)).toBe(0x1234);
    expect(reply.readUInt16BE(2) & 0xf).toBe(0);
    expect(reply.readUInt16BE(6)).toBe(1);
    expect([...reply.subarray(-4)]).toEqual([172, 20, 0, 2]);
  });

  it("refuses a name the policy refuses (REFUSED), so a tunnel through a listed resolver gets nothing", () => {
    const log = memoryLog();
    const reply = answerQuery(allowlist, log, dnsQuery("c2VjcmV0.exfil.attacker.test", 16), "172.20.0.2") as Buffer;
    expect(reply.readUInt16BE(2) & 0xf).toBe(5);
    expect(reply.readUInt16BE(6)).toBe(0);
    expect(log.entries[0]).toMatchObject({ transport: "dns", decision: "refused", rule: "not-listed" });
  });

  it("gives no AAAA or other records, and FORMERR for what is not a one-question query", () => {
    const aaaa = answerQuery(allowlist, memoryLog(), dnsQuery("api.anthropic.com", 28), "172.20.0.2") as Buffer;
    expect([aaaa.readUInt16BE(2) & 0xf, aaaa.readUInt16BE(6)]).toEqual([0, 0]);
    const garbage = Buffer.alloc(20, 0xff);
    expect((answerQuery(allowlist, memoryLog(), garbage, "172.20.0.2") as Buffer).readUInt16BE(2) & 0xf).toBe(1);
    expect(parseDnsQuery(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]))).toBeUndefined();
    expect(dnsAnswer({ id: 1, flags: 0x0100, name: "x", type: 1, question: Buffer.alloc(0) }, 0).readUInt16BE(2) & 0x0080).toBe(0);
  });

  it("serves UDP and TCP on loopback and never asks an upstream resolver", async () => {
    const internetOnly = compilePolicy({ tier: "internet-only" });
    const servers = await startDnsServers(internetOnly, memoryLog(), ["127.0.0.1"], 0);
    try {
      const udpPort = (servers.udp[0]?.address() as AddressInfo).port;
      const client = createSocket("udp4");
      const udpReply = await new Promise<Buffer>((resolve) => {
        client.on("message", (message) => resolve(message));
        client.send(dnsQuery("anything.example"), udpPort, "127.0.0.1");
      });
      client.close();
      expect([...udpReply.subarray(-4)]).toEqual([127, 0, 0, 1]);
      const tcpPort = (servers.tcp.address() as AddressInfo).port;
      const tcpReply = await new Promise<Buffer>((resolve) => {
        const socket = connect(tcpPort, "127.0.0.1");
        const query = dnsQuery("anything.example");
        const framed = Buffer.concat([Buffer.from([query.length >> 8, query.length & 0xff]), query]);
        socket.on("data", (data) => {
          resolve(data);
          socket.destroy();
        });
        socket.write(framed);
      });
      expect(tcpReply.readUInt16BE(0)).toBe(tcpReply.length - 2);
      expect([...tcpReply.subarray(-4)]).toEqual([127, 0, 0, 1]);
    } finally {
      await servers.close();
    }
  });
});
