/**
 * The egress proxy container's main process (bundled into one file for its image). Reads the
 * policy from SBX_EGRESS_POLICY, starts the HTTP proxy and the DNS sinkhole, and exits non-zero
 * on any setup problem: a proxy that is not running leaves the sandbox with no network at all.
 */
import { mkdirSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { dirname } from "node:path";
import { startDnsServers } from "./dns-server.js";
import { fileLog } from "./egress-log.js";
import { compilePolicy, type EgressPolicy } from "./egress-policy.js";
import { EGRESS_DNS_PORT, EGRESS_LOG_FILE, EGRESS_PROXY_PORT } from "./egress-image.js";
import { createEgressProxy } from "./proxy-server.js";

function fail(message: string): never {
  process.stderr.write(`sbx-egress: ${message}\n`);
  process.exit(1);
}

/** `--test-public-cidr <cidr>`: the one test-only setting, never passed by sbx itself. */
function testPublicCidrs(argv: string[]): string[] {
  const cidrs: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    if (argv[i] === "--test-public-cidr" && argv[i + 1]) cidrs.push(argv[++i] as string);
    else fail(`unknown argument ${JSON.stringify(argv[i])}`);
  }
  return cidrs;
}

async function main(): Promise<void> {
  let policy;
  try {
    policy = compilePolicy(JSON.parse(process.env.SBX_EGRESS_POLICY ?? "") as EgressPolicy, { publicCidrs: testPublicCidrs(process.argv.slice(2)) });
  } catch (error) {
    fail(`no valid policy in SBX_EGRESS_POLICY (${(error as Error).message}); refusing to start`);
  }
  mkdirSync(dirname(EGRESS_LOG_FILE), { recursive: true });
  const log = fileLog(EGRESS_LOG_FILE);
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((entry) => entry && entry.family === "IPv4" && !entry.internal)
    .map((entry) => entry?.address as string);
  const proxy = createEgressProxy({ policy, log });
  await new Promise<void>((resolve, reject) => {
    proxy.once("error", reject);
    proxy.listen(EGRESS_PROXY_PORT, "0.0.0.0", () => resolve());
  }).catch((error: Error) => fail(`cannot listen on port ${EGRESS_PROXY_PORT}: ${error.message}`));
  await startDnsServers(policy, log, addresses, EGRESS_DNS_PORT).catch((error: Error) => fail(`cannot serve DNS: ${error.message}`));
  process.stdout.write(`sbx-egress: ${policy.tier} proxy on ${addresses.join(", ")} port ${EGRESS_PROXY_PORT}, DNS on port ${EGRESS_DNS_PORT}\n`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
}

void main();
