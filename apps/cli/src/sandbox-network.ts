import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { NETWORK_TIERS, type NetworkTier } from "@sbx/boundary-policy/config";
import type { ContainerRuntime, ContainerSpec } from "@sbx/container-runtime";
import {
  classifyAddress,
  describePolicy,
  EGRESS_HOSTNAME,
  EGRESS_LOG_DIR,
  EGRESS_PROXY_PORT,
  invalidDomainPatterns,
  parseAddress,
  planEgressImage,
  proxyEnvironment,
  type EgressImagePlan,
  type EgressPolicy,
} from "@sbx/egress-proxy";
import { CliError } from "./cli-error.js";
import { LABELS, type SandboxIdentity } from "./sandbox-identity.js";

/** Labels of the network tier, on the sandbox and on what sbx creates for it. */
export const NETWORK_LABELS = {
  /** The sandbox's tier: a sandbox whose tier changed is recreated. */
  tier: "dev.sbx.network",
  /** `egress` on the proxy container and the internal network. */
  role: "dev.sbx.role",
  /** The proxy's inputs (policy and image): a proxy whose inputs changed is recreated. */
  egressInputs: "dev.sbx.egress-inputs",
  /** The proxy address the sandbox's DNS points at: if the proxy came back elsewhere, the sandbox is recreated. */
  egressAddress: "dev.sbx.egress-address",
} as const;

/**
 * The API hosts each piped login (or API key) needs under `allowlist`. Only what the agent needs
 * to answer a prompt and refresh its login: telemetry, error reporting and update hosts are left
 * out (the agent is told to skip them where it has a switch), and can be added with `--allow`.
 */
export const PROVIDER_DOMAINS: Readonly<Record<string, readonly string[]>> = {
  // Inference, and the OAuth token refresh (TOKEN_URL in Claude Code 2.1.330).
  claude: ["api.anthropic.com", "platform.claude.com"],
  anthropic: ["api.anthropic.com"],
  // The API, the ChatGPT-login token refresh, and the ChatGPT-login backend Codex talks to.
  codex: ["api.openai.com", "auth.openai.com", "chatgpt.com"],
  openai: ["api.openai.com"],
  // The Gemini API, Code Assist (the Google-login backend) and the OAuth token refresh.
  gemini: ["generativelanguage.googleapis.com", "cloudcode-pa.googleapis.com", "oauth2.googleapis.com"],
  // opencode's model catalogue, and the two providers its logins most often name.
  opencode: ["models.dev", "api.anthropic.com", "api.openai.com"],
  openrouter: ["openrouter.ai"],
  groq: ["api.groq.com"],
  xai: ["api.x.ai"],
};

export interface NetworkPlan {
  tier: NetworkTier;
  /** One line per rule, for the audit and `sbx status`. */
  rules: string[];
  /** Present for the proxied tiers: everything the egress proxy needs. */
  egress?: {
    networkName: string;
    proxyName: string;
    policy: EgressPolicy;
    image: EgressImagePlan;
    inputsHash: string;
  };
}

/** The tier `--network` names, checked: a typo is an error with the list, never a silent `full`. */
export function parseNetworkTier(value: string): NetworkTier {
  if ((NETWORK_TIERS as readonly string[]).includes(value)) return value as NetworkTier;
  throw new CliError("SBX_NETWORK_TIER_INVALID", `${JSON.stringify(value)} is not a network tier.`, {
    hint: `Use one of ${NETWORK_TIERS.join(", ")} (--network, or "network" in your sbx config).`,
    exitCode: 2,
  });
}

/** The allowlist: each piped provider's API hosts, then the config's `allowedDomains`, then `--allow`. */
export function allowedDomainsFor(providers: Iterable<string>, configured: readonly string[], extra: readonly string[]): string[] {
  const domains: string[] = [];
  for (const provider of providers) domains.push(...(PROVIDER_DOMAINS[provider] ?? []));
  domains.push(...configured, ...extra);
  const invalid = invalidDomainPatterns(domains);
  if (invalid.length) {
    throw new CliError("SBX_NETWORK_DOMAIN_INVALID", `${invalid.map((entry) => JSON.stringify(entry)).join(", ")} ${invalid.length === 1 ? "is not a domain" : "are not domains"} the allowlist can hold.`, {
      hint: "Name a host (api.example.com) or every host below a domain (*.example.com); not an address, a URL, or a whole top-level domain.",
      exitCode: 2,
    });
  }
  return [...new Set(domains.map((domain) => domain.toLowerCase().replace(/\.$/, "")))];
}

/** The engine host's own addresses (when the engine is local), refused even where they look public. */
function hostAddresses(env: Record<string, string | undefined>): string[] {
  const dockerHost = env.DOCKER_HOST ?? "";
  if (dockerHost && !dockerHost.startsWith("unix://")) return [];
  // Only the public-looking ones: the rest are refused by range anyway, and Docker's own bridges
  // and each container's link-local veth address come and go, which would change the proxy's
  // inputs (and so recreate it) on every `sbx up`.
  return Object.values(networkInterfaces())
    .flat()
    .flatMap((entry) => {
      const address = entry && !entry.internal ? parseAddress(entry.address) : undefined;
      return entry && address && classifyAddress(address).public ? [entry.address] : [];
    });
}

export function egressNames(identity: SandboxIdentity): { networkName: string; proxyName: string } {
  return { networkName: `${identity.containerName}-net`, proxyName: `${identity.containerName}-egress` };
}

export function planNetwork(options: {
  tier: NetworkTier;
  identity: SandboxIdentity;
  allowedDomains: string[];
  baseImage: string;
  env: Record<string, string | undefined>;
}): NetworkPlan {
  const { tier } = options;
  if (tier === "full") return { tier, rules: ["the engine's default bridge: everything the host can reach"] };
  if (tier === "none") return { tier, rules: ["no network at all (not even DNS)"] };
  const policy: EgressPolicy = {
    tier,
    ...(tier === "allowlist" ? { allowedDomains: options.allowedDomains } : {}),
    refusedAddresses: hostAddresses(options.env),
  };
  const image = planEgressImage(options.baseImage);
  const inputsHash = createHash("sha256").update(JSON.stringify(policy)).update("\0").update(image.inputsHash).digest("hex").slice(0, 16);
  return {
    tier,
    rules: [`through sbx's egress proxy (${egressNames(options.identity).proxyName})`, ...describePolicy(policy)],
    egress: { ...egressNames(options.identity), policy, image, inputsHash },
  };
}

/** What the sandbox container gets for its tier: network, labels and the (non-secret) proxy environment. */
export function applyNetworkToSpec(spec: ContainerSpec, plan: NetworkPlan): void {
  spec.labels = { ...spec.labels, [NETWORK_LABELS.tier]: plan.tier };
  if (plan.tier === "none") spec.network = "none";
  if (!plan.egress) return;
  spec.network = plan.egress.networkName;
  spec.env = {
    ...spec.env,
    ...proxyEnvironment(`http://${EGRESS_HOSTNAME}:${EGRESS_PROXY_PORT}`),
    // Claude Code's telemetry, error reports and update checks would only be refused.
    ...(plan.tier === "allowlist" ? { CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" } : {}),
  };
}

/**
 * Starts (or reuses) the sandbox's internal network and its egress proxy, and returns the proxy's
 * address on that network for the sandbox's DNS. The network is internal (no gateway) and its
 * bridge holds no host address, so the proxy is the only thing a sandbox on it can reach.
 */
export async function ensureEgress(
  runtime: ContainerRuntime,
  plan: NetworkPlan,
  log: (line: string) => void,
  /** TEST ONLY: extra arguments for the proxy's main process (`--test-public-cidr`). No command passes them. */
  testArgs: string[] = [],
): Promise<{ address: string }> {
  const egress = plan.egress;
  if (!egress) throw new Error("ensureEgress needs a proxied tier");
  const labels = { [LABELS.managed]: "true", [NETWORK_LABELS.role]: "egress" };

  // Three independent lookups, side by side (each is an engine round trip).
  const [image, network, existing] = await Promise.all([
    runtime.inspectImage(egress.image.tag),
    runtime.inspectNetwork(egress.networkName),
    runtime.inspectContainer(egress.proxyName),
  ]);
  if (!image) await buildEgressImage(runtime, egress.image, log);

  const inputs = egress.inputsHash + (testArgs.length ? `:${testArgs.join(" ")}` : "");
  let proxy = existing;
  // A proxy whose network is gone (or whose inputs changed) cannot be repaired in place.
  if (proxy && (proxy.labels[NETWORK_LABELS.egressInputs] !== inputs || !network)) {
    log(`replacing ${egress.proxyName}: its policy, image or network changed`);
    await runtime.removeContainer(egress.proxyName);
    proxy = undefined;
  }
  const uid = 65534;
  // The network and the proxy container (created on the bridge) do not depend on each other:
  // side by side, then the proxy joins the network before it starts.
  let createdHere = !proxy;
  await Promise.all([
    network
      ? undefined
      : runtime.createNetwork({ name: egress.networkName, internal: true, hostUnreachable: true, labels }).catch(async (error: unknown) => {
          // Another `sbx up` of the same project created it a moment ago.
          if (!(await runtime.inspectNetwork(egress.networkName))) throw error;
        }),
    proxy
      ? undefined
      : runtime.createContainer({
          name: egress.proxyName,
          image: egress.image.tag,
          user: `${uid}:${uid}`,
          cmd: testArgs,
          env: { SBX_EGRESS_POLICY: JSON.stringify(egress.policy) },
          labels: { ...labels, [NETWORK_LABELS.tier]: plan.tier, [NETWORK_LABELS.egressInputs]: inputs },
          mounts: [{ type: "tmpfs", target: EGRESS_LOG_DIR, sizeBytes: 2 * 1024 * 1024, mode: 0o755, uid, gid: uid, noexec: true }],
          readOnlyRootfs: true,
          pidsLimit: 64,
          memoryBytes: 256 * 1024 * 1024,
          init: true,
          network: "bridge",
        }).catch(async (error: unknown) => {
          // Another `sbx up` of the same project created it a moment ago: that one connects it.
          if (!(await runtime.inspectContainer(egress.proxyName))) throw error;
          createdHere = false;
        }),
  ]);
  if (createdHere) await runtime.connectNetwork(egress.networkName, egress.proxyName, { aliases: [EGRESS_HOSTNAME] });
  if (proxy?.state !== "running") await runtime.startContainer(egress.proxyName);
  let running = await runtime.inspectContainer(egress.proxyName);
  // A concurrent `sbx up` may still be connecting it: wait a moment for its address (~2 s at most).
  for (let attempt = 0; attempt < 20 && running?.state === "running" && !running.networks?.[egress.networkName]?.ipv4; attempt += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    running = await runtime.inspectContainer(egress.proxyName);
  }
  const address = running?.networks?.[egress.networkName]?.ipv4;
  if (!running || running.state !== "running" || !address) {
    const logs = await runtime.logs(egress.proxyName).catch(() => "");
    throw new CliError("SBX_EGRESS_PROXY_FAILED", `The egress proxy ${egress.proxyName} did not start, so the sandbox would have no network.`, {
      hint: logs.trim() ? `It said: ${logs.trim().split("\n").slice(-2).join(" | ")}` : `Run \`docker logs ${egress.proxyName}\` to see why.`,
    });
  }
  return { address };
}

async function buildEgressImage(runtime: ContainerRuntime, image: EgressImagePlan, log: (line: string) => void): Promise<void> {
  const contextDir = mkdtempSync(join(tmpdir(), "sbx-egress-build-"));
  try {
    writeFileSync(join(contextDir, "Dockerfile"), image.files.dockerfile);
    writeFileSync(join(contextDir, "proxy.mjs"), image.files.proxy);
    log(`building egress proxy image ${image.tag} from ${image.baseImage}`);
    await runtime.buildImage({
      contextDir,
      tag: image.tag,
      buildArgs: { BASE_IMAGE: image.baseImage },
      labels: { [LABELS.managed]: "true", [NETWORK_LABELS.role]: "egress", [LABELS.imageInputs]: image.inputsHash },
    });
  } finally {
    rmSync(contextDir, { recursive: true, force: true });
  }
}

/** Removes the proxy and the internal network of a sandbox (after the sandbox itself); missing ones are fine. */
export async function removeEgress(runtime: ContainerRuntime, identity: SandboxIdentity): Promise<boolean> {
  const { networkName, proxyName } = egressNames(identity);
  const [proxy, network] = await Promise.all([runtime.inspectContainer(proxyName), runtime.inspectNetwork(networkName)]);
  if (proxy) await runtime.removeContainer(proxyName);
  if (network) await runtime.removeNetwork(networkName);
  return proxy !== undefined || network !== undefined;
}
