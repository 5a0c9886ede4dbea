import { createRefusePolicy, PROVIDER_LOGIN_ENV, type EnvDecision } from "@sbx/boundary-policy";
import { loadPolicyConfig, projectEnvVerdict, type NetworkTier, type ResolvedPolicyConfig } from "@sbx/boundary-policy/config";
import type { ProbeResult } from "@sbx/auth-probes";
import type { MountSpec } from "@sbx/container-runtime";
import { CliError } from "./cli-error.js";
import { planCloudLogins } from "./cloud-logins.js";
import { WORKSPACE } from "./sandbox-identity.js";
import { formatWorkspaceTrust, type WorkspaceTrust } from "./workspace-trust.js";
import { allowedDomainsFor, parseNetworkTier } from "./sandbox-network.js";
import { describeResources, resolveResources, type ResourceConfig, type SandboxResources } from "./sandbox-resources.js";

/** Everything that would cross into the sandbox, and everything refused, with reasons (never values). */
export interface CrossingAudit {
  profile: string | undefined;
  configFile: string | undefined;
  network: string;
  /** The tier's rules, one line each (filled in once the network is planned). */
  networkRules?: string[];
  workspace: string;
  /** Set when the sandbox user cannot write the workspace (e.g. sbx run as root on a root-owned project): why. */
  workspaceReadOnly?: string;
  mounts: Array<{ host: string; container: string; readOnly: boolean }>;
  logins: Array<{ provider: string; description: string; destinations: string[] }>;
  /** Logins found on the host but broken (unreadable, not a login, expired): not piped, and why. */
  skippedLogins: Array<{ provider: string; code: string; reason: string }>;
  /** Names of the variables the agent gets (through the secret pipe, never Config.Env). */
  env: Array<{ name: string; from: string; redirects?: string }>;
  envFiles: string[];
  refused: Array<{ kind: "env" | "mount" | "login"; name: string; rule: string; reason: string }>;
  ignoredProjectFiles: string[];
  /** Whether the agents' folder trust is pre-accepted, and the workspace files that decided it (hole 1). */
  workspaceTrust?: WorkspaceTrust;
  /** The sandbox's bounds (memory, CPU, processes, log size), defaults or the config's `resources`. */
  limits: string;
}

export interface CrossingPlan {
  audit: CrossingAudit;
  /** Bind mounts the profile adds, already checked against the deny list. */
  extraMounts: Array<Extract<MountSpec, { type: "bind" }>>;
  /** Logins allowed to cross. */
  logins: ProbeResult[];
  /** The agent's extra environment: provider API keys, passthrough names, env files. Secret. */
  agentEnv: Record<string, string>;
  /** The user's refuse rules, for the entrypoint to apply again inside. Not secret. */
  sandboxPolicy: { userPatterns: string[]; allowEnv: string[] };
  /** The network tier and, for `allowlist`, the domains: providers' API hosts, config, `--allow`. */
  network: { tier: NetworkTier; allowedDomains: string[] };
  /** Memory, CPU, process and log bounds: the defaults with the config's `resources` over them. */
  resources: SandboxResources;
}

/** How the audit names a login variable that is not a plain API key. */
const LOGIN_ENV_LABEL: Record<string, string> = {
  CLAUDE_CODE_OAUTH_TOKEN: "Claude login from `claude setup-token`: inference only, no refresh, instead of the credentials file",
};

/** Which token family a probed login's own tokens belong to, for `checkSecret`. */
const LOGIN_PROVIDER = { claude: "anthropic" } as const;

/**
 * Applies the boundary policy to everything `sbx up` would hand the sandbox: the workspace and
 * profile mounts, the probed logins, and the environment. Refused items are dropped and listed;
 * a refused workspace stops everything.
 */
export async function planCrossing(options: {
  projectDir: string;
  env: Record<string, string | undefined>;
  home: string;
  profile?: string;
  logins: ProbeResult[];
  /** `--network`: wins over the profile's and the config's tier. */
  network?: string;
  /** `--allow` domains, added to the allowlist. */
  allow?: string[];
}): Promise<CrossingPlan> {
  const loaded: ResolvedPolicyConfig = await loadPolicyConfig({
    home: options.home,
    env: options.env,
    cwd: options.projectDir,
    ...(options.profile ? { profile: options.profile } : {}),
  });
  // Cloud logins the user's config names: their settings pass, their credentials are allowed.
  const cloud = await planCloudLogins(loaded.cloudLogins, options.home, options.env);
  const config: ResolvedPolicyConfig = { ...loaded, allowEnv: [...loaded.allowEnv, ...cloud.allowEnv] };
  const policy = createRefusePolicy(config);
  const resources = resolveResources((config as { resources?: ResourceConfig }).resources ?? {}, config.configFile);
  const refused: CrossingAudit["refused"] = [];

  const workspace = policy.checkMount(options.projectDir);
  if (workspace.action === "refuse") {
    throw new CliError("SBX_POLICY_REFUSED", `sbx will not mount ${options.projectDir} as the workspace: ${workspace.reason}`, {
      hint: "Run sbx from inside a project directory (a git repository), not from your home or a parent of it.",
      exitCode: 3,
    });
  }
  const tier = options.network !== undefined ? parseNetworkTier(options.network) : config.network;
  if (options.allow?.length && tier !== "allowlist") {
    throw new CliError("SBX_USAGE", `--allow adds to the allowlist, but the network tier is ${tier}.`, {
      hint: "Add --network allowlist (or set \"network\": \"allowlist\" in the profile).",
      exitCode: 2,
    });
  }

  const extraMounts: CrossingPlan["extraMounts"] = [];
  for (const mount of config.mounts) {
    // Before anything is created: a mount over sbx's own paths would leave logins in a host file
    // or break the container, and a relative target would fail only after the volume exists.
    const target = policy.checkMountTarget(mount.container);
    if (target.action === "refuse") {
      throw new CliError("SBX_POLICY_BAD_MOUNT_TARGET", `sbx will not mount ${mount.host} there: ${target.reason}`, {
        hint: `Give the mount an absolute "container" path outside sbx's own (for example /mnt/${mount.host.split("/").filter(Boolean).pop() ?? "data"}) in ${config.configFile ?? "your sbx config"}.`,
        exitCode: 3,
      });
    }
    const decision = policy.checkMount(mount.host);
    if (decision.action === "refuse") refused.push({ kind: "mount", name: mount.host, rule: decision.rule, reason: decision.reason });
    else extraMounts.push({ type: "bind", source: decision.path, target: target.path as string, readOnly: mount.readOnly });
  }

  const logins: ProbeResult[] = [];
  for (const login of [...options.logins, ...cloud.logins]) {
    if (login.status !== "found") {
      logins.push(login);
      continue;
    }
    const provider = LOGIN_PROVIDER[login.provider as keyof typeof LOGIN_PROVIDER];
    const verdicts = login.files.map((file) => {
      const text = file.content.toString("utf8");
      if (provider) return policy.checkSecret(provider, text);
      // Other agents' login files hold tokens of several shapes (JWTs and opaque ones): only the
      // user's employer patterns apply to them.
      const userFindings = policy.scanText(text).filter((finding) => finding.family === "user");
      return { action: userFindings.length ? "refuse" : "allow", reason: userFindings.length ? `it matches your refuse pattern ${userFindings[0]?.rule}` : undefined };
    });
    const blocked = verdicts.find((verdict) => verdict.action === "refuse");
    if (blocked) refused.push({ kind: "login", name: login.provider, rule: "login-content", reason: `The ${login.provider} login was not piped: ${blocked.reason ?? "refused"}` });
    else logins.push(login);
  }

  // Candidates to cross: provider API keys set on the host, passthrough names, env files.
  const candidates: Record<string, string> = {};
  const from: Record<string, string> = {};
  for (const name of Object.keys(PROVIDER_LOGIN_ENV)) {
    const value = options.env[name];
    if (value) [candidates[name], from[name]] = [value, LOGIN_ENV_LABEL[name] ?? "API key"];
  }
  for (const [name, login] of Object.entries(cloud.env)) {
    const value = options.env[name];
    if (value !== undefined) [candidates[name], from[name]] = [value, `cloud login ${login}`];
  }
  for (const name of config.passthroughEnv) {
    const value = options.env[name];
    if (value !== undefined) [candidates[name], from[name]] = [value, "passthrough"];
  }
  // The user's own env file wins over passthrough; the project's file (the repository's) only
  // adds names nothing of the user's set, and never the redirecting ones (refused when loaded).
  for (const [name, value] of Object.entries(config.envFromFiles)) {
    const origin = config.envOrigins[name]?.trust ?? "project";
    if (origin === "user") [candidates[name], from[name]] = [value, "your env file"];
    else if (!(name in candidates)) [candidates[name], from[name]] = [value, "project env file"];
  }
  for (const item of config.refusedEnvFromFiles) refused.push({ kind: "env", name: item.name, rule: item.rule, reason: item.reason });
  const pipedLogins = Object.keys(candidates).filter((name) => name in PROVIDER_LOGIN_ENV);
  const envCheck = policy.checkEnv(candidates, { pipedLogins });
  const refusedNames = new Set<string>();
  const refuse = (decision: EnvDecision) => {
    if (refusedNames.has(decision.name)) return;
    refusedNames.add(decision.name);
    refused.push({ kind: "env", name: decision.name, rule: decision.rule ?? "policy", reason: decision.reason ?? "refused" });
  };
  envCheck.refused.forEach(refuse);
  // Secrets sitting in the host env never cross anyway; the audit names them so nobody wonders.
  policy.checkEnv(options.env, { pipedLogins: Object.keys(PROVIDER_LOGIN_ENV) }).refused.forEach(refuse);
  const providers = [
    ...logins.flatMap((login) => (login.status === "found" ? [login.provider] : [])),
    ...Object.keys(envCheck.allowed).flatMap((name) => (name in PROVIDER_LOGIN_ENV ? [PROVIDER_LOGIN_ENV[name] as string] : [])),
  ];
  const allowedDomains = tier === "allowlist" ? allowedDomainsFor(providers, config.allowedDomains, options.allow ?? []) : [];

  return {
    audit: {
      profile: config.profile,
      configFile: config.configFile,
      network: tier,
      workspace: options.projectDir,
      mounts: extraMounts.map((mount) => ({ host: mount.source, container: mount.target, readOnly: mount.readOnly ?? true })),
      logins: logins.flatMap((login) => (login.status === "found" ? [{ provider: login.provider, description: login.description, destinations: login.files.map((file) => file.destination) }] : [])),
      skippedLogins: logins.flatMap((login) => (login.status === "error" ? [{ provider: login.provider, code: login.code, reason: login.reason }] : [])),
      env: Object.keys(envCheck.allowed).sort().map((name) => {
        // The user may set a proxy or an endpoint on purpose; the audit still says it redirects.
        const redirects = projectEnvVerdict(name)?.why;
        return { name, from: from[name] ?? "", ...(redirects ? { redirects } : {}) };
      }),
      envFiles: config.envFiles,
      refused,
      ignoredProjectFiles: config.untrustedFiles,
      limits: describeResources(resources),
    },
    extraMounts,
    logins,
    agentEnv: envCheck.allowed,
    sandboxPolicy: { userPatterns: config.userPatterns, allowEnv: config.allowEnv },
    network: { tier, allowedDomains },
    resources,
  };
}

/** The audit as a person reads it, before anything is created. */
export function formatAudit(audit: CrossingAudit, container: string): string {
  const lines = [`sbx: what crosses into ${container}${audit.profile ? ` (profile ${audit.profile})` : ""}:`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(10)} ${text}`);
  row("workspace", `${audit.workspace} → ${WORKSPACE} (${audit.workspaceReadOnly ?? "read-write"})`);
  for (const mount of audit.mounts) row("mount", `${mount.host} → ${mount.container} (${mount.readOnly ? "read-only" : "read-write"})`);
  row("logins", audit.logins.length ? audit.logins.map((login) => `${login.provider} (${login.description})`).join(", ") : "none found (see `sbx doctor`)");
  for (const login of audit.skippedLogins) row("skipped", `${login.provider} login: ${login.reason} (not piped; \`sbx doctor\` says how to fix it)`);
  row("env", audit.env.length ? audit.env.map((entry) => `${entry.name} (${entry.from}${entry.redirects ? `; ${entry.redirects}` : ""})`).join(", ") : "none beyond the sandbox's own");
  if (audit.envFiles.length) row("env files", audit.envFiles.join(", "));
  row("network", audit.network);
  for (const rule of audit.networkRules ?? []) row("", rule);
  row("limits", audit.limits);
  for (const item of audit.refused) row("refused", `${item.name}: ${item.reason} [${item.rule}]`);
  for (const file of audit.ignoredProjectFiles) row("ignored", `${file} (sbx reads profiles only from your own config directory, never from a project)`);
  if (audit.workspaceTrust) for (const [label, text] of formatWorkspaceTrust(audit.workspaceTrust)) row(label, text);
  return `${lines.join("\n")}\n`;
}
