import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server } from "node:net";
import { parseIpv4 } from "./address-ranges.js";
import { decide, type CompiledPolicy } from "./egress-policy.js";
import type { EgressLogWriter } from "./egress-log.js";

/**
 * The sandbox's only DNS server, and a sinkhole: it never forwards a query anywhere. A name the
 * policy allows gets one A record, the proxy's own address; a name it refuses gets REFUSED. So a
 * DNS query cannot carry data out (DNS tunnelling needs the query to reach the attacker's name
 * server — anthropics/claude-code #36907), and the sandbox never learns a real upstream address:
 * its traffic has to go through the proxy, which resolves and checks names itself.
 */

const TYPE_A = 1;
const RCODE = { noError: 0, formErr: 1, refused: 5 } as const;

export interface DnsQuestion {
  id: number;
  flags: number;
  name: string;
  type: number;
  /** Bytes of the question section, echoed in the answer. */
  question: Buffer;
}

/** Parses a standard query with exactly one question; undefined for anything else. */
export function parseDnsQuery(message: Buffer): DnsQuestion | undefined {
  if (message.length < 12 || message.length > 512) return undefined;
  const flags = message.readUInt16BE(2);
  if (flags & 0x8000 || ((flags >> 11) & 0xf) !== 0) return undefined;
  if (message.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = message[offset];
    if (length === undefined) return undefined;
    offset += 1;
    if (length === 0) break;
    // Compression pointers have no business in a question.
    if (length > 63 || offset + length > message.length) return undefined;
    labels.push(message.subarray(offset, offset + length).toString("latin1"));
    offset += length;
  }
  if (offset + 4 > message.length) return undefined;
  const type = message.readUInt16BE(offset);
  return { id: message.readUInt16BE(0), flags, name: labels.join("."), type, question: message.subarray(12, offset + 4) };
}

export function dnsAnswer(query: DnsQuestion, rcode: number, address?: string): Buffer {
  const v4 = address ? parseIpv4(address) : undefined;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  // QR, AA, the client's RD bit; RA stays clear: this server recurses for no one.
  header.writeUInt16BE(0x8000 | 0x0400 | (query.flags & 0x0100) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(v4 ? 1 : 0, 6);
  if (!v4) return Buffer.concat([header, query.question]);
  const answer = Buffer.alloc(16);
  answer.writeUInt16BE(0xc00c, 0);
  answer.writeUInt16BE(TYPE_A, 2);
  answer.writeUInt16BE(1, 4);
  answer.writeUInt32BE(5, 6);
  answer.writeUInt16BE(4, 10);
  Buffer.from(v4).copy(answer, 12);
  return Buffer.concat([header, query.question, answer]);
}

/** The answer to one query, decided by the same function as every connection. */
export function answerQuery(policy: CompiledPolicy, log: EgressLogWriter, message: Buffer, ownAddress: string): Buffer | undefined {
  const query = parseDnsQuery(message);
  if (!query) {
    if (message.length < 12) return undefined;
    const id = message.readUInt16BE(0);
    return dnsAnswer({ id, flags: 0, name: "", type: 0, question: Buffer.alloc(0) }, RCODE.formErr);
  }
  const decision = decide(policy, { host: query.name, port: 443 });
  log.record({ transport: "dns", host: query.name, port: 53, decision: decision.action === "allow" ? "allowed" : "refused", rule: decision.action === "allow" ? "dns-sinkhole" : decision.rule, reason: decision.action === "allow" ? `answered with the proxy's own address (${decision.reason})` : decision.reason });
  if (decision.action === "refuse") return dnsAnswer(query, RCODE.refused);
  return dnsAnswer(query, RCODE.noError, query.type === TYPE_A ? ownAddress : undefined);
}

export interface DnsServers {
  udp: UdpSocket[];
  tcp: Server;
  close(): Promise<void>;
}

/**
 * One UDP socket per address (so each answers with the address it was asked on) and one TCP
 * listener. `addresses` are the proxy's IPv4 addresses on the networks it serves.
 */
export async function startDnsServers(policy: CompiledPolicy, log: EgressLogWriter, addresses: string[], port = 53): Promise<DnsServers> {
  const udp = await Promise.all(
    addresses.map(
      (address) =>
        new Promise<UdpSocket>((resolve, reject) => {
          const socket = createSocket("udp4");
          socket.on("message", (message, remote) => {
            const reply = answerQuery(policy, log, message, address);
            if (reply) socket.send(reply, remote.port, remote.address);
          });
          socket.once("error", reject);
          socket.bind(port, address, () => resolve(socket));
        }),
    ),
  );
  const tcp = createServer((socket) => {
    socket.on("error", () => socket.destroy());
    socket.setTimeout(10_000, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length > 4096) return void socket.destroy();
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const own = (socket.localAddress ?? "").replace(/^::ffff:/, "");
        const reply = answerQuery(policy, log, buffered.subarray(2, 2 + length), own);
        buffered = buffered.subarray(2 + length);
        if (!reply) return void socket.destroy();
        const framed = Buffer.alloc(2 + reply.length);
        framed.writeUInt16BE(reply.length, 0);
        reply.copy(framed, 2);
        socket.write(framed);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, "0.0.0.0", () => resolve());
  });
  return {
    udp,
    tcp,
    close: async () => {
      for (const socket of udp) socket.close();
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
}
