// Scan throughput over a mixed corpus (the repository's own source files plus the secret
// fixtures), the slowest 1 MB inputs, and user-pattern load+scan times. Run after `build`:
// `pnpm --filter @sbx/boundary-policy bench`.
//
// The machine is shared, so absolute MB/s move with its load: each figure is the median of
// interleaved rounds, printed beside a plain regex pass over the same text measured in the same
// run, and, when `git` can produce it, beside the build of `SBX_BENCH_BASELINE_REF` (default
// `main`) measured in the same run (`SBX_BENCH_COMPARE_CASES=1`: on the 1 MB inputs too).
// The last lines give a verdict per target of issue 12: >= 50 MB/s on mixed source text, and no
// 1 MB input over 50 ms.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { createRefusePolicy, TOKEN_RULES } from "../dist/index.js";
import { baselineBuild } from "./baseline-build.mjs";

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

/** MB/s of one pass over `texts`. */
function throughput(scan, texts) {
  const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  const started = performance.now();
  for (const text of texts) scan(text);
  return bytes / 1_000_000 / ((performance.now() - started) / 1000);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function timeMs(run) {
  const started = performance.now();
  run();
  return performance.now() - started;
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
const ROUNDS = Number(process.env.SBX_BENCH_ROUNDS ?? 7);
const VERBOSE = process.env.SBX_BENCH_VERBOSE === "1";
// The baseline's timings on the 1 MB inputs too (slow: the old build takes seconds on some).
const COMPARE_CASES = process.env.SBX_BENCH_COMPARE_CASES === "1";
// Rounds interleave the builds, so a burst of load on the shared machine hits both alike; each
// figure is the median of its rounds.
for (const text of texts) policy.scanText(text), old?.scanText(text); // warm-up
const rounds = { current: [], plain: [], old: [] };
for (let round = 0; round < ROUNDS; round++) {
  rounds.current.push(throughput((text) => policy.scanText(text), texts));
  rounds.plain.push(throughput(plainScan, texts));
  if (old) rounds.old.push(throughput((text) => old.scanText(text), texts));
}
const mixed = { current: median(rounds.current), plain: median(rounds.plain), old: old ? median(rounds.old) : 0 };
console.log(`scanText throughput (median of ${ROUNDS}): ${mixed.current.toFixed(1)} MB/s (plain regex pass over the same text: ${mixed.plain.toFixed(1)} MB/s; ratio ${(mixed.current / mixed.plain).toFixed(2)})`);
if (old) console.log(`scanText throughput of ${ref}'s build, same run, interleaved: ${mixed.old.toFixed(1)} MB/s (this build is ${(mixed.current / mixed.old).toFixed(1)}x)`);
else console.log(`(no build of ${ref} to compare with: git archive or tsc failed)`);

// The slowest 1 MB inputs: adversarial fills, the 30 000-secret text from issue 12, and for every
// rule family a text of nothing but its keywords and start literals (near misses without bodies).
const MB = 1_000_000;
const fill = (unit) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const awsKeys = Array.from({ length: 23_000 }, (_, n) => {
  let body = "";
  for (let i = 0, x = n * 2654435761 + 12345; i < 16; i++, x = Math.floor(x / 7) + i * 31) body += ALPHABET[x % 32];
  return `[REDACTED:github-pat] id=AKIA${body}\n`;
});
let seed = 7;
const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const randomRun = (alphabet, length) => Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
const mixedSource = texts.join("\n");
const oneMegabyte = {
  "mixed source": mixedSource.slice(0, MB),
  "mixed source, one line": mixedSource.replace(/\n/g, " ").slice(0, MB),
  "base64 run": fill("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw=="),
  "random base64, one line": randomRun(B64, MB),
  "random base64, 76 a line": fill(randomRun(B64, 76 * 64).replace(/(.{76})/g, "$1\n")),
  "random hex": randomRun("0123456789abcdef", MB),
  "one letter": fill("a"),
  "repeated ghp_": fill("ghp_"),
  "repeated sk-": fill("sk-"),
  "repeated sk-ant-api03-": fill("sk-ant-api03-"),
  "repeated AKIA": fill("AKIA"),
  "repeated AKIA + 16": fill("AKIAABCDEFGHIJKLMNOP"),
  "repeated xoxb-": fill("xoxb-"),
  "repeated glpat-": fill("glpat-"),
  "repeated eyJ": fill("eyJ"),
  "repeated password=": fill("password="),
  "repeated password = x": fill('password = "hunter2x" '),
  "repeated token: ": fill("token: "),
  "repeated api_key=8chars": fill("api_key=abcd1234 "),
  "repeated https://u:p@": fill("https://user:pass@"),
  "repeated :AA": fill("1234567:AA"),
  "repeated s.": fill("s."),
  "every keyword, spaced": fill(TOKEN_RULES.flatMap((rule) => rule.keywords).join(" ") + " "),
  "every keyword, glued": fill(TOKEN_RULES.flatMap((rule) => rule.keywords).join("")),
  "BEGIN without END": fill("-----BEGIN RSA PRIVATE KEY-----\nMIIEpQIBAAKCAQEAn6/O8li+SX4m98LLYt/PKSzEmQ++ZBD7Loh9P13f4yQ92EF3\n"),
  "BEGIN headers only": fill("-----BEGIN PRIVATE KEY-----"),
  "JWT-ish dots": fill("eyJhbGciOiJIUzI1NiJ9."),
  "marker soup": fill("[REDACTED:x]"),
  "zero-width soup": fill("ghp_\u200D"),
  "zero-width in mixed source": mixedSource.slice(0, MB).replace(/e/g, "e\u200B").slice(0, MB),
  "markers + AWS key ids": awsKeys.join("").slice(0, MB),
  // Every line a keyword secret of its own under a name of its own: each match read through its
  // secret, and no line's text repeats another's, so redaction's check reads every one again.
  "distinct keyword secrets": Array.from({ length: 20_000 }, (_, n) => `password${n} = "${randomRun(B64.slice(0, 62), 32)}"\n`).join("").slice(0, MB),
};
const families = new Map();
for (const rule of TOKEN_RULES) families.set(rule.family, [...(families.get(rule.family) ?? []), ...rule.keywords]);
for (const [family, keywords] of families) oneMegabyte[`near misses: ${family}`] = fill(keywords.join(" ") + " " + keywords.join("") + "=");

const CASE_ROUNDS = Number(process.env.SBX_BENCH_CASE_ROUNDS ?? 5);
const results = [];
for (const [name, text] of Object.entries(oneMegabyte)) {
  const times = { scan: [], redact: [], oldScan: [], oldRedact: [] };
  policy.scanText(text); // warm-up
  for (let round = 0; round < CASE_ROUNDS; round++) {
    times.scan.push(timeMs(() => policy.scanText(text)));
    times.redact.push(timeMs(() => policy.redact(text)));
    if (old && COMPARE_CASES) {
      times.oldScan.push(timeMs(() => old.scanText(text)));
      times.oldRedact.push(timeMs(() => old.redact(text)));
    }
  }
  const result = { name, scan: median(times.scan), redact: median(times.redact), oldScan: times.oldScan.length ? median(times.oldScan) : undefined, oldRedact: times.oldRedact.length ? median(times.oldRedact) : undefined };
  results.push(result);
  const was = result.oldScan === undefined ? "" : `   (${ref}: ${result.oldScan.toFixed(1).padStart(6)} / ${result.oldRedact.toFixed(1).padStart(6)} ms)`;
  if (!name.startsWith("near misses") || VERBOSE) console.log(`  1 MB of ${name.padEnd(28)} scanText ${result.scan.toFixed(1).padStart(6)} ms   redact ${result.redact.toFixed(1).padStart(6)} ms${was}`);
}
const nearMisses = results.filter((r) => r.name.startsWith("near misses")).sort((a, b) => Math.max(b.scan, b.redact) - Math.max(a.scan, a.redact));
console.log(`  near misses, ${nearMisses.length} families (slowest 3 shown; SBX_BENCH_VERBOSE=1 for all):`);
for (const r of nearMisses.slice(0, 3)) console.log(`  1 MB of ${r.name.padEnd(28)} scanText ${r.scan.toFixed(1).padStart(6)} ms   redact ${r.redact.toFixed(1).padStart(6)} ms`);
const worst = results.flatMap((r) => [{ name: r.name, op: "scanText", ms: r.scan }, { name: r.name, op: "redact", ms: r.redact }]).sort((a, b) => b.ms - a.ms)[0];
console.log(`slowest 1 MB input (median of ${CASE_ROUNDS}): ${worst.op} of ${worst.name}, ${worst.ms.toFixed(1)} ms`);
console.log("");
console.log(`verdict: mixed source text ${mixed.current.toFixed(1)} MB/s (target >= 50 MB/s): ${mixed.current >= 50 ? "MET" : "NOT MET"}`);
console.log(`verdict: slowest 1 MB input ${worst.ms.toFixed(1)} ms, ${worst.op} of ${worst.name} (target <= 50 ms): ${worst.ms <= 50 ? "MET" : "NOT MET"}`);
console.log("");

// Issue 8 hole 5: the patterns that hung the backtracking engine, loaded and run on RE2.
baseline?.cleanup();
for (const pattern of ["/^(a?){40}a{40}$/", "/(?:a?){60}b/", "/^(\\d?){30}\\d{30}$/", "/^(a?){25}a{25}$/"]) {
  const text = `${"a".repeat(50_000)}\n${"1".repeat(50_000)}`;
  const ms = median(Array.from({ length: 3 }, () => timeMs(() => createRefusePolicy({ userPatterns: [pattern] }).scanText(text))));
  console.log(`  user pattern ${pattern.padEnd(22)} load + scan 100 KB of a/1 runs: ${ms.toFixed(1)} ms`);
}
