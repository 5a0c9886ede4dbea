#!/usr/bin/env node
// The cost of the network tiers, both sides interleaved (A B A B …):
//   1. `sbx up --detach` with --network allowlist vs with full (container, proxy and internal
//      network absent; images cached) — what the proxy adds to a cold start;
//   2. 100 small HTTPS requests (a new TLS connection each) to a test host of the bench's own,
//      through the egress proxy (CONNECT) vs straight to it — what the proxy adds per request.
// Every target is a container or network this bench starts; nothing else is contacted.
//
// Usage: node apps/cli/bench/network.mjs [--runs N] [--warmup N] [--requests N]
// Env:   SBX_BASE_IMAGE (default: the offline base from test-fixtures/offline-base/build.sh)
// Writes .bench/network.json at the repository root.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { timed } from "./timed-run.mjs";

const { values: flags } = parseArgs({ options: { runs: { type: "string", default: "7" }, warmup: { type: "string", default: "1" }, requests: { type: "string", default: "100" } } });
const RUNS = Math.max(1, Number(flags.runs));
const WARMUP = Math.max(0, Number(flags.warmup));
const REQUESTS = Math.max(1, Number(flags.requests));
const CLI_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const REPO_ROOT = dirname(dirname(CLI_DIR));
const SBX = [process.execPath, join(CLI_DIR, "bin", "sbx.js")];
const note = (line) => process.stderr.write(`bench: ${line}\n`);

function quiet(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${(result.stderr ?? "").trim()}`);
  return (result.stdout ?? "").trim();
}
const docker = (...args) => quiet("docker", args);

const round = (ms) => Math.round(ms * 10) / 10;
function median(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}
async function interleave(a, b) {
  const samples = { a: [], b: [] };
  for (let index = 0; index < WARMUP + RUNS; index += 1) {
    for (const [side, spec] of [["a", a], ["b", b]]) {
      await spec.before?.();
      const ms = await spec.run();
      if (index >= WARMUP) samples[side].push(ms);
    }
  }
  const [ma, mb] = [median(samples.a), median(samples.b)];
  return { a: round(ma), b: round(mb), ratio: Math.round((ma / mb) * 100) / 100, samples };
}

function baseImage() {
  if (process.env.SBX_BASE_IMAGE) return process.env.SBX_BASE_IMAGE;
  const built = spawnSync("bash", [join(REPO_ROOT, "test-fixtures", "offline-base", "build.sh")], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  const tag = built.stdout.trim().split("\n").pop();
  if (built.status !== 0 || !tag) throw new Error("test-fixtures/offline-base/build.sh failed");
  return tag;
}

// One client script for both sides: N sequential HTTPS GETs, each on a fresh TLS connection,
// optionally through the proxy's CONNECT first. Timed inside the container (no docker exec cost).
const CLIENT = `
const net = require("net"), tls = require("tls");
const [host, n, proxy] = [process.argv[1], Number(process.argv[2]), process.argv[3]];
const once = () => new Promise((resolve, reject) => {
  const secure = (socket) => { const t = tls.connect({ socket, host: socket ? undefined : host, port: 443, servername: "bench.stand-in.test", rejectUnauthorized: false });
    let body = ""; t.on("secureConnect", () => t.write("GET /small HTTP/1.1\\r\\nHost: bench.stand-in.test\\r\\nConnection: close\\r\\n\\r\\n"));
    t.on("data", (d) => (body += d)); t.on("end", () => (body.startsWith("HTTP/1.1 200") ? resolve() : reject(new Error(body.slice(0, 80))))); t.on("error", reject); };
  if (!proxy) return secure(undefined);
  const [ph, pp] = proxy.split(":"); const s = net.connect({ host: ph, port: Number(pp) }); let head = "";
  s.on("connect", () => s.write("CONNECT " + host + ":443 HTTP/1.1\\r\\n\\r\\n"));
  const onData = (d) => { head += d; if (!head.includes("\\r\\n\\r\\n")) return; s.removeListener("data", onData); if (!head.startsWith("HTTP/1.1 200")) return reject(new Error(head)); secure(s); };
  s.on("data", onData); s.on("error", reject);
});
(async () => { await once(); const t0 = performance.now(); for (let i = 0; i < n; i += 1) await once(); console.log(JSON.stringify({ ms: performance.now() - t0 })); })().catch((e) => { console.error(e.message); process.exit(1); });
`;
const SERVER = `require("https").createServer({ key: process.env.TLS_KEY, cert: process.env.TLS_CERT }, (q, r) => r.end("ok")).listen(443, "::");`;

const base = baseImage();
const suffix = `${process.pid}`;
const project = mkdtempSync(join(tmpdir(), "sbx-netbench-"));
const home = mkdtempSync(join(tmpdir(), "sbx-netbench-home-"));
quiet("git", ["init", "-q", project]);
const env = { ...process.env, HOME: home, SBX_BASE_IMAGE: base, SBX_LOGIN: `sbx-netbench-${suffix}`, SBX_YES: "1" };
delete env.NODE_OPTIONS;
const inProject = { cwd: project, env };
const lab = { network: `sbx-netbench-${suffix}-public`, host: `sbx-netbench-${suffix}-host`, direct: `sbx-netbench-${suffix}-direct`, viaProxy: `sbx-netbench-${suffix}-client` };
let egress;

function cleanUp() {
  spawnSync(SBX[0], [SBX[1], "down"], { ...inProject, stdio: "ignore" });
  for (const name of [lab.host, lab.direct, lab.viaProxy, egress?.proxyName]) if (name) spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
  for (const name of [egress?.networkName, lab.network]) if (name) spawnSync("docker", ["network", "rm", name], { stdio: "ignore" });
  spawnSync("docker", ["volume", "rm", "-f", `${env.SBX_LOGIN}-llm`], { stdio: "ignore" });
  rmSync(project, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
process.on("SIGINT", () => {
  cleanUp();
  process.exit(130);
});

const results = {};
try {
  note(`base image ${base}; a first \`sbx up\` of each tier builds what is missing`);
  for (const tier of ["full", "allowlist"]) quiet(SBX[0], [SBX[1], "up", "--detach", "--network", tier], inProject);
  note(`1/2 up --detach, allowlist vs full: ${WARMUP} warm-up + ${RUNS} runs per side`);
  const down = () => quiet(SBX[0], [SBX[1], "down"], inProject);
  results.up = await interleave(
    { before: down, run: () => timed(SBX[0], [SBX[1], "up", "--detach", "--network", "allowlist"], inProject) },
    { before: down, run: () => timed(SBX[0], [SBX[1], "up", "--detach", "--network", "full"], inProject) },
  );
  down();

  note(`2/2 ${REQUESTS} HTTPS requests through the proxy vs direct: ${WARMUP} warm-up + ${RUNS} runs per side`);
  const fixture = (name) => readFileSync(join(REPO_ROOT, "test-fixtures", "stand-in-tls", name), "utf8");
  docker("network", "create", lab.network);
  docker("run", "-d", "--name", lab.host, "--network", lab.network, "--network-alias", "bench.stand-in.test", "-e", `TLS_KEY=${fixture("key.pem")}`, "-e", `TLS_CERT=${fixture("cert.pem")}`, base, "node", "-e", SERVER);
  const subnet = docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", lab.network);
  const { planNetwork, ensureEgress } = await import(join(CLI_DIR, "dist", "sandbox-network.js"));
  const { DockerRuntime } = await import("@sbx/container-runtime");
  const runtime = new DockerRuntime();
  const identity = { containerName: `sbx-netbench-${suffix}`, projectDir: project, projectId: suffix, login: "x", volumeName: "x" };
  const plan = planNetwork({ tier: "allowlist", identity, allowedDomains: ["bench.stand-in.test"], baseImage: base, env });
  egress = plan.egress;
  // The bench's network stands in for the internet: the proxy's test-only setting, never passed by sbx.
  await ensureEgress(runtime, plan, () => undefined, ["--test-public-cidr", subnet]);
  docker("network", "connect", lab.network, egress.proxyName);
  docker("restart", "-t", "1", egress.proxyName);
  runtime.close();
  docker("run", "-d", "--name", lab.direct, "--network", lab.network, base, "sleep", "3600");
  docker("run", "-d", "--name", lab.viaProxy, "--network", egress.networkName, base, "sleep", "3600");
  const requests = (container, proxy) => async () => JSON.parse(quiet("docker", ["exec", container, "node", "-e", CLIENT, "bench.stand-in.test", String(REQUESTS), ...(proxy ? [proxy] : [])])).ms;
  results.https = await interleave({ run: requests(lab.viaProxy, "sbx-egress:3128") }, { run: requests(lab.direct) });
  results.meta = { date: new Date().toISOString(), node: process.version, docker: docker("version", "--format", "{{.Server.Version}}"), baseImage: base, runs: RUNS, warmup: WARMUP, requests: REQUESTS };
} finally {
  cleanUp();
}

const perRequest = (ms) => round(ms / REQUESTS);
process.stdout.write(`\nsbx network bench — ms, median of ${RUNS} interleaved runs per side after ${WARMUP} warm-up (${results.meta.node}, Docker ${results.meta.docker})\n`);
process.stdout.write(`  up --detach --network allowlist  ${results.up.a}   vs full ${results.up.b}   ratio ${results.up.ratio.toFixed(2)}\n`);
process.stdout.write(
  `  ${REQUESTS} HTTPS requests via proxy  ${results.https.a}   vs direct ${results.https.b}   ratio ${results.https.ratio.toFixed(2)}  (${perRequest(results.https.a)} vs ${perRequest(results.https.b)} ms per request, +${round(perRequest(results.https.a - results.https.b))} ms)\n`,
);
const jsonPath = join(REPO_ROOT, ".bench", "network.json");
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify({ ...results.meta, up: results.up, https: results.https }, null, 2)}\n`);
process.stdout.write(`wrote ${jsonPath}\n`);
