// Recall and false positives on cases the rules were not built from. Run after `build`:
// `pnpm --filter @sbx/boundary-policy bench:recall` (add `--misses tune` to list the tune split's
// misses and false positives, `--misses gitleaks` the gitleaks rules not wholly covered (3. below); the held-out split is never listed unless asked by name; `--source
// <owner/name>` counts one upstream repository's cases only).
//
// 1. test-fixtures/secrets/held-out/held-out.jsonl, written by build.py there: trufflehog's
//    detector tests, kingfisher's rule examples, detect-secrets' plugin tests, and whispers',
//    git-secrets' and earlybird's test data (split `tune`, the cases rules are tuned on;
//    kingfisher's and detect-secrets' were held out until session 6), and semgrep-rules'
//    secret-rule tests, trivy's secret-scanner tests and ripsecrets' test files (split
//    `held-out`: measured, never listed while tuning). A `match` case is recalled when a
//    finding overlaps one of its secret parts (`secrets`: the upstream result's
//    parts found in the text, e.g. key id, secret key and session token; none → any finding),
//    and counts in `whole` when `redact` leaves none of those parts (nor a 6-character tail of
//    one) in the text: the stricter figure, where a key id redacted beside its secret left in
//    place counts as a miss. A `no-match` case is a false positive when anything is found.
// 2. Ordinary developer text, sampled (seeded) from what this machine has: the repository's own
//    source (tests, secret fixtures, this package's bench inputs and its generated rule table
//    excluded: they are secret-shaped on purpose), pnpm-lock.yaml (integrity hashes), the
//    installed node_modules (source, minified bundles, type declarations, source maps,
//    package.json), git history (SHAs), UUIDs as services log them, and data: URIs of system
//    images. Each sample is a 2 KB chunk; a chunk with any finding counts as a false positive.
//    Files are split in halves by a hash of their path, like the token cases.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import { createRefusePolicy } from "../dist/index.js";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const heldOutPath = join(repoRoot, "test-fixtures/secrets/held-out/held-out.jsonl");
const policy = createRefusePolicy();
const args = process.argv.slice(2);
const showMisses = args.includes("--misses") ? args[args.indexOf("--misses") + 1] : undefined;
const json = args.includes("--json");
const onlySource = args.includes("--source") ? args[args.indexOf("--source") + 1] : undefined;

// ---- 1. token cases -------------------------------------------------------------------------

function evaluate(testCase) {
  const findings = policy.scanText(testCase.text);
  if (testCase.expect === "no-match") return { refused: findings.length > 0, whole: true, findings };
  const parts = testCase.secrets ?? [];
  if (parts.length === 0) return { refused: findings.length > 0, whole: findings.length > 0, findings };
  const spans = parts.map((part) => {
    const start = testCase.text.indexOf(part);
    return [start, start + part.length];
  });
  const refused = spans.some(([s, e]) => findings.some((f) => f.start < e && f.end > s));
  const redacted = refused ? policy.redact(testCase.text) : testCase.text;
  const whole = parts.every((part) => !redacted.includes(part) && (part.length < 12 || !redacted.includes(part.slice(-6))));
  return { refused, whole, findings };
}

const cases = readFileSync(heldOutPath, "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l, i) => ({ line: i + 1, ...JSON.parse(l) }))
  .filter((c) => onlySource === undefined || c.source.split(":")[0] === onlySource);
const pct = (part, whole) => (whole === 0 ? "—" : `${((100 * part) / whole).toFixed(1)} %`);

function table(split) {
  const rows = new Map();
  const misses = [];
  for (const c of cases.filter((x) => x.split === split)) {
    const row = rows.get(c.family) ?? { family: c.family, match: 0, recalled: 0, whole: 0, noMatch: 0, refused: 0 };
    const r = evaluate(c);
    if (c.expect === "match") {
      row.match++;
      if (r.refused) row.recalled++;
      if (r.whole) row.whole++;
      if (!r.refused || !r.whole) misses.push({ c, r });
    } else {
      row.noMatch++;
      if (r.refused) {
        row.refused++;
        misses.push({ c, r });
      }
    }
    rows.set(c.family, row);
  }
  const list = [...rows.values()].sort((a, b) => a.family.localeCompare(b.family));
  const total = list.reduce((s, r) => ({ family: "total", match: s.match + r.match, recalled: s.recalled + r.recalled, whole: s.whole + r.whole, noMatch: s.noMatch + r.noMatch, refused: s.refused + r.refused }), { family: "total", match: 0, recalled: 0, whole: 0, noMatch: 0, refused: 0 });
  return { list, total, misses };
}

function printTable(title, { list, total }) {
  const line = (r) =>
    `${r.family.padEnd(13)} ${String(r.match).padStart(5)} ${String(r.recalled).padStart(8)} ${pct(r.recalled, r.match).padStart(8)} ${pct(r.whole, r.match).padStart(8)} ${String(r.noMatch).padStart(8)} ${String(r.refused).padStart(6)} ${pct(r.refused, r.noMatch).padStart(8)}`;
  console.log(`\n${title}\nfamily        match recalled   recall    whole no-match    FPs  FP rate`);
  for (const r of list) console.log(line(r));
  console.log(line(total));
}

const results = {};
for (const split of ["tune", "held-out"]) {
  const t = table(split);
  results[split] = t.total;
  const sources = [...new Set(cases.filter((c) => c.split === split).map((c) => c.source.split(":")[0]))].join(", ");
  printTable(`token cases, split ${split} (${sources})`, t);
  if (showMisses === split) {
    for (const { c, r } of t.misses) {
      const what = c.expect === "no-match" ? `FP by ${r.findings.map((f) => f.rule).join(",")}` : r.refused ? "partial redaction" : "MISSED";
      console.log(`--- ${what} [${c.family}] line ${c.line} ${c.source} ${c.case ?? ""}\n${c.text.slice(0, 600)}`);
    }
  }
}

// ---- 2. ordinary developer text --------------------------------------------------------------

const CHUNK = 2048;
let seed = 20261202;
// mulberry32: a small seeded generator with exact 32-bit arithmetic.
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function half(path) {
  return createHash("sha256").update(path).digest()[0] % 2 === 0 ? "tune" : "held-out";
}
function chunks(text) {
  const out = [];
  for (let i = 0; i < text.length; i += CHUNK) {
    // Cut at a line end where there is one near, as a pasted excerpt would be.
    let end = Math.min(text.length, i + CHUNK);
    const nl = text.lastIndexOf("\n", end);
    if (nl > i + CHUNK / 2 && end < text.length) end = nl + 1;
    out.push(text.slice(i, end));
    i = end - CHUNK;
  }
  return out;
}

function walk(dir, accept, files = []) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return files;
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue;
    }
    if (stat.isDirectory()) {
      if (name !== ".git") walk(path, accept, files);
    } else if (accept(path) && stat.size > 0 && stat.size < 3_000_000) files.push(path);
  }
  return files;
}

function sample(kind, items, perKind) {
  // Each kind draws from its own seed, so a change in one kind's files leaves the others' samples.
  seed = [...kind].reduce((h, c) => (h * 31 + c.charCodeAt(0)) % 2147483648, 20261202);
  // items: [{ path, text }]; returns chunks picked uniformly from all chunks of all items.
  const all = [];
  // One file alone (the lockfile, the git log) is split in halves by chunk instead.
  for (const { path, text } of items) chunks(text).forEach((chunk, i) => all.push({ kind, path, half: half(items.length === 1 ? `${path}#${i}` : path), text: chunk }));
  const picked = [];
  const taken = new Set();
  while (picked.length < Math.min(perKind, all.length)) {
    const i = Math.floor(random() * all.length);
    if (taken.has(i)) continue;
    taken.add(i);
    picked.push(all[i]);
  }
  return picked;
}

const read = (path) => ({ path, text: readFileSync(path, "utf8") });
const tracked = execFileSync("git", ["-C", repoRoot, "ls-files"], { encoding: "utf8" })
  .split("\n")
  .filter((p) => /\.(?:ts|mts|mjs|js|json|md|ya?ml|sh|toml)$/.test(p) && !/\.test\.ts$|test-fixtures\/|test-support\/|pnpm-lock\.yaml$|\.changeset\/|boundary-policy\/bench\/|rule-engine-forms\.generated\.ts$/.test(p))
  .map((p) => join(repoRoot, p))
  .filter(existsSync);
const pnpmDir = join(repoRoot, "node_modules/.pnpm");
// The workspace's own packages (@sbx/*, linked in) are the repo source above, not third-party text.
const modules = walk(pnpmDir, (p) => /\.(?:js|mjs|cjs|ts|json|md|map)$/.test(p) && !/\/(?:test|tests|__tests__|fixtures?)\/|\/@sbx\//.test(p));
const byExt = (re) => modules.filter((p) => re.test(p));

const gitLog = execFileSync("git", ["-C", repoRoot, "log", "--format=commit %H%nAuthor: %an%nDate: %ad%ntree %T parents %P%n%n    %s%n", "-n", "3000"], { encoding: "utf8", maxBuffer: 64 << 20 });
// Version-4 UUIDs from a seeded hash, so every run samples the same text.
function uuid(n) {
  const h = createHash("sha256").update(`uuid-${n}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${"89ab"[parseInt(h[16], 16) % 4]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const uuidLog = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ level: "info", time: 1764633600000 + i * 997, requestId: uuid(3 * i), traceId: uuid(3 * i + 1).replace(/-/g, ""), userId: uuid(3 * i + 2), msg: "request completed", status: 200 })).join("\n");
const images = walk("/usr/share", (p) => /\.(?:png|gif|jpe?g)$/.test(p) && statSync(p).size < 6000).slice(0, 400);
const imageText = images.map((p, i) => {
  const uri = `data:image/${p.split(".").pop().replace("jpg", "jpeg")};base64,${readFileSync(p).toString("base64")}`;
  return i % 2 === 0 ? `.icon-${i} { background-image: url("${uri}"); }\n` : `![icon ${i}](${uri})\n`;
});

const PER_KIND = 400;
const negatives = [
  ...sample("repo source", tracked.map(read), PER_KIND),
  ...sample("pnpm-lock.yaml", [read(join(repoRoot, "pnpm-lock.yaml"))], PER_KIND),
  ...sample("node_modules js", byExt(/\.(?:js|mjs|cjs)$/).filter((p) => !/\.min\.js$/.test(p)).map(read), PER_KIND),
  ...sample("minified js", byExt(/\.min\.js$|\/dist\/.*\.(?:js|mjs|cjs)$/).map(read), PER_KIND),
  ...sample("type declarations", byExt(/\.d\.ts$/).map(read), PER_KIND),
  ...sample("source maps", byExt(/\.map$/).map(read), PER_KIND),
  ...sample("package.json/README", byExt(/\/(?:package\.json|README\.md)$/).map(read), PER_KIND),
  ...sample("git log (SHAs)", [{ path: "git-log", text: gitLog }], PER_KIND),
  ...sample("UUID logs", [{ path: "uuid-log", text: uuidLog }], PER_KIND),
  ...sample("data: URI images", imageText.map((text, i) => ({ path: images[i], text })), PER_KIND),
];

const negRows = new Map();
const negMisses = [];
for (const n of negatives) {
  const key = `${n.kind}`;
  const row = negRows.get(key) ?? { kind: key, tune: 0, tuneFp: 0, held: 0, heldFp: 0 };
  const findings = policy.scanText(n.text);
  if (n.half === "tune") {
    row.tune++;
    if (findings.length) row.tuneFp++;
  } else {
    row.held++;
    if (findings.length) row.heldFp++;
  }
  if (findings.length && showMisses === n.half) negMisses.push({ n, findings });
  negRows.set(key, row);
}
console.log(`\ndeveloper text (${CHUNK}-byte chunks, false positive = any finding)\nkind                  tune chunks   FPs  FP rate   held-out chunks   FPs  FP rate`);
const tot = { kind: "total", tune: 0, tuneFp: 0, held: 0, heldFp: 0 };
for (const r of [...negRows.values(), tot]) {
  if (r !== tot) for (const k of ["tune", "tuneFp", "held", "heldFp"]) tot[k] += r[k];
  console.log(`${r.kind.padEnd(20)} ${String(r.tune).padStart(12)} ${String(r.tuneFp).padStart(5)} ${pct(r.tuneFp, r.tune).padStart(8)} ${String(r.held).padStart(17)} ${String(r.heldFp).padStart(5)} ${pct(r.heldFp, r.held).padStart(8)}`);
}
for (const { n, findings } of negMisses) {
  for (const f of findings) console.log(`--- FP ${f.rule} [${n.kind}] ${relative(repoRoot, n.path)}: …${n.text.slice(Math.max(0, f.start - 60), f.end + 20).replace(/\n/g, "⏎")}…`);
}
// ---- 3. gitleaks' default rules --------------------------------------------------------------
// test-fixtures/secrets/gitleaks-rules/samples.jsonl: secrets generated from each of gitleaks'
// default rules' own regex (see generate.mjs there), in its generator's lines. A rule counts as
// covered when every sample of it is found. Identifiers and public keys that gitleaks also
// reports are no secret to sbx (its choice): they are counted apart.
const NOT_SECRET_BY_CHOICE = /-(?:client|access|user-api)-id$|-pub(?:lic)?-(?:api-)?key$|^mapbox-api-token$/;
const gitleaksPath = join(repoRoot, "test-fixtures/secrets/gitleaks-rules/samples.jsonl");
const byGitleaksRule = new Map();
for (const line of readFileSync(gitleaksPath, "utf8").split("\n")) {
  if (line.trim() === "") continue;
  const sample = JSON.parse(line);
  const id = sample.rule.replace(/^gitleaks:/, "");
  const row = byGitleaksRule.get(id) ?? { id, samples: 0, found: 0, missed: [] };
  row.samples++;
  const start = sample.text.indexOf(sample.secret);
  if (policy.scanText(sample.text).some((f) => f.start < start + sample.secret.length && f.end > start)) row.found++;
  else row.missed.push(sample.text);
  byGitleaksRule.set(id, row);
}
const gitleaksRows = [...byGitleaksRule.values()];
const idsApart = gitleaksRows.filter((r) => NOT_SECRET_BY_CHOICE.test(r.id));
const secretRules = gitleaksRows.filter((r) => !NOT_SECRET_BY_CHOICE.test(r.id));
const covered = secretRules.filter((r) => r.found === r.samples);
const gitleaksTotals = { rules: secretRules.length, covered: covered.length, samples: secretRules.reduce((n, r) => n + r.samples, 0), found: secretRules.reduce((n, r) => n + r.found, 0) };
console.log(`\ngitleaks' default rules, samples from each rule's own regex (${gitleaksRows.length} rules with samples)`);
console.log(`secret rules: ${gitleaksTotals.covered} / ${gitleaksTotals.rules} covered (every sample found), samples ${gitleaksTotals.found} / ${gitleaksTotals.samples} (${pct(gitleaksTotals.found, gitleaksTotals.samples)})`);
console.log(`identifiers and public keys, no secret by choice: ${idsApart.length} rules, samples found ${idsApart.reduce((n, r) => n + r.found, 0)} / ${idsApart.reduce((n, r) => n + r.samples, 0)}`);
if (showMisses === "gitleaks") for (const r of secretRules.filter((x) => x.found < x.samples)) console.log(`--- ${r.id} ${r.found}/${r.samples}: ${JSON.stringify(r.missed[0].slice(0, 200))}`);

if (json) console.log(JSON.stringify({ tokens: results, developerText: tot, gitleaks: gitleaksTotals }));
