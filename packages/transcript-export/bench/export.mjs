// Throughput and memory of the exporter. Each scenario runs in its own process so that its peak
// RSS is its own. Usage: pnpm --filter @sbx/transcript-export bench [-- --size-mb 200 --sessions 1000]
import { spawnSync } from "node:child_process";
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "../../../test-fixtures/transcripts");
const distEntry = join(here, "../dist/index.js");
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
  process.stdout.write(JSON.stringify({ seconds, written: result.written, unchanged: result.unchanged, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const claudeFixtures = readdirSync(fixtures).filter((name) => name.endsWith(".jsonl") && !/codex|rollout-|kvsankar|v040|corrupted|edge_cases/.test(name));

function runChild(source, inbox, nodeFlags = []) {
  const child = spawnSync(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), "--child", source, inbox], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(child.stderr);
  return JSON.parse(child.stdout);
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
const work = mkdtempSync(join(tmpdir(), "sbx-bench-"));
try {
  const large = join(work, "large");
  mkdirSync(large);
  const largeBytes = await buildLargeSession(join(large, "bench-large.jsonl"), sizeMb * 1024 * 1024);
  const first = runChild(large, join(work, "inbox-large"));
  const rerun = runChild(large, join(work, "inbox-large"));
  // The same export with V8's heap capped: it still completes, so nothing grows with history;
  // the default run's extra RSS is heap V8 did not bother to collect.
  const capped = runChild(large, join(work, "inbox-large-capped"), ["--max-old-space-size=48", "--max-semi-space-size=2"]);
  const mb = largeBytes / 1024 / 1024;
  console.log(`large session: ${mb.toFixed(0)} MB in ${first.seconds.toFixed(2)} s = ${(mb / first.seconds).toFixed(1)} MB/s, peak RSS ${first.peakRssMb.toFixed(0)} MB`);
  console.log(`large session, heap capped (--max-old-space-size=48 --max-semi-space-size=2): ${capped.seconds.toFixed(2)} s, peak RSS ${capped.peakRssMb.toFixed(0)} MB`);
  console.log(`large session, nothing changed: ${(rerun.seconds * 1000).toFixed(1)} ms (written ${rerun.written}, unchanged ${rerun.unchanged})`);

  const many = join(work, "many");
  mkdirSync(many);
  let manyBytes = 0;
  for (let index = 0; index < sessions; index += 1) {
    const name = claudeFixtures[index % claudeFixtures.length];
    const target = join(many, `${String(index).padStart(8, "0")}-0000-4000-8000-000000000000.jsonl`);
    copyFileSync(join(fixtures, name), target);
    manyBytes += statSync(target).size;
  }
  const manyFirst = runChild(many, join(work, "inbox-many"));
  const manyRerun = runChild(many, join(work, "inbox-many"));
  const manyMb = manyBytes / 1024 / 1024;
  console.log(`${sessions} sessions (${manyMb.toFixed(0)} MB): ${manyFirst.seconds.toFixed(2)} s = ${(manyMb / manyFirst.seconds).toFixed(1)} MB/s, peak RSS ${manyFirst.peakRssMb.toFixed(0)} MB, written ${manyFirst.written}`);
  console.log(`${sessions} sessions, nothing changed: ${(manyRerun.seconds * 1000).toFixed(1)} ms (written ${manyRerun.written}, unchanged ${manyRerun.unchanged})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
