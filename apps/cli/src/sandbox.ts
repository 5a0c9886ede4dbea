import { homedir } from "node:os";
import { probeProviders, realHostContext, type ProbeResult } from "@sbx/auth-probes";
import type { ContainerInfo, ContainerRuntime, ContainerSpec } from "@sbx/container-runtime";
import { pipeSecretBundle, type BundledSecret } from "@sbx/secret-pipe";
import { CliError } from "./cli-error.js";
import { planCrossing, type CrossingAudit } from "./crossing-audit.js";
import { ensureImage, planImage, type ImagePlan } from "./sandbox-image.js";
import {
  AGENT_ENV_FILE,
  AGENT_ENV_SECRET,
  ENTRYPOINT,
  LABELS,
  SANDBOX_HOME,
  SANDBOX_POLICY_FILE,
  SANDBOX_POLICY_SECRET,
  STATE_DIR,
  WORKSPACE,
  sandboxIdentity,
  type SandboxIdentity,
} from "./sandbox-identity.js";

export interface SandboxOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  home?: string;
  baseImage?: string;
  /** Rebuild the image even when one with the same inputs exists. @default false */
  rebuild?: boolean;
  /** Progress lines (stderr). */
  log: (line: string) => void;
  /** Policy profile (`--profile`); SBX_PROFILE and the config's default apply otherwise. */
  profile?: string;
}

export interface SandboxPlan {
  identity: SandboxIdentity;
  image: ImagePlan;
  spec: ContainerSpec;
  /** Logins the policy lets cross. */
  logins: ProbeResult[];
  audit: CrossingAudit;
  /** The agent's extra environment (API keys, passthrough, env files): secret, piped only. */
  agentEnv: Record<string, string>;
  sandboxPolicy: { userPatterns: string[]; allowEnv: string[] };
  /** Grant the agents' folder trust to /workspace in their first-run state. @default true */
  trustWorkspace?: boolean;
}

/** Everything `sbx up` would create, computed without touching Docker (so `--dry-run` is honest). */
export async function planSandbox(options: SandboxOptions): Promise<SandboxPlan> {
  const home = options.home ?? homedir();
  const identity = sandboxIdentity(options.cwd, options.env);
  const image = planImage({ env: options.env, ...(options.baseImage ? { baseImage: options.baseImage } : {}) });
  const probed = await probeProviders(realHostContext({ home, env: options.env }));
  const crossing = await planCrossing({
    projectDir: identity.projectDir,
    env: options.env,
    home,
    logins: probed,
    ...(options.profile ? { profile: options.profile } : {}),
  });
  const uid = Number(image.buildArgs.SBX_UID);
  const gid = Number(image.buildArgs.SBX_GID);
  const spec: ContainerSpec = {
    name: identity.containerName,
    image: image.tag,
    user: `${uid}:${gid}`,
    cmd: ["idle"],
    // Only non-secret values: Config.Env is visible to anyone who can `docker inspect`.
    env: { SBX_PROJECT_ID: identity.projectId, HOME: SANDBOX_HOME, TERM: options.env.TERM || "xterm-256color" },
    workdir: WORKSPACE,
    labels: {
      [LABELS.managed]: "true",
      [LABELS.project]: identity.projectDir,
      [LABELS.login]: identity.login,
      [LABELS.imageInputs]: image.inputsHash,
    },
    mounts: [
      { type: "bind", source: identity.projectDir, target: WORKSPACE },
      { type: "volume", source: identity.volumeName, target: STATE_DIR },
      { type: "tmpfs", target: "/run/secrets", sizeBytes: 1024 * 1024, mode: 0o700, uid, gid, noexec: true },
      ...crossing.extraMounts,
    ],
    pidsLimit: 1024,
    init: true,
  };
  return { identity, image, spec, logins: crossing.logins, audit: crossing.audit, agentEnv: crossing.agentEnv, sandboxPolicy: crossing.sandboxPolicy };
}

export interface SandboxState {
  plan: SandboxPlan;
  container: ContainerInfo;
  image: "built" | "cached";
  container_action: "created" | "started" | "reused" | "recreated";
  installed: Array<{ provider: string; destination: string; outcome: string }>;
}

/**
 * Starts the project's sandbox or reuses the running one, then pipes every login found on the
 * host into it. Idempotent: a second call with nothing changed only re-pipes the logins.
 */
export async function ensureSandbox(
  runtime: ContainerRuntime,
  plan: SandboxPlan,
  options: SandboxOptions,
  /** Work to run alongside the login pipe once the container is up (each exec is a round trip). */
  alongside?: () => Promise<unknown>,
): Promise<SandboxState> {
  // Independent lookups, side by side: each is an engine round trip. The first to fail on an
  // engine that does not answer reports it (SBX_DOCKER_UNREACHABLE), so no separate ping.
  const [image, , found] = await Promise.all([
    ensureImage(runtime, plan.image, options.log, options.rebuild ? { rebuild: true } : {}),
    runtime.ensureVolume(plan.identity.volumeName, { [LABELS.managed]: "true", [LABELS.login]: plan.identity.login }),
    runtime.inspectContainer(plan.spec.name),
  ]);

  let action: SandboxState["container_action"];
  let existing = found;
  if (existing && existing.labels[LABELS.imageInputs] !== plan.image.inputsHash) {
    // The image changed under a running sandbox: replace the container (state lives on the volume).
    options.log(`replacing ${plan.spec.name}: its image inputs changed`);
    await runtime.removeContainer(plan.spec.name);
    existing = undefined;
    action = "recreated";
  }
  if (!existing) {
    await runtime.createContainer(plan.spec);
    await runtime.startContainer(plan.spec.name);
    action ??= "created";
  } else if (existing.state !== "running") {
    await runtime.startContainer(plan.spec.name);
    action = "started";
  } else {
    action = "reused";
  }

  const [installed] = await Promise.all([pipeLogins(runtime, plan), alongside?.()]);
  const container = await runtime.inspectContainer(plan.spec.name);
  if (!container || container.state !== "running") {
    const logs = await runtime.logs(plan.spec.name).catch(() => "");
    throw new CliError("SBX_SANDBOX_EXITED", `The sandbox ${plan.spec.name} stopped right after it started.`, {
      hint: logs.trim() ? `Its entrypoint said: ${logs.trim().split("\n").slice(-3).join(" | ")}` : "Run `docker logs " + plan.spec.name + "` to see why.",
    });
  }
  return { plan, container, image, container_action: action, installed };
}

/**
 * Pipes each allowed login, the agent's environment and the user's refuse rules through the stdin
 * of one exec, which the entrypoint verifies and installs: one engine round trip for all of it.
 */
async function pipeLogins(runtime: ContainerRuntime, plan: SandboxPlan): Promise<SandboxState["installed"]> {
  const bundle: Array<BundledSecret & { provider?: string }> = [];
  for (const login of plan.logins) {
    if (login.status !== "found") continue;
    for (const file of login.files) {
      bundle.push({
        provider: login.provider,
        secret: file.name,
        content: file.content,
        destination: file.destination,
        mode: file.mode,
        ...(file.mergeJson ? { mergeJson: true } : {}),
        ...(file.name === "claude-credentials" ? { preferNewer: "claudeAiOauth.expiresAt" } : {}),
      });
    }
  }
  // Always sent, even empty: a reused sandbox must lose a key the host no longer has.
  bundle.push({
    ...(Object.keys(plan.agentEnv).length ? { provider: "env" } : {}),
    secret: AGENT_ENV_SECRET,
    content: JSON.stringify(plan.agentEnv),
    destination: AGENT_ENV_FILE,
    mode: 0o600,
  });
  bundle.push({ secret: "first-run", content: JSON.stringify({ trustWorkspace: plan.trustWorkspace !== false }), destination: "~/.sbx/first-run.json", mode: 0o600 });
  bundle.push({ secret: SANDBOX_POLICY_SECRET, content: JSON.stringify(plan.sandboxPolicy), destination: SANDBOX_POLICY_FILE, mode: 0o600 });
  const report = await pipeSecretBundle(
    runtime,
    plan.spec.name,
    bundle.map(({ provider: _provider, ...secret }) => secret),
    { installCommand: [...ENTRYPOINT, "install"] },
  );
  return report.flatMap((entry) => {
    const provider = bundle.find((item) => item.secret === entry.secret)?.provider;
    return provider ? [{ provider, destination: entry.destination, outcome: entry.outcome }] : [];
  });
}

/** The plan as `--dry-run` prints it: every secret's bytes replaced by its length. */
export function redactedPlan(plan: SandboxPlan): unknown {
  return {
    audit: plan.audit,
    image: { tag: plan.image.tag, baseImage: plan.image.baseImage, buildArgs: plan.image.buildArgs, caCertificates: plan.image.caCertificates },
    volume: plan.identity.volumeName,
    container: plan.spec,
    logins: plan.logins.map((login) =>
      login.status === "found"
        ? {
            provider: login.provider,
            status: login.status,
            description: login.description,
            source: login.source,
            pipe: login.files.map((file) => ({ secret: `/run/secrets/${file.name}`, destination: file.destination, bytes: file.content.length, content: "[redacted]" })),
          }
        : login,
    ),
  };
}
