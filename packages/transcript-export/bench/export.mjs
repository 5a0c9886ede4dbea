// Throughput and memory of the exporter, measured two ways, each export in its own process so that
// its peak RSS is its own:
//   - `sbx export` as a user runs it (apps/cli/bin/sbx, which starts Node with a small young
//     generation): the figure the ≤ 100 MB target is about;
//   - `exportSessions` imported into a plain `node` with V8's default heap sizing, for comparison:
//     what a script that imports the package alone sees.
// Usage: pnpm --filter @sbx/transcript-export bench [-- --size-mb 200 --sessions 1000 --baseline /work/main --repeat 3]
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
// --baseline <checkout>: a built checkout of another commit (e.g. today's main) whose `sbx export`
// runs on the same inputs in the same run, for a like-for-like comparison.
const baselineIndex = process.argv.indexOf("--baseline");
const baseline = baselineIndex > 0 ? process.argv[baselineIndex + 1] : undefined;
const baselineBin = baseline ? join(baseline, "apps/cli/bin/sbx") : undefined;
if (baselineBin && !existsSync(join(baseline, "apps/cli/dist/main.js"))) throw new Error(`--baseline ${baseline}: apps/cli is not built there`);
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
let fresh = 0;
/** The fastest of `repeat` fresh exports (each into a new inbox): on a shared machine the minimum is the figure least disturbed by others. */
function best(run) {
  let fastest;
  for (let index = 0; index < repeat; index += 1) {
    const result = run(`${(fresh += 1)}`);
    if (!fastest || result.seconds < fastest.seconds) fastest = { ...result, cpuSeconds: Math.min(result.cpuSeconds, fastest?.cpuSeconds ?? Infinity), peakRssMb: Math.max(result.peakRssMb, fastest?.peakRssMb ?? 0) };
    else fastest = { ...fastest, cpuSeconds: Math.min(result.cpuSeconds, fastest.cpuSeconds), peakRssMb: Math.max(result.peakRssMb, fastest.peakRssMb) };
  }
  return fastest;
}

/**
 * The same rows for one workload: this tree's `sbx export` (raw and redacted), the baseline's, the
 * library. This tree and the baseline alternate, so load from elsewhere falls on both alike.
 */
function measure(source, mb, name) {
  if (haveCli) {
    const mine = [];
    const theirs = [];
    for (let index = 0; index < repeat; index += 1) {
      mine.push(runCli(source, join(work, `inbox-${name}-cli-${index}`), reporter));
      if (baselineBin) theirs.push(runCli(source, join(work, `inbox-${name}-baseline-${index}`), reporter, { bin: baselineBin, extra: [] }));
    }
    const fastest = (runs) => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const peak = (runs) => Math.max(...runs.map((run) => run.peakRssMb));
    // Least wall time and least CPU time, each the minimum over the runs (they need not be one run's).
    const leastCpu = (runs) => Math.min(...runs.map((run) => run.cpuSeconds));
    report(`  sbx export --no-redact${repeat > 1 ? ` (best of ${repeat})` : ""}`, mb, { ...fastest(mine), cpuSeconds: leastCpu(mine), peakRssMb: peak(mine) });
    if (baselineBin) report(`  baseline ${baseline}: sbx export${repeat > 1 ? ` (best of ${repeat})` : ""}`, mb, { ...fastest(theirs), cpuSeconds: leastCpu(theirs), peakRssMb: peak(theirs) });
    report("  sbx export --no-redact, nothing changed", 0, runCli(source, join(work, `inbox-${name}-cli-0`), reporter));
    if (baselineBin) report(`  baseline ${baseline}: sbx export, nothing changed`, 0, runCli(source, join(work, `inbox-${name}-baseline-0`), reporter, { bin: baselineBin, extra: [] }));
    report("  sbx export (redacted, the default)", mb, best((tag) => runCli(source, join(work, `inbox-${name}-redacted-${tag}`), reporter, { extra: [] })));
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
