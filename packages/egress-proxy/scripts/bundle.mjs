// The proxy as one file for its image: node built-ins only, so the image needs nothing but Node.
import { build } from "esbuild";

const from = (path) => new URL(path, import.meta.url).pathname;
await build({
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  legalComments: "none",
  logLevel: "warning",
  entryPoints: [from("../src/proxy-main.ts")],
  outfile: from("../dist/image/proxy.mjs"),
});
