import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SbxError } from "@sbx/errors";

/** Where the proxy listens inside its container. */
export const EGRESS_PROXY_PORT = 3128;
export const EGRESS_DNS_PORT = 53;
/** The proxy's bounded JSON-lines log (a small tmpfs in the container). */
export const EGRESS_LOG_DIR = "/var/log/sbx-egress";
export const EGRESS_LOG_FILE = `${EGRESS_LOG_DIR}/egress.jsonl`;
/** The proxy's DNS name on the sandbox's internal network (a network alias). */
export const EGRESS_HOSTNAME = "sbx-egress";

export interface EgressImagePlan {
  tag: string;
  inputsHash: string;
  baseImage: string;
  files: { dockerfile: Buffer; proxy: Buffer };
}

const asset = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** The proxy image for a base image: tagged by a hash of everything that goes into it. */
export function planEgressImage(baseImage: string): EgressImagePlan {
  const proxyPath = asset("./image/proxy.mjs");
  if (!existsSync(proxyPath)) {
    throw new SbxError("SBX_INSTALL_BROKEN", "The egress proxy bundle is missing from this sbx install.", { hint: "Run `pnpm build` in the sbx checkout." });
  }
  const files = { dockerfile: readFileSync(asset("../image/Dockerfile")), proxy: readFileSync(proxyPath) };
  const inputsHash = createHash("sha256").update(files.dockerfile).update("\0").update(files.proxy).update("\0").update(baseImage).digest("hex");
  return { tag: `sbx-egress:${inputsHash.slice(0, 12)}`, inputsHash, baseImage, files };
}

/**
 * The environment that points each agent and tool in the sandbox at the proxy. Not secret (it
 * goes in Config.Env). Why each entry is there:
 * - `HTTPS_PROXY`/`HTTP_PROXY`: Claude Code and opencode (Bun's fetch), Codex (Rust reqwest),
 *   Gemini CLI (its undici ProxyAgent), npm (its `proxy`/`https-proxy` defaults), git and curl.
 * - lower-case `https_proxy`/`http_proxy`: libcurl (git, curl) reads plain-http proxies only from
 *   the lower-case `http_proxy`.
 * - `ALL_PROXY`: tools that read only that one (curl for other schemes, some Rust clients).
 * - `NODE_USE_ENV_PROXY=1`: plain Node (`fetch`, `http.get` in an agent's scripts or MCP servers)
 *   ignores the proxy variables without it (honoured from Node 22.21 / 24.5).
 * - `NO_PROXY`: the sandbox's own loopback (dev servers the agent starts) stays direct.
 */
export function proxyEnvironment(proxyUrl: string): Record<string, string> {
  const noProxy = "localhost,127.0.0.1,::1";
  return {
    HTTPS_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    ALL_PROXY: proxyUrl,
    all_proxy: proxyUrl,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_USE_ENV_PROXY: "1",
  };
}
