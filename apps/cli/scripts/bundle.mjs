// Three single-file bundles, each built from the TypeScript sources and the workspace packages:
//
// - dist/image/entrypoint.mjs: the sandbox's entrypoint with the policy engine and the secret
//   installer, copied into the image, so the container runs the host's exact rules.
// - dist/image/install.mjs: the login install alone, which every `sbx up` runs on its critical
//   path: without the policy engine (~90 % of the entrypoint) it parses in a few ms.
// - dist/hot/exec.mjs: the `sbx exec` hot path. One file instead of ~15 modules saves module
//   resolution and loading on every call (measured by `pnpm bench`); dockerode stays external
//   and is never loaded on this path, nor is execa (only an ssh:// DOCKER_HOST spawns `ssh`).
// - dist/up.bundle.mjs: `sbx up`/`sbx run`, for the same reason (its ~40 modules took ~30 ms to
//   load on Node 20; `pnpm bench` measures `up --detach`). It sits beside sandbox-image.js, so
//   the image assets it finds relative to import.meta.url are the same files. The transcript
//   exporter stays a lazy import, as in the module build: a detached `up` rarely needs it. The
//   keeper and the egress proxy stay external: each finds its own files (the keeper's entry, the
//   proxy's image) relative to its module, which a bundle would move. dockerode (external in both
//   bundles, loaded only for builds) is therefore a dependency of this package too, so the
//   bundles in dist/ resolve it. tar-stream (CommonJS, loaded only by `sbx save`) stays external too.
import { build } from "esbuild";

const from = (path) => new URL(path, import.meta.url).pathname;
const common = { bundle: true, platform: "node", format: "esm", target: "node20", legalComments: "none", logLevel: "warning" };

await Promise.all([
  build({ ...common, entryPoints: [from("../src/entrypoint/entrypoint.ts")], outfile: from("../dist/image/entrypoint.mjs") }),
  build({ ...common, entryPoints: [from("../src/entrypoint/install-main.ts")], outfile: from("../dist/image/install.mjs") }),
  build({ ...common, entryPoints: [from("../src/commands/exec.ts")], outfile: from("../dist/hot/exec.mjs"), external: ["dockerode", "execa"] }),
  build({ ...common, entryPoints: [from("../src/commands/up.ts")], outfile: from("../dist/up.bundle.mjs"), external: ["dockerode", "execa", "tar-stream", "@sbx/transcript-export", "@sbx/credential-keeper", "@sbx/egress-proxy"] }),
]);
