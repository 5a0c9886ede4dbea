#!/usr/bin/env node
// Measures the CLI's hot paths against the raw docker CLI, both sides interleaved (A B A B …) so
// machine noise hits each alike:
//   1. `sbx exec -- true` on a warm sandbox        vs `docker exec <ctr> true`
//   2. `sbx up --detach` (container absent, image cached) vs `docker run -d <image> …` + `docker exec <ctr> true`
//   3. `sbx --help` from a fresh process           vs `node -e 0`
//   4. a named sandbox (issue 14): `sbx create --name x` + `sbx exec --name x -- true` (image cached)
//      vs `docker run -d` + `docker exec`, and `sbx exec --name x -- true` vs `docker exec`
// plus where one `sbx up --detach` spends its time (see trace-steps.mjs).
//
// Usage: node apps/cli/bench/cli.mjs [--runs N] [--warmup N] [--profile-runs N] [--bin PATH]
//   --bin runs another build's bin/sbx.js (e.g. a copy of an older dist) for before/after tables.
// Env:   SBX_BASE_IMAGE (default: the offline base from test-fixtures/offline-base/build.sh)
// Writes .bench/cli.json at the repository root. Exits 0 even when a target is missed.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { timed } from "./timed-run.mjs";

const { values: flags } = parseArgs({
  options: {
    runs: { type: "string", default: "15" },
    warmup: { type: "string", default: "2" },
    "profile-runs": { type: "string", default: "5" },
    bin: { type: "string" },
  },
});
const RUNS = Math.max(1, Number(flags.runs));
const WARMUP = Math.max(0, Number(flags.warmup));
const PROFILE_RUNS = Math.max(0, Number(flags["profile-runs"]));

const CLI_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const REPO_ROOT = dirname(dirname(CLI_DIR));
// The command a user runs: bin/sbx (the launcher that hands `exec` to docker), or a bin/sbx.js.
const SBX_BIN = flags.bin ? resolve(flags.bin) : join(CLI_DIR, "bin", "sbx");
const sbxCommand = (args) => (SBX_BIN.endsWith(".js") ? [process.execPath, [SBX_BIN, ...args]] : [SBX_BIN, args]);
const TARGETS = { exec: { target: 1.5, goal: 1.2 }, up: { target: 1.5 }, help: {}, namedExec: { target: 1.2 }, namedCreate: {} };

const note = (line) => process.stderr.write(`bench: ${line}\n`);

if (!existsSync(join(dirname(dirname(SBX_BIN)), "dist", "main.js"))) {
  note("apps/cli/dist is missing; run `pnpm build` first");
  process.exit(1);
}

function baseImage() {
  if (process.env.SBX_BASE_IMAGE) return process.env.SBX_BASE_IMAGE;
  note("SBX_BASE_IMAGE is unset; building or reusing the offline base image");
  const built = spawnSync("bash", [join(REPO_ROOT, "test-fixtures", "offline-base", "build.sh")], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  const tag = built.stdout.trim().split("\n").pop();
  if (built.status !== 0 || !tag) throw new Error("test-fixtures/offline-base/build.sh failed");
  return tag;
}

/** Runs a command to completion; returns its wall time in ms. Output is discarded unless it fails. */

function quiet(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: "utf8", ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${(result.stderr ?? "").trim()}`);
  return (result.stdout ?? "").trim();
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { n: sorted.length, median: round(median), p90: round(rank(0.9)), min: round(sorted[0]) };
}
const round = (ms) => Math.round(ms * 10) / 10;

/** A B A B …: `before*` run untimed ahead of each side; the first WARMUP pairs are dropped. */
async function interleave(a, b) {
  const samples = { a: [], b: [] };
  for (let index = 0; index < WARMUP + RUNS; index += 1) {
    for (const [side, spec] of [["a", a], ["b", b]]) {
      await spec.before?.();
      const ms = await spec.run();
      await spec.after?.();
      if (index >= WARMUP) samples[side].push(ms);
    }
  }
  const sbx = stats(samples.a);
  const baseline = stats(samples.b);
  return { sbx, baseline, ratio: Math.round((sbx.median / baseline.median) * 100) / 100, samples };
}

const base = baseImage();
const project = mkdtempSync(join(tmpdir(), "sbx-bench-"));
const home = mkdtempSync(join(tmpdir(), "sbx-bench-home-"));
const login = `sbx-bench-${process.pid}`;
const rawName = `sbx-bench-raw-${process.pid}`;
const NAMED = "bench";
quiet("git", ["init", "-q", project]);
// A fake Claude login, so piping logins is part of every `up` (two pipe execs + one install).
mkdirSync(join(home, ".claude"), { recursive: true });
const inAnHour = Date.now() + 3600_000;
writeFileSync(join(home, ".claude", ".credentials.json"), JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-bench-fake", refreshToken: "sk-ant-ort01-bench-fake", expiresAt: inAnHour, subscriptionType: "pro" } }));
writeFileSync(join(home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));

const env = { ...process.env, HOME: home, SBX_BASE_IMAGE: base, SBX_LOGIN: login };
delete env.NODE_OPTIONS;
const inProject = { cwd: project, env };
const sbx = (...args) => timed(...sbxCommand(args), inProject);
// The same exec with the docker CLI hidden from the launcher: the all-Node path.
const sbxNodeOnly = (...args) => timed(...sbxCommand(args), { ...inProject, env: { ...env, SBX_NO_DOCKER_CLI: "1" } });
let container;
let namedContainer;

function cleanUp() {
  spawnSync("docker", ["rm", "-f", rawName], { stdio: "ignore" });
  if (container) spawnSync("docker", ["rm", "-f", container], { stdio: "ignore" });
  if (namedContainer) spawnSync("docker", ["rm", "-f", namedContainer], { stdio: "ignore" });
  // The login volume and the project's conversations volume.
  const volumes = spawnSync("docker", ["volume", "ls", "-q", "--filter", `label=dev.sbx.login=${login}`], { encoding: "utf8" }).stdout?.split("\n").filter(Boolean) ?? [];
  spawnSync("docker", ["volume", "rm", "-f", `${login}-llm`, ...volumes], { stdio: "ignore" });
  rmSync(project, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

const results = {};
try {
  note(`base image ${base}; first \`sbx up\` (builds the sandbox image if its inputs changed)`);
  const firstUp = spawnSync(...sbxCommand(["up", "--detach"]), { ...inProject, stdio: ["ignore", "ignore", "inherit"] });
  if (firstUp.status !== 0) throw new Error(`sbx up --detach exited ${firstUp.status}`);
  container = quiet("docker", ["ps", "-q", "--no-trunc", "--filter", `label=dev.sbx.project=${project}`]);
  const inspected = JSON.parse(quiet("docker", ["inspect", container]))[0];
  container = inspected.Name.replace(/^\//, "");
  const image = inspected.Config.Image;
  const user = inspected.Config.User;
  const [uid, gid] = user.split(":");

  note(`1/3 exec: ${WARMUP} warm-up + ${RUNS} runs per side`);
  results.exec = await interleave({ run: () => sbx("exec", "--", "true") }, { run: () => timed("docker", ["exec", container, "true"]) });
  results.execNode = await interleave({ run: () => sbxNodeOnly("exec", "--", "true") }, { run: () => timed("docker", ["exec", container, "true"]) });

  note(`2/3 up (container absent, image cached): ${WARMUP} warm-up + ${RUNS} runs per side`);
  // The same container sbx makes, by hand: user, hardening, mounts, labels-free.
  const dockerRun = [
    "run", "-d", "--name", rawName, "--user", user, "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    "--pids-limit", "1024", "--init", "-w", "/workspace", "-e", "HOME=/home/sandbox",
    "--mount", `type=bind,source=${project},target=/workspace`,
    "--mount", `type=volume,source=${login}-llm,target=/home/sandbox/.llm`,
    "--tmpfs", `/run/secrets:rw,nosuid,nodev,noexec,size=1048576,mode=0700,uid=${uid},gid=${gid}`,
    image, "idle",
  ];
  results.up = await interleave(
    { before: () => quiet(...sbxCommand(["down"]), inProject), run: () => sbx("up", "--detach") },
    {
      run: async () => (await timed("docker", dockerRun)) + (await timed("docker", ["exec", rawName, "true"])),
      after: () => quiet("docker", ["rm", "-f", rawName]),
    },
  );

  note(`3/3 --help: ${WARMUP} warm-up + ${RUNS} runs per side`);
  results.help = await interleave({ run: () => sbx("--help") }, { run: () => timed(process.execPath, ["-e", "0"]) });

  note(`named: create-to-first-exec and exec --name: ${WARMUP} warm-up + ${RUNS} runs per side`);
  // Beside the project's default sandbox, as in a loop; each sbx run starts with the named one gone.
  quiet(...sbxCommand(["up", "--detach"]), inProject);
  results.namedCreate = await interleave(
    {
      before: () => quiet(...sbxCommand(["rm", "--name", NAMED]), inProject),
      run: async () => (await sbx("create", "--name", NAMED)) + (await sbx("exec", "--name", NAMED, "--", "true")),
    },
    {
      run: async () => (await timed("docker", dockerRun)) + (await timed("docker", ["exec", rawName, "true"])),
      after: () => quiet("docker", ["rm", "-f", rawName]),
    },
  );
  namedContainer = quiet("docker", ["ps", "--format", "{{.Names}}", "--filter", `label=dev.sbx.project=${project}`, "--filter", `label=dev.sbx.name=${NAMED}`]);
  results.namedExec = await interleave({ run: () => sbx("exec", "--name", NAMED, "--", "true") }, { run: () => timed("docker", ["exec", namedContainer, "true"]) });

  if (PROFILE_RUNS > 0) {
    note(`where \`up\` spends its time: ${PROFILE_RUNS} profiled runs`);
    results.upProfile = profileUp(PROFILE_RUNS);
  }

  results.meta = {
    date: new Date().toISOString(),
    node: process.version,
    docker: quiet("docker", ["version", "--format", "{{.Server.Version}}"]),
    baseImage: base,
    sandboxImage: image,
    bin: SBX_BIN,
    runs: RUNS,
    warmup: WARMUP,
  };
} finally {
  cleanUp();
}

function profileUp(runs) {
  const profiles = [];
  for (let index = 0; index < runs; index += 1) {
    quiet(...sbxCommand(["down"]), inProject);
    const out = quiet(process.execPath, [join(CLI_DIR, "bench", "trace-steps.mjs"), "up", "--detach"], { ...inProject, env: { ...env, SBX_BENCH_DIST: join(dirname(dirname(SBX_BIN)), "dist") } });
    profiles.push(JSON.parse(out.split("\n").pop()));
  }
  // Every run makes the same calls in the same order; take the median of each step.
  const steps = profiles[0].map((step, index) => {
    const durations = profiles.map((profile) => profile[index]?.ms ?? Number.NaN);
    const starts = profiles.map((profile) => profile[index]?.start ?? Number.NaN);
    return { step: step.step, start: stats(starts).median, ms: stats(durations).median };
  });
  return steps;
}

const pad = (text, width) => String(text).padEnd(width);
const lpad = (text, width) => String(text).padStart(width);
const rows = [
  ["exec -- true", "docker exec true", results.exec, TARGETS.exec],
  ["exec (all-Node path)", "docker exec true", results.execNode, {}],
  ["up --detach", "docker run -d + exec", results.up, TARGETS.up],
  ["--help", "node -e 0", results.help, TARGETS.help],
  ["create+exec --name", "docker run -d + exec", results.namedCreate, TARGETS.namedCreate],
  ["exec --name -- true", "docker exec true", results.namedExec, TARGETS.namedExec],
];
const lines = [
  `${pad("sbx", 20)}${lpad("med", 8)}${lpad("p90", 8)}  ${pad("baseline", 21)}${lpad("med", 8)}${lpad("p90", 8)}${lpad("ratio", 7)}  target`,
];
for (const [name, baselineName, result, target] of rows) {
  let verdict = "";
  if (target.target) verdict = `≤ ${target.target}${result.ratio > target.target ? " MISSED" : " ok"}`;
  if (target.goal) verdict += ` (goal ≤ ${target.goal}${result.ratio > target.goal ? " missed" : " met"})`;
  lines.push(
    `${pad(name, 20)}${lpad(result.sbx.median, 8)}${lpad(result.sbx.p90, 8)}  ${pad(baselineName, 21)}${lpad(result.baseline.median, 8)}${lpad(result.baseline.p90, 8)}${lpad(result.ratio.toFixed(2), 7)}  ${verdict}`,
  );
}
process.stdout.write(`\nsbx CLI bench — ms, ${RUNS} interleaved runs per side after ${WARMUP} warm-ups (${results.meta.node}, Docker ${results.meta.docker})\n`);
process.stdout.write(`${lines.join("\n")}\n`);
if (results.upProfile) {
  process.stdout.write(`\nwhere \`sbx up --detach\` spends its time (median of ${PROFILE_RUNS}; ms from process start):\n`);
  for (const step of results.upProfile) process.stdout.write(`  ${lpad(step.start, 7)}  ${lpad(step.ms, 6)}  ${step.step}\n`);
}

const jsonPath = join(REPO_ROOT, ".bench", "cli.json");
mkdirSync(dirname(jsonPath), { recursive: true });
const { exec, execNode, up, help, namedCreate, namedExec } = results;
const strip = ({ samples, ...rest }) => ({ ...rest, samples: { sbx: samples.a.map(round), baseline: samples.b.map(round) } });
writeFileSync(jsonPath, `${JSON.stringify({ ...results.meta, targets: TARGETS, exec: strip(exec), execNode: strip(execNode), up: strip(up), help: strip(help), namedCreate: strip(namedCreate), namedExec: strip(namedExec), upProfile: results.upProfile ?? null }, null, 2)}\n`);
process.stdout.write(`\nwrote ${jsonPath}\n`);
