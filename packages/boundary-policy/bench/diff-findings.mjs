// What a rule change costs in false positives, on far more developer text than bench:recall
// samples: every text file under the roots (this repository's node_modules, the system's npm,
// Python and /usr/share, /etc), scanned by this build and by the build of
// `SBX_BENCH_BASELINE_REF` (default `main`); prints the findings only one of them makes, a few
// per rule, each with the 50 characters before it. Run after `build`:
// `pnpm --filter @sbx/boundary-policy bench:diff-findings` (`SBX_DIFF_ROOTS=a,b` for other roots,
// `SBX_DIFF_MB` to scan more or less than 400 MB, `SBX_DIFF_SHOW` for more examples per rule).
// The text is the machine's, not the repository's: figures are comparable only on one machine.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { createRefusePolicy } from "../dist/index.js";
import { baselineBuild } from "./baseline-build.mjs";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const ref = process.env.SBX_BENCH_BASELINE_REF ?? "main";
const roots = process.env.SBX_DIFF_ROOTS?.split(",") ?? [join(repoRoot, "node_modules/.pnpm"), "/usr/lib/node_modules", "/usr/lib/python3", "/usr/share", "/etc"];
const limit = Number(process.env.SBX_DIFF_MB ?? 400) * 1_000_000;
const show = Number(process.env.SBX_DIFF_SHOW ?? 8);
const TEXT = /\.(?:js|mjs|cjs|ts|json|md|ya?ml|toml|ini|conf|cfg|sh|py|txt|xml|properties|env)$/;

const baseline = await baselineBuild(ref);
if (baseline === undefined) {
  console.log(`no build of ${ref} to compare with: git archive or tsc failed`);
  process.exit(1);
}
const current = createRefusePolicy();
const old = baseline.module.createRefusePolicy();

let characters = 0;
let files = 0;
/** Per side, per rule: where the findings only that build makes are. */
const only = { current: new Map(), baseline: new Map() };

function note(side, path, text, finding) {
  const list = only[side].get(finding.rule) ?? [];
  list.push(`${path}: ${JSON.stringify(text.slice(Math.max(0, finding.start - 50), finding.start))} >>${text.slice(finding.start, finding.end)}<<`);
  only[side].set(finding.rule, list);
}

function scan(path, text) {
  const key = (finding) => `${finding.rule}@${finding.start}`;
  const mine = current.scanText(text);
  const theirs = old.scanText(text);
  const mineKeys = new Set(mine.map(key));
  const theirKeys = new Set(theirs.map(key));
  for (const finding of mine) if (!theirKeys.has(key(finding))) note("current", path, text, finding);
  for (const finding of theirs) if (!mineKeys.has(key(finding))) note("baseline", path, text, finding);
}

function walk(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (characters > limit) return;
    const path = join(dir, name);
    let stat;
    try {
      stat = lstatSync(path);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) continue;
    if (stat.isDirectory()) walk(path);
    else if (TEXT.test(name) && stat.size > 0 && stat.size < 2_000_000) {
      let text;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        continue;
      }
      characters += text.length;
      files++;
      scan(path, text);
    }
  }
}

for (const root of roots) walk(root);
baseline.cleanup();
console.log(`scanned ${files} files, ${(characters / 1_000_000).toFixed(1)} MB (roots: ${roots.join(", ")})`);
for (const [side, label] of [["current", `findings this build makes and ${ref}'s does not`], ["baseline", `findings ${ref}'s build makes and this one does not`]]) {
  const total = [...only[side].values()].reduce((sum, list) => sum + list.length, 0);
  console.log(`${label}: ${total}`);
  for (const [rule, list] of only[side]) {
    console.log(`  ${rule}: ${list.length}`);
    for (const line of list.slice(0, show)) console.log(`    ${line.slice(0, 300)}`);
  }
}
