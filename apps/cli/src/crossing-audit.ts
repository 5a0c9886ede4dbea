import { createRefusePolicy, PROVIDER_LOGIN_ENV, type EnvDecision } from "@sbx/boundary-policy";
import { loadPolicyConfig, type ResolvedPolicyConfig } from "@sbx/boundary-policy/config";
import type { ProbeResult } from "@sbx/auth-probes";
import type { MountSpec } from "@sbx/container-runtime";
import { CliError } from "./cli-error.js";
import { planCloudLogins } from "./cloud-logins.js";
import { WORKSPACE } from "./sandbox-identity.js";

/** Everything that would cross into the sandbox, and everything refused, with reasons (never values). */
export interface CrossingAudit {
  profile: string | undefined;
  configFile: string | undefined;
  network: string;
  workspace: string;
  mounts: Array<{ host: string; container: string; readOnly: boolean }>;
  logins: Array<{ provider: string; description: string; destinations: string[] }>;
  /** Names of the variables the agent gets (through the secret pipe, never Config.Env). */
  env: Array<{ name: string; from: string }>;
  envFiles: string[];
  refused: Array<{ kind: "env" | "mount" | "login"; name: string; rule: string; reason: string }>;
  ignoredProjectFiles: string[];
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
}

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
  const refused: CrossingAudit["refused"] = [];

  const workspace = policy.checkMount(options.projectDir);
  if (workspace.action === "refuse") {
    throw new CliError("SBX_POLICY_REFUSED", `sbx will not mount ${options.projectDir} as the workspace: ${workspace.reason}`, {
      hint: "Run sbx from inside a project directory (a git repository), not from your home or a parent of it.",
      exitCode: 3,
    });
  }
  if (config.network !== "full") {
    throw new CliError("SBX_NETWORK_TIER_UNAVAILABLE", `The network tier "${config.network}" is not available in this version of sbx.`, {
      hint: `Only "full" is implemented so far; set "network": "full" in ${config.configFile ?? "your sbx config"} or drop it from the profile.`,
    });
  }

  const extraMounts: CrossingPlan["extraMounts"] = [];
  for (const mount of config.mounts) {
    const decision = policy.checkMount(mount.host);
    if (decision.action === "refuse") refused.push({ kind: "mount", name: mount.host, rule: decision.rule, reason: decision.reason });
    else extraMounts.push({ type: "bind", source: decision.path, target: mount.container, readOnly: mount.readOnly });
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
    if (value) [candidates[name], from[name]] = [value, "API key"];
  }
  for (const [name, login] of Object.entries(cloud.env)) {
    const value = options.env[name];
    if (value !== undefined) [candidates[name], from[name]] = [value, `cloud login ${login}`];
  }
  for (const name of config.passthroughEnv) {
    const value = options.env[name];
    if (value !== undefined) [candidates[name], from[name]] = [value, "passthrough"];
  }
  for (const [name, value] of Object.entries(config.envFromFiles)) [candidates[name], from[name]] = [value, "env file"];
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

  return {
    audit: {
      profile: config.profile,
      configFile: config.configFile,
      network: config.network,
      workspace: options.projectDir,
      mounts: extraMounts.map((mount) => ({ host: mount.source, container: mount.target, readOnly: mount.readOnly ?? true })),
      logins: logins.flatMap((login) => (login.status === "found" ? [{ provider: login.provider, description: login.description, destinations: login.files.map((file) => file.destination) }] : [])),
      env: Object.keys(envCheck.allowed).sort().map((name) => ({ name, from: from[name] ?? "" })),
      envFiles: config.envFiles,
      refused,
      ignoredProjectFiles: config.untrustedFiles,
    },
    extraMounts,
    logins,
    agentEnv: envCheck.allowed,
    sandboxPolicy: { userPatterns: config.userPatterns, allowEnv: config.allowEnv },
  };
}

/** The audit as a person reads it, before anything is created. */
export function formatAudit(audit: CrossingAudit, container: string): string {
  const lines = [`sbx: what crosses into ${container}${audit.profile ? ` (profile ${audit.profile})` : ""}:`];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(10)} ${text}`);
  row("workspace", `${audit.workspace} → ${WORKSPACE} (read-write)`);
  for (const mount of audit.mounts) row("mount", `${mount.host} → ${mount.container} (${mount.readOnly ? "read-only" : "read-write"})`);
  row("logins", audit.logins.length ? audit.logins.map((login) => `${login.provider} (${login.description})`).join(", ") : "none found (see `sbx doctor`)");
  row("env", audit.env.length ? audit.env.map((entry) => `${entry.name} (${entry.from})`).join(", ") : "none beyond the sandbox's own");
  if (audit.envFiles.length) row("env files", audit.envFiles.join(", "));
  row("network", audit.network);
  for (const item of audit.refused) row("refused", `${item.name}: ${item.reason} [${item.rule}]`);
  for (const file of audit.ignoredProjectFiles) row("ignored", `${file} (sbx reads profiles only from your own config directory, never from a project)`);
  return `${lines.join("\n")}\n`;
}
