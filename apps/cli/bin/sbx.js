#!/usr/bin/env node
// Node ≥ 22.1 can keep V8's compiled code for our modules on disk, which shortens every later
// start. Checked by version so older Nodes do not even load node:module for nothing. The cache is
// code the user runs, so it lives in the user's own cache directory (0700), never in Node's
// default, the shared temporary directory, which another account can create first and fill.
// NODE_DISABLE_COMPILE_CACHE=1 turns it off (Node's own switch).
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if ((major > 22 || (major === 22 && minor >= 1)) && !process.env.NODE_DISABLE_COMPILE_CACHE) {
  const [{ enableCompileCache }, { mkdirSync }, { homedir }, { join }, { userCacheDir }] = await Promise.all([import("node:module"), import("node:fs"), import("node:os"), import("node:path"), import("../dist/user-cache-dir.js")]);
  const dir = join(userCacheDir(process.env, homedir()), "sbx", "compile-cache");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    enableCompileCache?.(dir);
  } catch {
    // An unwritable home only costs the cache.
  }
}

const { main } = await import("../dist/main.js");
process.exitCode = await main(process.argv.slice(2));
