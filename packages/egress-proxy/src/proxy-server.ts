import { lookup } from "node:dns/promises";
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { decide, type CompiledPolicy, type EgressDecision } from "./egress-policy.js";
import type { EgressLogEntry, EgressLogWriter } from "./egress-log.js";

/** Resolves a name to every address it has, the way the proxy's own resolver does. */
export type Resolver = (name: string) => Promise<string[]>;

export const systemResolver: Resolver = async (name) => (await lookup(name, { all: true, verbatim: true })).map((entry) => entry.address);

export interface EgressProxyOptions {
  policy: CompiledPolicy;
  log: EgressLogWriter;
  /** @default the system resolver (getaddrinfo in the proxy container) */
  resolve?: Resolver;
  /** @default 10 s */
  connectTimeoutMs?: number;
}

type Transport = EgressLogEntry["transport"];

export type CheckedConnection =
  | { status: "connected"; socket: Socket; address: string; decision: EgressDecision }
  | { status: "refused"; decision: EgressDecision; address?: string }
  | { status: "failed"; reason: string; address?: string };

/**
 * Resolves `host` itself, checks each address, and connects to exactly an address it checked: the
 * socket is opened to the literal address, so there is no second lookup that a rebinding DNS
 * server could answer differently. Every transport opens its upstream connections here.
 */
export async function connectChecked(options: EgressProxyOptions, transport: Transport, host: string, port: number): Promise<CheckedConnection> {
  const { policy, log } = options;
  const record = (decision: EgressLogEntry["decision"], rule: string, reason: string, address?: string) =>
    log.record({ transport, host, port, ...(address ? { address } : {}), decision, rule, reason });
  const byName = decide(policy, { host, port });
  if (byName.action === "refuse") {
    record("refused", byName.rule, byName.reason);
    return { status: "refused", decision: byName };
  }
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  let addresses: string[];
  try {
    addresses = await (options.resolve ?? systemResolver)(bare);
  } catch (error) {
    const reason = `${bare} did not resolve (${(error as NodeJS.ErrnoException).code ?? "error"})`;
    record("failed", "unresolvable", reason);
    return { status: "failed", reason };
  }
  let firstRefusal: { decision: EgressDecision; address: string } | undefined;
  for (const address of addresses) {
    const decision = decide(policy, { host, port, address });
    if (decision.action === "refuse") {
      firstRefusal ??= { decision, address };
      continue;
    }
    try {
      const socket = await openSocket(address, port, options.connectTimeoutMs ?? 10_000);
      record("allowed", decision.rule, decision.reason, address);
      return { status: "connected", socket, address, decision };
    } catch (error) {
      record("failed", "unreachable", `${address}:${port} did not answer (${(error as NodeJS.ErrnoException).code ?? "error"})`, address);
    }
  }
  if (firstRefusal) {
    record("refused", firstRefusal.decision.rule, firstRefusal.decision.reason, firstRefusal.address);
    return { status: "refused", decision: firstRefusal.decision, address: firstRefusal.address };
  }
  return { status: "failed", reason: addresses.length ? `no address of ${bare} answered on port ${port}` : `${bare} has no addresses` };
}

function openSocket(address: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // A literal address: net.connect does no lookup of its own.
    const socket = connect({ host: address, port, noDelay: true });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** The body of every refusal: the agent sees a policy block, not a network failure, and the user sees why. */
export function refusalBody(policy: CompiledPolicy, target: string, decision: EgressDecision): string {
  return (
    `sbx egress proxy refused ${target}: ${decision.reason} (network tier ${policy.tier}, rule ${decision.rule}).\n` +
    (policy.tier === "allowlist"
      ? "Allow a domain with `sbx up --allow <domain>` or allowedDomains in your sbx config; `sbx network log` lists what was refused.\n"
      : "The internet-only tier never reaches private, local or metadata addresses; `sbx network log` lists what was refused.\n")
  );
}

function rawResponse(status: string, body: string): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Sbx-Egress: ${status.startsWith("403") ? "refused" : "failed"}\r\nConnection: close\r\n\r\n${body}`;
}

/** `host:port` of an authority-form CONNECT target; undefined unless it is exactly that. */
export function parseAuthority(target: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s/?#@[\]:]+):(\d{1,5})$/.exec(target);
  if (!match) return undefined;
  return { host: match[1] as string, port: Number(match[2]) };
}

// Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own: never forwarded upstream.
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "proxy-connection", "te", "trailer", "upgrade"]);

function forwardedHeaders(headers: IncomingHttpHeaders, host: string): Record<string, string | string[]> {
  const named = new Set((String(headers.connection ?? "")).split(",").map((name) => name.trim().toLowerCase()));
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || name === "host") continue;
    out[name] = value;
  }
  // The destination is the absolute URI's, never a client-supplied Host: the upstream gets the
  // host it was checked under, so a Host header cannot aim a virtual host elsewhere.
  out.host = host;
  return out;
}

/** The HTTP proxy: CONNECT tunnels and absolute-URI plain HTTP requests, both through `connectChecked`. */
export function createEgressProxy(options: EgressProxyOptions): Server {
  const { policy } = options;
  // Node's parser rejects ambiguous framing (both Content-Length and Transfer-Encoding, bare LF
  // line ends) by default: request smuggling past the check would need exactly that.
  const server = createServer({ requireHostHeader: false });

  server.on("connect", (req: IncomingMessage, client: Duplex, head: Buffer) => {
    client.on("error", () => client.destroy());
    const target = parseAuthority(req.url ?? "");
    if (!target) {
      client.end(rawResponse("400 Bad Request", `sbx egress proxy: CONNECT needs host:port, not ${JSON.stringify(req.url ?? "")}.\n`));
      return;
    }
    void connectChecked(options, "connect", target.host, target.port).then((result) => {
      if (result.status === "refused") return void client.end(rawResponse("403 Forbidden", refusalBody(policy, `${target.host}:${target.port}`, result.decision)));
      if (result.status === "failed") return void client.end(rawResponse("502 Bad Gateway", `sbx egress proxy could not reach ${target.host}:${target.port}: ${result.reason}.\n`));
      const upstream = result.socket;
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    void proxyHttp(options, req, res).catch((error: Error) => {
      if (process.env.SBX_EGRESS_DEBUG) process.stderr.write(`${error.stack}\n`);
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
      res.end("sbx egress proxy: the upstream request failed.\n");
    });
  });

  // Upgrades through a plain-HTTP proxy (ws://) are not forwarded; wss:// goes through CONNECT.
  server.on("upgrade", (_req: IncomingMessage, client: Duplex) => {
    client.end(rawResponse("501 Not Implemented", "sbx egress proxy: use CONNECT (e.g. wss://) for upgraded connections.\n"));
  });
  server.on("clientError", (_error, socket: Duplex) => {
    if (socket.writable) socket.end(rawResponse("400 Bad Request", "sbx egress proxy: malformed request.\n"));
    else socket.destroy();
  });
  return server;
}

async function proxyHttp(options: EgressProxyOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const send = (status: number, body: string) => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "x-sbx-egress": status === 403 ? "refused" : "failed", connection: "close" });
    res.end(body);
  };
  let url: URL;
  try {
    url = new URL(req.url ?? "");
  } catch {
    return send(400, "sbx egress proxy: this is a proxy; send absolute-URI requests (http://host/path) or CONNECT host:port.\n");
  }
  if (url.protocol !== "http:") return send(400, `sbx egress proxy: only http:// URLs are proxied this way; use CONNECT for ${url.protocol}//.\n`);
  if (url.username || url.password) return send(400, "sbx egress proxy: credentials in the URL are not forwarded.\n");
  const port = url.port ? Number(url.port) : 80;
  const result = await connectChecked(options, "http", url.hostname, port);
  if (result.status === "refused") return send(403, refusalBody(options.policy, `${url.hostname}:${port}`, result.decision));
  if (result.status === "failed") return send(502, `sbx egress proxy could not reach ${url.hostname}:${port}: ${result.reason}.\n`);
  const socket = result.socket;
  const upstream = httpRequest({
    createConnection: () => socket,
    method: req.method,
    path: `${url.pathname}${url.search}`,
    headers: forwardedHeaders(req.headers, url.host),
  });
  await new Promise<void>((resolve, reject) => {
    upstream.on("response", (response) => {
      const headers = { ...response.headers };
      for (const name of HOP_BY_HOP) delete headers[name];
      res.writeHead(response.statusCode ?? 502, headers);
      response.pipe(res);
      response.on("end", resolve);
      response.on("error", reject);
    });
    upstream.on("error", reject);
    req.pipe(upstream);
  });
}
