// Throughput and memory of the exporter, measured two ways, each export in its own process so that
// its peak RSS is its own:
//   - `sbx export` as a user runs it (apps/cli/bin/sbx, which starts Node with a small young
//     generation): the figure the ≤ 100 MB target is about;
//   - `exportSessions` imported into a plain `node` with V8's default heap sizing, for comparison:
//     what a script that imports the package alone sees.
// Usage: pnpm --filter @sbx/transcript-export bench [-- --size-mb 200 --sessions 1000 --baseline /work/main [--baseline …] --repeat 3]
// Needs `pnpm build` (this package's dist, and apps/cli's for the `sbx export` rows).
import { spawnSync } from "node:child_process";
import { copyFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "../../../test-fixtures/transcripts");
const distEntry = join(here, "../dist/index.js");
const sbxBin = join(here, "../../../apps/cli/bin/sbx");
const argument = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
};

if (process.argv[2] === "--child") {
  const { exportSessions } = await import(distEntry);
  const [, , , source, inbox] = process.argv;
  const started = performance.now();
  const result = await exportSessions({ source, inbox, agent: "claude" });
  const seconds = (performance.now() - started) / 1000;
  const usage = process.resourceUsage();
  const cpuSeconds = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
  process.stdout.write(JSON.stringify({ seconds, cpuSeconds, written: result.written, unchanged: result.unchanged, peakRssMb: usage.maxRSS / 1024 }));
  process.exit(0);
}

const claudeFixtures = readdirSync(fixtures).filter((name) => name.endsWith(".jsonl") && !/codex|rollout-|kvsankar|v040|corrupted|edge_cases/.test(name));

/** `exportSessions` in a plain `node` (default V8 flags). */
function runLibrary(source, inbox) {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", source, inbox], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout);
}

/**
 * `sbx export` through the launcher, as a user runs it. Its peak RSS is reported by a module
 * preloaded through NODE_OPTIONS (the launcher's own Node flags stay as they are); the time is wall
 * clock, Node's start-up included.
 */
function runCli(source, inbox, reporter, { bin = sbxBin, extra = ["--no-redact"] } = {}) {
  const started = performance.now();
  const child = spawnSync(bin, ["export", "--source", source, "--inbox", inbox, "--agent", "claude", "--json", ...extra], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
    env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import ${reporter}`.trim() },
  });
  const seconds = (performance.now() - started) / 1000;
  const rss = /SBX_BENCH_MAXRSS_KB (\d+) CPU_US (\d+)/.exec(child.stderr ?? "");
  if (child.status !== 0 || !rss) throw new Error(`sbx export failed (${child.status}): ${child.stderr}`);
  const result = JSON.parse(child.stdout);
  return { seconds, cpuSeconds: Number(rss[2]) / 1e6, written: result.written, unchanged: result.unchanged, peakRssMb: Number(rss[1]) / 1024 };
}

/** Concatenate real sessions, renaming every id per copy so nothing merges across copies. */
async function buildLargeSession(path, targetBytes) {
  const out = createWriteStream(path);
  const sources = claudeFixtures.map((name) => readFileSync(join(fixtures, name), "utf8").split("\n").filter(Boolean));
  let written = 0;
  for (let copy = 0; written < targetBytes; copy += 1) {
    for (const line of sources[copy % sources.length]) {
      const fresh = line.replace(/"(uuid|parentUuid|id|tool_use_id|leafUuid|logicalParentUuid)":\s*"([^"]+)"/g, (_, key, value) => `"${key}":"${value}-c${copy}"`)
        .replace(/"sessionId":\s*"[^"]+"/g, '"sessionId":"bench-large"');
      const bytes = `${fresh}\n`;
      written += Buffer.byteLength(bytes);
      if (!out.write(bytes)) await new Promise((resolve) => out.once("drain", resolve));
    }
  }
  await new Promise((resolve) => out.end(resolve));
  return written;
}

const sizeMb = argument("size-mb", 200);
const sessions = argument("sessions", 1000);
// --baseline <checkout> (may be given more than once): a built checkout of another commit (e.g.
// today's main) whose `sbx export` runs on the same inputs in the same run, interleaved with this
// tree's, for a like-for-like comparison. A checkout whose `sbx` has no `--no-redact` (before
// redaction existed) exports unredacted by default, so it gets no flag on the raw rows and no
// redacted row.
const baselines = process.argv.flatMap((arg, index) => (arg === "--baseline" ? [process.argv[index + 1]] : [])).map((checkout) => {
  if (!existsSync(join(checkout, "apps/cli/dist/main.js"))) throw new Error(`--baseline ${checkout}: apps/cli is not built there`);
  const redacts = readFileSync(join(checkout, "apps/cli/dist/program.js"), "utf8").includes("--no-redact");
  return { checkout, bin: join(checkout, "apps/cli/bin/sbx"), raw: redacts ? ["--no-redact"] : [], redacts };
});
const haveCli = existsSync(join(here, "../../../apps/cli/dist/main.js"));
if (!haveCli) console.log("sbx export rows skipped: apps/cli is not built (pnpm build)");
const work = mkdtempSync(join(tmpdir(), "sbx-bench-"));
const reporter = join(work, "report-rss.mjs");
// CPU time (user + system, Node's start-up included) beside wall time: on a loaded machine wall
// clock varies by a third from run to run, CPU seconds by a few per cent.
writeFileSync(
  reporter,
  'process.on("exit", () => { const u = process.resourceUsage(); process.stderr.write(`\\nSBX_BENCH_MAXRSS_KB ${u.maxRSS} CPU_US ${u.userCPUTime + u.systemCPUTime}\\n`); });\n',
);
const duration = (seconds) => (seconds < 1 ? `${(seconds * 1000).toFixed(1)} ms` : `${seconds.toFixed(2)} s`);
const report = (label, mb, run) =>
  console.log(
    `${label}: ${duration(run.seconds)}${mb ? ` = ${(mb / run.seconds).toFixed(1)} MB/s` : ""}, CPU ${duration(run.cpuSeconds)}${mb ? ` = ${(mb / run.cpuSeconds).toFixed(1)} MB/CPU-s` : ""}, peak RSS ${run.peakRssMb.toFixed(0)} MB (written ${run.written}, unchanged ${run.unchanged})`,
  );

const repeat = argument("repeat", 1);
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
/** Median wall and CPU time over the runs (on a shared machine one run says little), highest peak RSS. */
const summary = (runs) => ({ ...runs[0], seconds: median(runs.map((run) => run.seconds)), cpuSeconds: median(runs.map((run) => run.cpuSeconds)), peakRssMb: Math.max(...runs.map((run) => run.peakRssMb)) });
const of = (runs) => (repeat > 1 ? ` (median of ${runs.length}, fastest ${duration(Math.min(...runs.map((run) => run.seconds)))})` : "");

/**
 * The same rows for one workload: this tree's `sbx export` (raw and redacted) and each baseline's,
 * then the library. Every repeat runs each tree once in turn, so load from elsewhere falls on all alike.
 */
function measure(source, mb, name) {
  if (haveCli) {
    const trees = [{ label: "this tree", bin: sbxBin, raw: ["--no-redact"], redacts: true }, ...baselines.map((tree) => ({ ...tree, label: `baseline ${tree.checkout}` }))];
    const raw = trees.map(() => []);
    const redacted = trees.map(() => []);
    for (let index = 0; index < repeat; index += 1) {
      trees.forEach((tree, at) => raw[at].push(runCli(source, join(work, `inbox-${name}-${at}-raw-${index}`), reporter, { bin: tree.bin, extra: tree.raw })));
      trees.forEach((tree, at) => tree.redacts && redacted[at].push(runCli(source, join(work, `inbox-${name}-${at}-redacted-${index}`), reporter, { bin: tree.bin, extra: [] })));
    }
    trees.forEach((tree, at) => report(`  ${tree.label}: sbx export ${tree.raw.join(" ") || "(no redaction)"}${of(raw[at])}`, mb, summary(raw[at])));
    trees.forEach((tree, at) => tree.redacts && report(`  ${tree.label}: sbx export (redacted, the default)${of(redacted[at])}`, mb, summary(redacted[at])));
    trees.forEach((tree, at) => report(`  ${tree.label}: sbx export ${tree.raw.join(" ")}, nothing changed`, 0, runCli(source, join(work, `inbox-${name}-${at}-raw-0`), reporter, { bin: tree.bin, extra: tree.raw })));
  }
  report("  exportSessions in plain node", mb, runLibrary(source, join(work, `inbox-${name}`)));
  report("  exportSessions in plain node, nothing changed", 0, runLibrary(source, join(work, `inbox-${name}`)));
}

try {
  const large = join(work, "large");
  mkdirSync(large);
  const largeBytes = await buildLargeSession(join(large, "bench-large.jsonl"), sizeMb * 1024 * 1024);
  const mb = largeBytes / 1024 / 1024;
  console.log(`one session of ${mb.toFixed(0)} MB (target: sbx export ≥ 80 MB/s at peak RSS ≤ 100 MB)`);
  measure(large, mb, "large");

  const many = join(work, "many");
  mkdirSync(many);
  let manyBytes = 0;
  for (let index = 0; index < sessions; index += 1) {
    const name = claudeFixtures[index % claudeFixtures.length];
    const target = join(many, `${String(index).padStart(8, "0")}-0000-4000-8000-000000000000.jsonl`);
    copyFileSync(join(fixtures, name), target);
    manyBytes += statSync(target).size;
  }
  const manyMb = manyBytes / 1024 / 1024;
  console.log(`${sessions} sessions, ${manyMb.toFixed(0)} MB (target: sbx export ≥ 60 MB/s)`);
  measure(many, manyMb, "many");
} finally {
  rmSync(work, { recursive: true, force: true });
}
