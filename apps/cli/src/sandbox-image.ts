import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { CliError } from "./cli-error.js";
import { LABELS } from "./sandbox-identity.js";

export const DEFAULT_BASE_IMAGE = "node:22-slim";
export const DEFAULT_CLAUDE_CODE_VERSION = "2.1.330";

/** Where the host keeps extra CA certificates (corporate proxies), by distribution. */
const HOST_CA_DIRS = ["/usr/local/share/ca-certificates", "/etc/pki/ca-trust/source/anchors"];

export interface ImagePlan {
  tag: string;
  inputsHash: string;
  baseImage: string;
  buildArgs: Record<string, string>;
  /** File names of the host CA certificates baked in (certificates are public, not secret). */
  caCertificates: string[];
  files: { dockerfile: Buffer; entrypoint: Buffer; install: Buffer; agentInstaller: Buffer; certs: Array<{ name: string; content: Buffer }> };
}

export interface ImagePlanOptions {
  env: Record<string, string | undefined>;
  /** `--base-image`, which wins over SBX_BASE_IMAGE. */
  baseImage?: string;
  uid?: number;
  gid?: number;
}

const assetPath = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** The sandbox user's ids: the host user's, so /workspace files keep their owner — never root. */
export function sandboxUserIds(): { uid: number; gid: number } {
  const { uid, gid } = userInfo();
  return uid > 0 && gid > 0 ? { uid, gid } : { uid: 1000, gid: 1000 };
}

export function planImage(options: ImagePlanOptions): ImagePlan {
  const dockerfilePath = assetPath("../image/Dockerfile");
  const entrypointPath = assetPath("./image/entrypoint.mjs");
  const installPath = assetPath("./image/install.mjs");
  if (!existsSync(entrypointPath) || !existsSync(installPath)) {
    throw new CliError("SBX_INSTALL_BROKEN", "The sandbox entrypoint bundle is missing from this sbx install.", {
      hint: "Run `pnpm build` in the sbx checkout.",
    });
  }
  const ids = options.uid && options.gid ? { uid: options.uid, gid: options.gid } : sandboxUserIds();
  const baseImage = options.baseImage || options.env.SBX_BASE_IMAGE || DEFAULT_BASE_IMAGE;
  const buildArgs = {
    BASE_IMAGE: baseImage,
    SBX_UID: String(ids.uid),
    SBX_GID: String(ids.gid),
    CLAUDE_CODE_VERSION: options.env.SBX_CLAUDE_CODE_VERSION || DEFAULT_CLAUDE_CODE_VERSION,
  };
  const certs = hostCaCertificates(options.env);
  const files = {
    dockerfile: readFileSync(dockerfilePath),
    entrypoint: readFileSync(entrypointPath),
    install: readFileSync(installPath),
    agentInstaller: readFileSync(assetPath("../image/agents/install-agent.sh")),
    certs,
  };
  const hash = createHash("sha256");
  hash.update(files.dockerfile).update("\0").update(files.entrypoint).update("\0").update(files.install).update("\0").update(files.agentInstaller).update("\0").update(JSON.stringify(buildArgs));
  for (const cert of certs) hash.update("\0").update(cert.name).update("\0").update(cert.content);
  const inputsHash = hash.digest("hex");
  return { tag: `sbx-sandbox:${inputsHash.slice(0, 12)}`, inputsHash, baseImage, buildArgs, caCertificates: certs.map((cert) => cert.name), files };
}

function hostCaCertificates(env: Record<string, string | undefined>): Array<{ name: string; content: Buffer }> {
  const found = new Map<string, Buffer>();
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    // Code-unit order, not localeCompare: the first localeCompare of a process loads ICU's
    // collator, 6–18 ms that every `sbx up` paid before its first engine call.
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(crt|pem)$/.test(entry.name)) found.set(`${basename(dir)}-${entry.name}`.replace(/\.pem$/, ".crt"), readFileSync(path));
    }
  };
  for (const dir of HOST_CA_DIRS) walk(dir);
  // NODE_EXTRA_CA_CERTS is how many corporate macOS/Windows users already trust their proxy.
  for (const name of ["SBX_EXTRA_CA_CERTS", "NODE_EXTRA_CA_CERTS"]) {
    const path = env[name];
    if (path && existsSync(path) && statSync(path).isFile()) found.set(`${name.toLowerCase()}.crt`, readFileSync(path));
  }
  return [...found.entries()].map(([name, content]) => ({ name, content }));
}

/**
 * Builds the image when no image with these exact inputs exists; otherwise reuses it. The build
 * context is a temporary directory holding only the Dockerfile, the entrypoint and the CA
 * certificates: nothing of the user's project or home is ever sent to the builder.
 */
export async function ensureImage(
  runtime: ContainerRuntime,
  plan: ImagePlan,
  log: (line: string) => void,
  /** `labels`: who built it (owner and login), so `sbx gc` on a shared engine deletes only its own. */
  options: { rebuild?: boolean; labels?: Record<string, string> } = {},
): Promise<"built" | "cached"> {
  if (!options.rebuild && (await runtime.inspectImage(plan.tag))) return "cached";
  const contextDir = mkdtempSync(join(tmpdir(), "sbx-build-"));
  try {
    writeFileSync(join(contextDir, "Dockerfile"), plan.files.dockerfile);
    writeFileSync(join(contextDir, "entrypoint.mjs"), plan.files.entrypoint);
    writeFileSync(join(contextDir, "install.mjs"), plan.files.install);
    mkdirSync(join(contextDir, "agents"));
    writeFileSync(join(contextDir, "agents", "install-agent.sh"), plan.files.agentInstaller);
    mkdirSync(join(contextDir, "certs"));
    writeFileSync(join(contextDir, "certs", ".keep"), "");
    for (const cert of plan.files.certs) writeFileSync(join(contextDir, "certs", cert.name), cert.content);
    log(`building sandbox image ${plan.tag} from ${plan.baseImage} (first run, or its inputs changed)`);
    const started = Date.now();
    await runtime.buildImage({
      contextDir,
      tag: plan.tag,
      buildArgs: plan.buildArgs,
      labels: { ...options.labels, [LABELS.managed]: "true", [LABELS.imageInputs]: plan.inputsHash },
      onProgress: ({ line }) => {
        if (/^Step \d+\/\d+ :/.test(line) || /^(Successfully|added \d+ packages|npm (ERR!|error)|E: )/.test(line)) log(`  ${line}`);
      },
    });
    log(`built ${plan.tag} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return "built";
  } catch (error) {
    if ((error as { code?: string }).code === "SBX_IMAGE_BUILD_FAILED" && /pull access denied|not found|manifest unknown|dial tcp|lookup/i.test((error as Error).message)) {
      throw new CliError("SBX_BASE_IMAGE_UNAVAILABLE", `The base image ${plan.baseImage} cannot be pulled.`, {
        hint: offlineBaseHint(),
        cause: error,
      });
    }
    throw error;
  } finally {
    rmSync(contextDir, { recursive: true, force: true });
  }
}

/**
 * Where no image registry answers, sbx's checkout can build a stand-in base from Debian's and npm's
 * packages alone (test-fixtures/offline-base): the hint names the script when this install has it.
 */
function offlineBaseHint(): string {
  const script = assetPath("../../../test-fixtures/offline-base/build.sh");
  const offline = existsSync(script) ? ` Without a registry, build a local base from Debian's and npm's packages: sbx up --base-image "$(bash ${script})".` : "";
  return `Check your registry access, or use a local image: sbx up --base-image <image> (or SBX_BASE_IMAGE).${offline}`;
}
