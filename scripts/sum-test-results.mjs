// Sums vitest's per-package "Tests  3 failed | 40 passed | 2 skipped (45)" lines from a turbo log
// into one closing line: "tests: N passed, N failed, N skipped".
import { readFileSync } from "node:fs";

const text = readFileSync(process.argv[2], "utf8").replace(/\x1b\[[0-9;]*m/g, "");
const totals = { passed: 0, failed: 0, skipped: 0 };
let packages = 0;
for (const line of text.split("\n")) {
  const match = line.match(/\bTests\s+(.*)\(\d+\)\s*$/);
  if (!match) continue;
  packages += 1;
  for (const part of match[1].split("|")) {
    const [, count, kind] = part.trim().match(/^(\d+)\s+(passed|failed|skipped|todo)/) ?? [];
    if (kind === "todo") totals.skipped += Number(count);
    else if (kind) totals[kind] += Number(count);
  }
}
console.log(`\n${packages} packages tested`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
