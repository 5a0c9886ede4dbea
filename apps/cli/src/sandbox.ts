import { statSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { join } from "node:path";
import { PROVIDER_LOGIN_ENV } from "@sbx/boundary-policy";
import { probeProviders, realHostContext, type ProbeResult } from "@sbx/auth-probes";
import { isRuntimeError, type ContainerInfo, type ContainerRuntime, type ContainerSpec } from "@sbx/container-runtime";
import { pipeSecretBundle, REPORT_MAX_BYTES, type BundledSecret } from "@sbx/secret-pipe";
import { CliError } from "./cli-error.js";
import { planCrossing, type CrossingAudit } from "./crossing-audit.js";
import { ensureImage, planImage, type ImagePlan } from "./sandbox-image.js";
import { withHostLock } from "./host-lock.js";
import { applyNetworkToSpec, ensureEgress, NETWORK_LABELS, planNetwork, removeEgress, type NetworkPlan } from "./sandbox-network.js";
import type { SandboxResources } from "./sandbox-resources.js";
import { followedBySessionListing, LISTING_MAX_BYTES } from "./session-mirror-protocol.js";
import { workspaceUser } from "./workspace-user.js";
import { userCacheDir } from "./user-cache-dir.js";
import {
  AGENT_ENV_FILE,
  AGENT_ENV_SECRET,
  FIRST_RUN_FILE,
  FIRST_RUN_SECRET,
  INSTALL_COMMAND,
  LABELS,
  MAX_PIPED_BYTES,
  PROJECT_STORE_DIR,
  RUNTIME_DIR,
  SANDBOX_HOME,
  SANDBOX_POLICY_FILE,
  SANDBOX_POLICY_SECRET,
  STATE_DIR,
  WORKSPACE,
  sandboxIdentity,
  sandboxMismatch,
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
  /** Network tier (`--network`); the profile's or the config's tier applies otherwise. */
  network?: string;
  /** Domains added to the allowlist (`--allow`). */
  allow?: string[];
  /** TEST ONLY: arguments for the egress proxy's main process (`--test-public-cidr`); no command sets it. */
  egressProxyTestArgs?: string[];
  /** The ids sbx runs as on the host. @default the process's (os.userInfo) */
  hostIds?: { uid: number; gid: number };
  /** One of the project's named sandboxes (`--name`). @default the project's default sandbox */
  name?: string;
  /** The agent the sandbox is created for (`sbx create --agent`), kept as a label. */
  agent?: string;
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
  network: NetworkPlan;
  /** Grant the agents' folder trust to /workspace in their first-run state (set from the workspace scan). @default false */
  trustWorkspace?: boolean;
}

/** Everything `sbx up` would create, computed without touching Docker (so `--dry-run` is honest). */
export async function planSandbox(options: SandboxOptions): Promise<SandboxPlan> {
  const home = options.home ?? homedir();
  const identity = sandboxIdentity(options.cwd, options.env, options.name);
  const workspace = workspaceUser(options.hostIds ?? userInfo(), statSync(identity.projectDir), identity.projectDir);
  const image = planImage({ env: options.env, uid: workspace.uid, gid: workspace.gid, ...(options.baseImage ? { baseImage: options.baseImage } : {}) });
  const probed = await probeProviders(realHostContext({ home, env: options.env }));
  const crossing = await planCrossing({
    projectDir: identity.projectDir,
    env: options.env,
    home,
    logins: probed,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.network !== undefined ? { network: options.network } : {}),
    ...(options.allow?.length ? { allow: options.allow } : {}),
  });
  const network = planNetwork({ tier: crossing.network.tier, identity, allowedDomains: crossing.network.allowedDomains, baseImage: image.baseImage, env: options.env });
  crossing.audit.networkRules = network.rules;
  const uid = Number(image.buildArgs.SBX_UID);
  const gid = Number(image.buildArgs.SBX_GID);
  const pipedCount = checkPipedSizes(crossing.logins, crossing.agentEnv, crossing.sandboxPolicy);
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
      [LABELS.owner]: identity.owner,
      [LABELS.imageInputs]: image.inputsHash,
      [LABELS.bounds]: boundsLabel(crossing.resources),
      ...(identity.name !== undefined ? { [LABELS.name]: identity.name } : {}),
      ...(options.agent ? { [LABELS.agent]: options.agent } : {}),
    },
    mounts: [
      { type: "bind", source: identity.projectDir, target: WORKSPACE },
      // The root filesystem is read-only: the home is a tmpfs (the entrypoint makes its links into
      // the volumes at start), and so is /tmp; agents' caches (~/.cache, ~/.npm) sit in the home.
      { type: "tmpfs", target: SANDBOX_HOME, sizeBytes: 1024 * 1024 * 1024, mode: 0o700, uid, gid, noexec: false },
      { type: "tmpfs", target: "/tmp", sizeBytes: 1024 * 1024 * 1024, mode: 0o1777, noexec: false },
      { type: "volume", source: identity.volumeName, target: STATE_DIR },
      { type: "volume", source: identity.conversationsVolumeName, target: PROJECT_STORE_DIR },
      // Room for every secret this plan pipes at its largest, and two more (a login added while the
      // sandbox is reused): all land here at once before the install moves them.
      { type: "tmpfs", target: "/run/secrets", sizeBytes: (pipedCount + 2) * MAX_PIPED_BYTES, mode: 0o700, uid, gid, noexec: true },
      // The agent environment and refuse rules, each at most 1 MiB, plus the atomic write's temp copy.
      { type: "tmpfs", target: RUNTIME_DIR, sizeBytes: 4 * MAX_PIPED_BYTES, mode: 0o700, uid, gid, noexec: true },
      ...crossing.extraMounts,
    ],
    pidsLimit: crossing.resources.pids,
    memoryBytes: crossing.resources.memoryBytes,
    nanoCpus: crossing.resources.nanoCpus,
    logMaxSize: crossing.resources.logMaxSize,
    logMaxFiles: crossing.resources.logMaxFiles,
    init: true,
    readOnlyRootfs: true,
  };
  applyNetworkToSpec(spec, network);
  const audit = workspace.note ? { ...crossing.audit, workspaceReadOnly: workspace.note } : crossing.audit;
  return { identity, image, spec, logins: crossing.logins, audit, agentEnv: crossing.agentEnv, sandboxPolicy: crossing.sandboxPolicy, network };
}

/** The agent environment as piped: the variables, and which of them are provider logins. */
function agentEnvFile(agentEnv: Record<string, string>): string {
  return JSON.stringify({ env: agentEnv, pipedLogins: Object.keys(agentEnv).filter((name) => Object.hasOwn(PROVIDER_LOGIN_ENV, name)) });
}

/**
 * Refuses, before anything is created, a secret larger than sbx pipes (it would not fit the
 * tmpfs and fail half-way). Returns how many secrets the plan pipes.
 */
function checkPipedSizes(logins: ProbeResult[], agentEnv: Record<string, string>, policy: SandboxPlan["sandboxPolicy"]): number {
  const tooLarge = (what: string, bytes: number) =>
    new CliError("SBX_SECRET_TOO_LARGE", `${what} is ${(bytes / 1_000_000).toFixed(1)} MB; sbx pipes at most 1 MiB.`, {
      hint: "Shrink it (or log in again to get a fresh one) and run sbx up again; nothing was created.",
    });
  let count = 3; // the agent environment, the refuse rules and the first-run settings
  for (const login of logins) {
    if (login.status !== "found") continue;
    for (const file of login.files) {
      if (file.content.length > MAX_PIPED_BYTES) throw tooLarge(`${file.destination} (the ${login.provider} login, from ${login.source})`, file.content.length);
      count += 1;
    }
  }
  const env = Buffer.byteLength(agentEnvFile(agentEnv));
  if (env > MAX_PIPED_BYTES) throw tooLarge(`The agent environment (${Object.keys(agentEnv).length} variables)`, env);
  const rules = Buffer.byteLength(JSON.stringify(policy));
  if (rules > MAX_PIPED_BYTES) throw tooLarge("Your refuse rules", rules);
  return count;
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
  steps: {
    /**
     * Work on the sandbox's session listing (STATE_DIR's, LIST_SCRIPT's output), which the login
     * pipe's exec takes after the install: one exec, not two, in a container still booting.
     */
    withSessionListing?: (listing: Buffer) => Promise<unknown>;
    /**
     * Host-side work the logins wait for (the trust decision goes into what is piped): the engine
     * makes and starts the container meanwhile. A failure here stops before the pipe.
     */
    beforePipe?: Promise<unknown>;
    /** The caller's inspect of the container's name, when it asked already (undefined: none there). */
    found?: Promise<ContainerInfo | undefined>;
  } = {},
): Promise<SandboxState> {
  const { withSessionListing, beforePipe } = steps;
  const { identity } = plan;
  const owned = { [LABELS.managed]: "true", [LABELS.login]: identity.login, [LABELS.owner]: identity.owner };
  // Independent lookups, side by side: each is an engine round trip. The first to fail on an
  // engine that does not answer reports it (SBX_DOCKER_UNREACHABLE), so no separate ping.
  const [image, , , found, egress] = await Promise.all([
    ensureImage(runtime, plan.image, options.log, { ...(options.rebuild ? { rebuild: true } : {}), labels: owned }),
    runtime.ensureVolume(identity.volumeName, owned),
    runtime.ensureVolume(identity.conversationsVolumeName, { ...owned, [LABELS.project]: identity.projectDir }),
    steps.found ?? runtime.inspectContainer(plan.spec.name),
    plan.network.egress ? ensureEgress(runtime, plan.network, options.log, options.egressProxyTestArgs) : undefined,
    // The engine's dialect (GET /_ping) decides how a create spells tmpfs mounts: asked here, not
    // in series before the create.
    (runtime as { dialect?: () => Promise<unknown> }).dialect?.().catch(() => undefined),
  ]);
  if (egress) {
    // The proxy is the sandbox's only DNS server; its address is known once it runs.
    plan.spec.dns = [egress.address];
    plan.spec.labels = { ...plan.spec.labels, [NETWORK_LABELS.egressAddress]: egress.address };
  }
  const action = await ensureContainer(runtime, plan, found, options.log);
  await beforePipe;

  // Concurrent `sbx up`s take turns at the pipe: it lands secrets under fixed names in /run/secrets.
  let listing: Buffer | undefined;
  const onListing = withSessionListing ? (taken: Buffer) => (listing = taken) : undefined;
  const installed = await withHostLock(pipeLockPath(options, plan.spec.name), () => pipeLogins(runtime, plan, onListing));
  const [container] = await Promise.all([runtime.inspectContainer(plan.spec.name), listing && withSessionListing?.(listing)]);
  if (!container || container.state !== "running") {
    const logs = await runtime.logs(plan.spec.name).catch(() => "");
    throw new CliError("SBX_SANDBOX_EXITED", `The sandbox ${plan.spec.name} stopped right after it started.`, {
      hint: logs.trim() ? `Its entrypoint said: ${logs.trim().split("\n").slice(-3).join(" | ")}` : "Run `docker logs " + plan.spec.name + "` to see why.",
    });
  }
  return { plan, container, image, container_action: action, installed };
}

/** One lock per sandbox in the host user's cache (XDG_CACHE_HOME, else ~/.cache). */
function pipeLockPath(options: SandboxOptions, container: string): string {
  const home = options.home ?? homedir();
  return join(userCacheDir(options.env, home), "sbx", "locks", `${container}.pipe.lock`);
}

/** How often (100 ms apart) concurrent `sbx up`s look again for one another's remove or create to land: 5 s. */
const CONVERGE_ATTEMPTS = 50;

/**
 * Brings the project's container to "running with this plan's image", whoever else is doing the
 * same: several `sbx up` in one project race, and a 409 on create means another one made it,
 * so it is inspected and reused. A container of another login or user is never reused.
 * `found` is the caller's inspect of the name (undefined: none).
 */
export async function ensureContainer(
  runtime: ContainerRuntime,
  plan: Pick<SandboxPlan, "spec" | "identity" | "image" | "network">,
  found: ContainerInfo | undefined,
  log: (line: string) => void,
): Promise<SandboxState["container_action"]> {
  const { container, action } = await converge(runtime, plan, found, log);
  // Starting a running container is a no-op (HTTP 304), so a start raced by another `sbx up` is too;
  // an engine that instead refuses a start already under way (409) has it running a moment later.
  if (container?.state !== "running") {
    await runtime.startContainer(plan.spec.name).catch(async (error: unknown) => {
      if ((await runtime.inspectContainer(plan.spec.name))?.state !== "running") throw error;
    });
  }
  return action;
}

async function converge(
  runtime: ContainerRuntime,
  plan: Pick<SandboxPlan, "spec" | "identity" | "image" | "network">,
  found: ContainerInfo | undefined,
  log: (line: string) => void,
): Promise<{ container: ContainerInfo | undefined; action: SandboxState["container_action"] }> {
  let existing = found;
  let replaced = false;
  for (let attempt = 0; ; attempt += 1) {
    const foreign = existing && sandboxMismatch(existing.name, existing.labels, plan.identity);
    if (foreign) throw foreign;
    if (existing && (existing.state === "removing" || existing.state === "dead")) {
      // Another command is replacing it: wait for the name to come free, then look again.
      if (attempt >= CONVERGE_ATTEMPTS) throw stuck(plan, existing.state);
      await new Promise((resolve) => setTimeout(resolve, 100));
      existing = await runtime.inspectContainer(plan.spec.name);
      continue;
    }
    const outdated =
      existing && (existing.labels[LABELS.imageInputs] !== plan.image.inputsHash ? "its image inputs changed" : (boundsChanged(existing, plan.spec) ?? networkChanged(existing, plan)));
    if (existing && outdated) {
      // The image, the bounds or the network changed under the sandbox: replace the container (state
      // lives on the volumes). A container's networks are fixed when it is created: a new tier (or a
      // proxy that came back at another address) means a new container, never a widened running one.
      log(`replacing ${plan.spec.name}: ${outdated}`);
      // By id: a racing `sbx up` may already have put the new one under this name.
      await runtime.removeContainer(existing.id);
      existing = undefined;
      replaced = true;
    }
    if (existing) {
      const action = replaced ? "recreated" : existing.state === "running" ? "reused" : "started";
      return { container: existing, action };
    }
    // A proxy and network left from an earlier tier go once the sandbox no longer needs them.
    if (!plan.network.egress) await removeEgress(runtime, plan.identity);
    try {
      await runtime.createContainer(plan.spec);
      return { container: undefined, action: replaced ? "recreated" : "created" };
    } catch (error) {
      if (!isRuntimeError(error, "SBX_CONTAINER_EXISTS") || attempt >= CONVERGE_ATTEMPTS) throw error;
      existing = await runtime.inspectContainer(plan.spec.name);
      // The engine reserves the name before the container can be inspected: give the winner's
      // create a moment to land rather than spin through the attempts.
      if (!existing) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Why a container no longer has the plan's bounds (memory, CPU, processes, log size), or undefined:
 * a sandbox from before sbx set them, or made under other `resources`, is so brought under them.
 * Compared by the label written at create, not by what the engine reports: an engine that cannot
 * apply a limit (no memory cgroup) reports 0 and would otherwise have its sandbox replaced on
 * every `sbx up`.
 */
function boundsChanged(container: ContainerInfo, spec: ContainerSpec): string | undefined {
  return container.labels[LABELS.bounds] === spec.labels?.[LABELS.bounds] ? undefined : "its resource limits changed";
}

/** Why a container no longer sits on the plan's network (its tier, or its egress proxy's address), or undefined. */
function networkChanged(container: ContainerInfo, plan: Pick<SandboxPlan, "spec" | "network">): string | undefined {
  if ((container.labels[NETWORK_LABELS.tier] ?? "full") !== plan.network.tier) return `its network tier is now ${plan.network.tier}`;
  if (container.labels[NETWORK_LABELS.egressAddress] !== plan.spec.labels?.[NETWORK_LABELS.egressAddress]) return "its egress proxy moved";
  return undefined;
}

/** The bounds as one label value: `memory=…,cpus=…,pids=…,log=10m*3`. */
function boundsLabel(resources: SandboxResources): string {
  return `memory=${resources.memoryBytes},nanocpus=${resources.nanoCpus},pids=${resources.pids},log=${resources.logMaxSize}*${resources.logMaxFiles}`;
}

function stuck(plan: Pick<SandboxPlan, "spec">, state: string): CliError {
  return new CliError("SBX_SANDBOX_BUSY", `The sandbox ${plan.spec.name} stayed ${state} while sbx waited for it.`, {
    hint: `Run \`docker rm -f ${plan.spec.name}\`, then \`sbx up\` again.`,
  });
}

/**
 * Pipes each allowed login, the agent's environment and the user's refuse rules through the stdin
 * of one exec, which the entrypoint verifies and installs: one engine round trip for all of it.
 */
async function pipeLogins(runtime: ContainerRuntime, plan: SandboxPlan, onSessionListing?: (listing: Buffer) => void): Promise<SandboxState["installed"]> {
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
    content: agentEnvFile(plan.agentEnv),
    destination: AGENT_ENV_FILE,
    mode: 0o600,
  });
  bundle.push({ secret: FIRST_RUN_SECRET, content: JSON.stringify({ trustWorkspace: plan.trustWorkspace === true }), destination: FIRST_RUN_FILE, mode: 0o600 });
  bundle.push({ secret: SANDBOX_POLICY_SECRET, content: JSON.stringify(plan.sandboxPolicy), destination: SANDBOX_POLICY_FILE, mode: 0o600 });
  const report = await pipeSecretBundle(
    runtime,
    plan.spec.name,
    bundle.map(({ provider: _provider, ...secret }) => secret),
    onSessionListing
      ? { installCommand: followedBySessionListing(INSTALL_COMMAND, STATE_DIR), onTrailer: onSessionListing, maxOutputBytes: REPORT_MAX_BYTES + LISTING_MAX_BYTES }
      : { installCommand: INSTALL_COMMAND },
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
    network: {
      tier: plan.network.tier,
      rules: plan.network.rules,
      ...(plan.network.egress ? { proxy: plan.network.egress.proxyName, internalNetwork: plan.network.egress.networkName, proxyImage: plan.network.egress.image.tag, policy: plan.network.egress.policy } : {}),
    },
    image: { tag: plan.image.tag, baseImage: plan.image.baseImage, buildArgs: plan.image.buildArgs, caCertificates: plan.image.caCertificates },
    volume: plan.identity.volumeName,
    conversationsVolume: plan.identity.conversationsVolumeName,
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
