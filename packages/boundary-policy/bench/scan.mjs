// Scan throughput over a mixed corpus (the repository's own source files plus the secret
// fixtures), the slowest 1 MB inputs, and user-pattern load+scan times. Run after `build`:
// `pnpm --filter @sbx/boundary-policy bench`.
//
// The machine is shared, so absolute MB/s move with its load: each figure is printed beside a
// plain regex pass over the same text measured in the same run, and, when `git` can produce it,
// beside the build of `SBX_BENCH_BASELINE_REF` (default `main`) measured in the same run.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { createRefusePolicy } from "../dist/index.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const SKIP = new Set(["node_modules", "dist", ".git", ".turbo", "coverage"]);
const TEXT = /\.(?:ts|mts|js|mjs|cjs|json|jsonl|md|yml|yaml|toml|sh|txt)$/;
const USER_PATTERNS = ["*.acme.corp", "/acmetok_[a-z0-9]{8,64}/"];

function collect(dir, files) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) collect(path, files);
    else if (TEXT.test(name) && stat.size < 2_000_000) files.push(readFileSync(path, "utf8"));
  }
  return files;
}

/** Best of `rounds` passes over `texts`, in MB/s (best: the figure is the scanner's, not a neighbour's burst). */
function throughput(scan, texts, rounds = 5) {
  const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  for (const text of texts) scan(text); // warm-up
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (const text of texts) scan(text);
    best = Math.min(best, performance.now() - started);
  }
  return bytes / 1_000_000 / (best / 1000);
}

function bestMs(run, rounds = 3) {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

/** The package as built at `ref`, in a temporary directory, or undefined when git cannot make it. */
async function baselineBuild(ref) {
  const work = mkdtempSync(join(tmpdir(), "sbx-policy-bench-"));
  try {
    const archive = execFileSync("git", ["-C", repoRoot, "archive", ref, "packages/boundary-policy", "packages/errors", "tsconfig.base.json"], { maxBuffer: 64 << 20 });
    execFileSync("tar", ["-x", "-C", work], { input: archive });
    const copy = join(work, "packages/boundary-policy");
    symlinkSync(join(packageDir, "node_modules"), join(copy, "node_modules"));
    symlinkSync(join(repoRoot, "node_modules"), join(work, "node_modules"));
    const tsc = join(repoRoot, "node_modules/.bin/tsc");
    execFileSync(tsc, ["-p", join(copy, "tsconfig.build.json")], { stdio: "ignore" });
    if (!existsSync(join(copy, "dist/index.js"))) return undefined;
    const module = await import(join(copy, "dist/index.js"));
    return { module, cleanup: () => rmSync(work, { recursive: true, force: true }) };
  } catch {
    rmSync(work, { recursive: true, force: true });
    return undefined;
  }
}

const texts = collect(repoRoot, []);
const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
const policy = createRefusePolicy({ userPatterns: USER_PATTERNS });
const findings = texts.reduce((sum, text) => sum + policy.scanText(text).length, 0);
console.log(`files: ${texts.length}, corpus: ${(bytes / 1_000_000).toFixed(2)} MB, findings per pass: ${findings}`);

// A plain regex pass (every word-like run) over the same texts: the machine's speed right now.
const WORD = /[A-Za-z0-9_]{8,}/g;
const plainScan = (text) => {
  WORD.lastIndex = 0;
  while (WORD.exec(text) !== null);
};
const ref = process.env.SBX_BENCH_BASELINE_REF ?? "main";
const baseline = await baselineBuild(ref);
const old = baseline?.module.createRefusePolicy({ userPatterns: USER_PATTERNS });
// Rounds interleave the builds, so a burst of load on the shared machine hits both alike; each
// figure is its best round.
const best = { current: 0, plain: 0, old: 0 };
for (let round = 0; round < 7; round++) {
  best.current = Math.max(best.current, throughput((text) => policy.scanText(text), texts, 1));
  best.plain = Math.max(best.plain, throughput(plainScan, texts, 1));
  if (old) best.old = Math.max(best.old, throughput((text) => old.scanText(text), texts, 1));
}
console.log(`scanText throughput: ${best.current.toFixed(1)} MB/s (plain regex pass over the same text: ${best.plain.toFixed(1)} MB/s; ratio ${(best.current / best.plain).toFixed(2)})`);
if (old) console.log(`scanText throughput of ${ref}'s build, same run, interleaved: ${best.old.toFixed(1)} MB/s (this build is ${(best.current / best.old).toFixed(1)}x)`);
else console.log(`(no build of ${ref} to compare with: git archive or tsc failed)`);
baseline?.cleanup();

// The slowest 1 MB inputs: adversarial fills and the 30 000-secret text from issue 12.
const MB = 1_000_000;
const fill = (unit) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const awsKeys = Array.from({ length: 23_000 }, (_, n) => {
  let body = "";
  for (let i = 0, x = n * 2654435761 + 12345; i < 16; i++, x = Math.floor(x / 7) + i * 31) body += ALPHABET[x % 32];
  return `[REDACTED:github-pat] id=AKIA${body}\n`;
});
const oneMegabyte = {
  "mixed source": texts.join("\n").slice(0, MB),
  "base64 run": fill("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw=="),
  "one letter": fill("a"),
  "repeated ghp_": fill("ghp_"),
  "BEGIN without END": fill("-----BEGIN RSA PRIVATE KEY-----\nMIIEpQIBAAKCAQEAn6/O8li+SX4m98LLYt/PKSzEmQ++ZBD7Loh9P13f4yQ92EF3\n"),
  "JWT-ish dots": fill("eyJhbGciOiJIUzI1NiJ9."),
  "marker soup": fill("[REDACTED:x]"),
  "zero-width soup": fill("ghp_\u200D"),
  "markers + AWS key ids": awsKeys.join("").slice(0, MB),
};
let worst = 0;
for (const [name, text] of Object.entries(oneMegabyte)) {
  const scan = bestMs(() => policy.scanText(text));
  const redact = bestMs(() => policy.redact(text));
  worst = Math.max(worst, scan, redact);
  console.log(`  1 MB of ${name.padEnd(22)} scanText ${scan.toFixed(1).padStart(6)} ms   redact ${redact.toFixed(1).padStart(6)} ms`);
}
console.log(`slowest 1 MB input: ${worst.toFixed(1)} ms`);

// Issue 8 hole 5: the patterns that hung the backtracking engine, loaded and run on RE2.
for (const pattern of ["/^(a?){40}a{40}$/", "/(?:a?){60}b/", "/^(\\d?){30}\\d{30}$/", "/^(a?){25}a{25}$/"]) {
  const text = `${"a".repeat(50_000)}\n${"1".repeat(50_000)}`;
  const ms = bestMs(() => createRefusePolicy({ userPatterns: [pattern] }).scanText(text));
  console.log(`  user pattern ${pattern.padEnd(22)} load + scan 100 KB of a/1 runs: ${ms.toFixed(1)} ms`);
}
