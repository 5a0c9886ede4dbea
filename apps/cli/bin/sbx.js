#!/usr/bin/env node
// Node ≥ 22.1 can keep V8's compiled code for our modules on disk, which shortens every later
// start. Checked by version so older Nodes do not even load node:module for nothing.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major > 22 || (major === 22 && minor >= 1)) (await import("node:module")).enableCompileCache?.();

const { main } = await import("../dist/main.js");
process.exitCode = await main(process.argv.slice(2));
