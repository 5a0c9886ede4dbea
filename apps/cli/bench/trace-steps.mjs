#!/usr/bin/env node
// Runs one sbx command in this process and times each step: loading the CLI, every Engine API
// call (exec streams until the engine closes them), and the end. Prints one JSON line:
// [{ step, start, ms }] with `start` in ms since the process started.
// Usage (from a project directory): node apps/cli/bench/trace-steps.mjs up --detach
import http from "node:http";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const spans = [];
const span = (step, start, end = performance.now()) => spans.push({ step, start: Math.round(start * 10) / 10, ms: Math.round((end - start) * 10) / 10 });

// Patched on the shared module object, which the node:http transport looks `request` up on per call.
const request = http.request;
http.request = function timedRequest(...args) {
  const options = args[0];
  const step = `${options.method ?? "GET"} ${String(options.path).split("?")[0].replace(/\/exec\/[0-9a-f]{64}/, "/exec/{id}").replace(/\/containers\/(?!create$|json$)[^/]+/, "/containers/{name}").replace(/\/images\/[^/]+/, "/images/{tag}").replace(/\/volumes\/[^/]+$/, "/volumes/{name}")}`;
  const started = performance.now();
  const pending = request.apply(this, args);
  pending.on("response", (response) => response.on("end", () => span(step, started)));
  pending.on("upgrade", (_response, socket) => socket.on("close", () => span(`${step} (stream until closed)`, started)));
  return pending;
};

const loading = performance.now();
// SBX_BENCH_DIST points at another build's dist (cli.mjs --bin); the default is this checkout's.
const { main } = await import(process.env.SBX_BENCH_DIST ? pathToFileURL(`${process.env.SBX_BENCH_DIST}/main.js`).href : "../dist/main.js");
span("node start → CLI loaded", 0);
span("  of which importing main.js", loading);
const running = performance.now();
const stderr = process.stderr.write.bind(process.stderr);
process.stderr.write = () => true;
const argv = process.argv.slice(2);
const code = await main(argv);
process.stderr.write = stderr;
span(`main(${argv.join(" ")}) in total`, running);
spans.sort((a, b) => a.start - b.start);
if (code !== 0) {
  process.stderr.write(`trace-steps: sbx ${argv.join(" ")} exited ${code}\n`);
  process.exit(code);
}
process.stdout.write(`${JSON.stringify(spans)}\n`);
