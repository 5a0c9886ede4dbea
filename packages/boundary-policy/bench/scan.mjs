// Scan throughput over a mixed corpus: the repository's own source files plus the secret fixtures.
// Run after `build`: `pnpm --filter @sbx/boundary-policy bench`.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { createRefusePolicy } from "../dist/index.js";

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const SKIP = new Set(["node_modules", "dist", ".git", ".turbo", "coverage"]);
const TEXT = /\.(?:ts|mts|js|mjs|cjs|json|jsonl|md|yml|yaml|toml|sh|txt)$/;

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

const texts = collect(repoRoot, []);
const bytes = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
const policy = createRefusePolicy({ userPatterns: ["*.acme.corp", "/acmetok_[a-z0-9]{8,64}/"] });

let findings = 0;
for (const text of texts) findings += policy.scanText(text).length; // warm-up

const rounds = 5;
const started = performance.now();
for (let round = 0; round < rounds; round++) for (const text of texts) policy.scanText(text);
const seconds = (performance.now() - started) / 1000;
const megabytes = (bytes * rounds) / 1_000_000;

console.log(`files: ${texts.length}, corpus: ${(bytes / 1_000_000).toFixed(2)} MB, findings per pass: ${findings}`);
console.log(`scanText throughput: ${(megabytes / seconds).toFixed(1)} MB/s (${rounds} passes, ${seconds.toFixed(2)} s)`);
