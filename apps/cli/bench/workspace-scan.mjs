#!/usr/bin/env node
// How long `sbx up` spends inspecting the workspace before launch (hole 1's agent-config scan
// and hole 16's host-executed-files snapshot), on a synthetic tree of folders (80 x 80 = 6400,
// past the nested-project walk's 5000-folder bound) and on a directory you name.
//
// Usage: node apps/cli/bench/workspace-scan.mjs [dir]   (after `pnpm build`)
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { snapshotHostExecuted } from "../dist/host-exec-files.js";
import { hostWorkspaceReader } from "../dist/workspace-reader.js";
import { scanWorkspace } from "../dist/workspace-trust.js";

const synthetic = mkdtempSync(join(tmpdir(), "sbx-scan-bench-"));
for (let i = 0; i < 80; i++) for (let j = 0; j < 80; j++) mkdirSync(join(synthetic, `d${i}`, `e${j}`), { recursive: true });
try {
  for (const root of [synthetic, ...process.argv.slice(2)]) {
    const times = { scan: [], snapshot: [] };
    let partial = false;
    for (let run = 0; run < 5; run++) {
      let started = performance.now();
      partial = Boolean((await scanWorkspace(await hostWorkspaceReader(root))).partial);
      times.scan.push(performance.now() - started);
      started = performance.now();
      await snapshotHostExecuted(await hostWorkspaceReader(root));
      times.snapshot.push(performance.now() - started);
    }
    const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)].toFixed(0);
    console.log(`${root === synthetic ? "synthetic 6400 folders" : root}: agent-config scan ${median(times.scan)} ms (median of 5${partial ? ", walk bound hit" : ""}), host-exec snapshot ${median(times.snapshot)} ms`);
  }
} finally {
  rmSync(synthetic, { recursive: true, force: true });
}
