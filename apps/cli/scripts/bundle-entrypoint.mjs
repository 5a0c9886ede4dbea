// Bundles the sandbox entrypoint and the packages it uses (the policy engine, the secret
// installer) into one file the image copies, so the container runs the host's exact rules.
import { build } from "esbuild";

await build({
  entryPoints: [new URL("../src/entrypoint/entrypoint.ts", import.meta.url).pathname],
  outfile: new URL("../dist/image/entrypoint.mjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  legalComments: "none",
  logLevel: "warning",
});
