/**
 * A small network lab for the tier tests, built only from the test's own containers and networks:
 * a "public" network (marked public for the proxy with its test-only --test-public-cidr), a "LAN"
 * network that stays private, a stand-in host on each answering HTTP and HTTPS, and a DNS server of
 * the test's own that answers every name. Nothing here ever targets an address the test did not
 * create.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { docker } from "./docker-cli.js";

const fixture = (name: string) => readFileSync(new URL(`../../../../test-fixtures/stand-in-tls/${name}`, import.meta.url), "utf8");

/** A stand-in host: HTTP on 80 and HTTPS on 443 (both stacks), answering with its name and a hit count. */
const HOST_SCRIPT = `
const http = require("http"), https = require("https");
let hits = 0;
const handler = (req, res) => {
  hits += 1;
  console.log("request " + req.method + " " + req.url + " host=" + req.headers.host);
  // An Anthropic-shaped error for the Messages API, so an agent pointed here stops at once (400 is not retried).
  if (req.url.startsWith("/v1/messages") && req.method === "POST") { res.writeHead(400, { "content-type": "application/json" }); return res.end(JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "stand-in API host " + process.env.HOST_NAME + " reached" } })); }
  res.setHeader("content-type", "text/plain"); res.end(process.env.HOST_NAME + " hit " + hits + " " + req.method + " " + req.url + " host=" + req.headers.host); };
http.createServer(handler).listen(80, "::");
https.createServer({ key: process.env.TLS_KEY, cert: process.env.TLS_CERT }, handler).listen(443, "::");
`;

/** The test's own resolver: answers every A query with 203.0.113.7 (UDP and TCP). */
const RESOLVER_SCRIPT = `
const dgram = require("dgram"), net = require("net");
const answer = (q) => { const h = Buffer.from(q.subarray(0, 12)); h.writeUInt16BE(0x8180, 2); h.writeUInt16BE(1, 6); return Buffer.concat([h, q.subarray(12), Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 7])]); };
const udp = dgram.createSocket("udp4"); udp.on("message", (m, r) => udp.send(answer(m), r.port, r.address)); udp.bind(53);
net.createServer((s) => s.on("data", (d) => { const a = answer(d.subarray(2)); const l = Buffer.alloc(2); l.writeUInt16BE(a.length); s.write(Buffer.concat([l, a])); })).listen(53);
`;

export interface Lab {
  suffix: string;
  image: string;
  publicNetwork: { name: string; v4: string; v6: string };
  lanNetwork: { name: string; v4: string };
  publicHost: { name: string; ipv4: string; ipv6: string };
  lanHost: { name: string; ipv4: string };
  resolver: { name: string; ipv4: string };
  cleanup(): void;
}

function inspectAddress(container: string, network: string, field = "IPAddress"): string {
  return docker(["inspect", "-f", `{{(index .NetworkSettings.Networks "${network}").${field}}}`, container]).stdout.trim();
}

export function startLab(image: string): Lab {
  const suffix = randomBytes(3).toString("hex");
  const names = { pub: `sbxtest-${suffix}-public`, lan: `sbxtest-${suffix}-lan`, pubHost: `sbxtest-${suffix}-pubhost`, lanHost: `sbxtest-${suffix}-lanhost`, resolver: `sbxtest-${suffix}-resolver` };
  const v6 = `fd${randomBytes(1).toString("hex")}:${randomBytes(2).toString("hex")}:${randomBytes(2).toString("hex")}::/64`;
  docker(["network", "create", "--label", `sbx.test=${suffix}`, "--ipv6", "--subnet", v6, names.pub]);
  docker(["network", "create", "--label", `sbx.test=${suffix}`, names.lan]);
  const tls = ["-e", `TLS_KEY=${fixture("key.pem")}`, "-e", `TLS_CERT=${fixture("cert.pem")}`];
  docker(["run", "-d", "--name", names.pubHost, "--network", names.pub, "--network-alias", "public.stand-in.test", "--network-alias", "api.stand-in.test", "--network-alias", "other-api.stand-in.test", "-e", "HOST_NAME=public", ...tls, image, "node", "-e", HOST_SCRIPT]);
  docker(["run", "-d", "--name", names.lanHost, "--network", names.lan, "--network-alias", "lan.stand-in.test", "--network-alias", "listed-lan.stand-in.test", "-e", "HOST_NAME=lan", ...tls, image, "node", "-e", HOST_SCRIPT]);
  docker(["run", "-d", "--name", names.resolver, "--network", names.pub, image, "node", "-e", RESOLVER_SCRIPT]);
  const subnet = (network: string, index: number) => docker(["network", "inspect", "-f", `{{(index .IPAM.Config ${index}).Subnet}}`, network]).stdout.trim();
  const pubSubnets = [subnet(names.pub, 0), subnet(names.pub, 1)];
  return {
    suffix,
    image,
    publicNetwork: { name: names.pub, v4: pubSubnets.find((cidr) => !cidr.includes(":")) as string, v6: pubSubnets.find((cidr) => cidr.includes(":")) as string },
    lanNetwork: { name: names.lan, v4: subnet(names.lan, 0) },
    publicHost: { name: names.pubHost, ipv4: inspectAddress(names.pubHost, names.pub), ipv6: inspectAddress(names.pubHost, names.pub, "GlobalIPv6Address") },
    lanHost: { name: names.lanHost, ipv4: inspectAddress(names.lanHost, names.lan) },
    resolver: { name: names.resolver, ipv4: inspectAddress(names.resolver, names.pub) },
    cleanup() {
      for (const container of [names.pubHost, names.lanHost, names.resolver]) docker(["rm", "-f", container], { allowFailure: true });
      for (const network of [names.pub, names.lan]) docker(["network", "rm", network], { allowFailure: true });
    },
  };
}

/**
 * Probes run inside the sandbox with plain Node (the test image has no curl): each prints one
 * JSON line. `fetch` goes through the proxy exactly as the agents do (the proxy environment sbx
 * sets, NODE_USE_ENV_PROXY included); the others deliberately bypass it.
 */
export const PROBE_SCRIPT = `
const [kind, a, b] = process.argv.slice(1);
const out = (value) => { console.log(JSON.stringify(value)); process.exit(0); };
setTimeout(() => out({ result: "timeout" }), 4000);
const net = require("net"), dgram = require("dgram"), dns = require("dns");
const query = (name) => { const labels = name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])); return Buffer.concat([Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, 1, 0, 1])]); };
if (kind === "fetch") fetch(a).then(async (r) => out({ result: "response", status: r.status, body: await r.text() }), (e) => out({ result: "error", error: String(e.cause?.message ?? e.message) }));
else if (kind === "tcp") { const s = net.connect({ host: a, port: Number(b) }); s.on("connect", () => out({ result: "connected" })); s.on("error", (e) => out({ result: "error", error: e.code })); }
else if (kind === "udp-dns") { const s = dgram.createSocket(a.includes(":") ? "udp6" : "udp4"); s.on("message", (m) => out({ result: "answer", bytes: m.length })); s.on("error", (e) => out({ result: "error", error: e.code })); s.send(query(b), 53, a, (e) => e && out({ result: "error", error: e.code })); }
else if (kind === "tcp-dns") { const s = net.connect({ host: a, port: 53 }); s.on("connect", () => { const q = query(b); const l = Buffer.alloc(2); l.writeUInt16BE(q.length); s.write(Buffer.concat([l, q])); }); s.on("data", (d) => out({ result: "answer", bytes: d.length })); s.on("error", (e) => out({ result: "error", error: e.code })); }
else if (kind === "lookup") dns.lookup(a, { all: true }, (e, addresses) => out(e ? { result: "error", error: e.code } : { result: "resolved", addresses: addresses.map((x) => x.address) }));
else if (kind === "connect-raw") { const [host, port] = (process.env.HTTPS_PROXY || "").replace("http://", "").split(":"); const s = net.connect({ host, port: Number(port) }); let t = ""; s.on("connect", () => s.write("CONNECT " + a + " HTTP/1.1\\r\\nHost: " + a + "\\r\\n\\r\\n")); s.on("data", (d) => { t += d; if (t.includes("\\r\\n\\r\\n") && (t.startsWith("HTTP/1.1 200") || t.length > 100)) setTimeout(() => out({ result: "response", text: t }), 100); }); s.on("error", (e) => out({ result: "error", error: e.code })); }
`;

export interface ProbeResult {
  result: "response" | "error" | "connected" | "answer" | "resolved" | "timeout";
  status?: number;
  body?: string;
  text?: string;
  error?: string;
  addresses?: string[];
}

export function probe(container: string, ...args: string[]): ProbeResult {
  const run = docker(["exec", "-e", "NODE_TLS_REJECT_UNAUTHORIZED=0", container, "node", "-e", PROBE_SCRIPT, ...args], { allowFailure: true });
  const line = run.stdout.trim().split("\n").filter((text) => text.startsWith("{")).at(-1);
  if (!line) throw new Error(`probe ${args.join(" ")} printed nothing: ${run.stderr}`);
  return JSON.parse(line) as ProbeResult;
}
