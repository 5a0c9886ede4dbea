#!/usr/bin/env node
// `pnpm bench`: builds the workspace if it has not been built, then runs each package's benchmark.
// Today that is the CLI's (apps/cli/bench/cli.mjs, then network.mjs); flags pass through (e.g. `pnpm bench --runs 30`).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const run = (command, args) => spawnSync(command, args, { cwd: root, stdio: "inherit" }).status ?? 1;

if (!existsSync(join(root, "apps/cli/dist/main.js")) && run("pnpm", ["build"]) !== 0) process.exit(1);
process.exitCode = run(process.execPath, [join(root, "apps/cli/bench/cli.mjs"), ...process.argv.slice(2)]);
// The network tiers: `up` with allowlist vs full, and the egress proxy's added latency per HTTPS request.
process.exitCode ||= run(process.execPath, [join(root, "apps/cli/bench/network.mjs"), ...process.argv.slice(2).filter((arg, index, all) => arg !== "--profile-runs" && all[index - 1] !== "--profile-runs" && arg !== "--bin" && all[index - 1] !== "--bin")]);
