import { realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { basename } from "node:path";
import { DockerRuntime, type ContainerInfo } from "@sbx/container-runtime";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { findAgent, requireAgentLogin } from "../agents.js";
import { CliError } from "../cli-error.js";
import { attach } from "../attach.js";
import { canAsk, confirm } from "../confirm.js";
import { formatAudit } from "../crossing-audit.js";
import { watchHostExecuted } from "../host-exec-files.js";
import { holdSession } from "../host-session.js";
import { ensureSandbox, planSandbox, redactedPlan, type SandboxOptions } from "../sandbox.js";
import { ENTRYPOINT, sandboxIdentity } from "../sandbox-identity.js";
import { hostWorkspaceReader } from "../workspace-reader.js";
import { applyWorkspaceTrust, decideWorkspaceTrust, rememberWorkspaceTrust } from "../workspace-trust.js";
import { startAutosave } from "../transcript-autosave.js";
import { chooseTemplate } from "../templates.js";
import { exportRedactor } from "./export-redactor.js";
import { autosaveIntervalMs, defaultInboxDir, transcriptCacheDir } from "../transcript-settings.js";
import { syncSandboxTranscripts } from "../transcript-sync.js";

export interface UpOptions {
  baseImage?: string;
  profile?: string;
  /** `--network <tier>`. */
  network?: string;
  /** `--allow <domain>`, repeatable. */
  allow?: string[];
  rebuild?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  /** Pre-accept the agents' folder trust although the workspace carries risky agent configuration, and remember that on this host. @default false */
  trustWorkspace?: boolean;
  /** A command to run attached once the sandbox is up (`bash -l` for `up`, the agent for `run`). */
  attach?: string[] | undefined;
  /** The agent `sbx run` names: it must have a login to reach it. */
  agent?: string;
  /** Keep `agent` on the sandbox as the agent it was made for (`sbx create --agent`; shown by `sbx ls`). @default false */
  recordAgent?: boolean;
  /** One of the project's named sandboxes (`--name`). @default the project's default sandbox */
  name?: string;
  /** A directory of the project (`sbx create <workspace>`). @default process.cwd() */
  cwd?: string;
  /** `--template`: start from a template saved with `sbx save`. */
  template?: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

export interface CreateOptions extends Omit<UpOptions, "attach" | "agent" | "recordAgent" | "cwd" | "name"> {
  /** Required: the project's default sandbox is `sbx up`'s. */
  name: string;
  /** The agent the sandbox is for: its login must be on the host, and `sbx ls` shows it. */
  agent?: string;
  /** A directory of the project. @default process.cwd() */
  workspace?: string;
}

/**
 * `sbx create --name <name> [--agent <agent>] [<workspace>]`: one of the project's named
 * sandboxes, started detached — `sbx up --detach --name` on the same plan and start, with the
 * agent checked (a known one, with a login, as `sbx run` does) and kept as a label.
 */
export async function create(options: CreateOptions): Promise<number> {
  const { workspace, agent, ...rest } = options;
  const cwd = resolve(workspace ?? process.cwd());
  let isDirectory = false;
  try {
    isDirectory = statSync(cwd).isDirectory();
  } catch {
    // Reported below, as for a file.
  }
  if (!isDirectory) {
    throw new CliError("SBX_WORKSPACE_NOT_FOUND", `The workspace ${cwd} is not a directory.`, { hint: "Name a directory of the project, or run `sbx create` inside it.", exitCode: 2 });
  }
  const known = agent === undefined ? undefined : findAgent(agent);
  if (agent !== undefined && !known) {
    throw new CliError("SBX_AGENT_UNKNOWN", `${JSON.stringify(agent.slice(0, 40))} is not an agent sbx knows.`, { hint: "Use claude, codex, gemini or opencode (or leave out --agent).", exitCode: 2 });
  }
  return up({ ...rest, cwd, attach: undefined, ...(known ? { agent: known.name, recordAgent: true } : {}) });
}

export async function up(options: UpOptions): Promise<number> {
  const sandboxOptions = {
    cwd: options.cwd ?? process.cwd(),
    env: process.env,
    log,
    ...(options.name !== undefined ? { name: options.name } : {}),
    ...(options.recordAgent && options.agent ? { agent: options.agent } : {}),
    ...(options.baseImage ? { baseImage: options.baseImage } : {}),
    ...(options.rebuild ? { rebuild: true } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.network !== undefined ? { network: options.network } : {}),
    ...(options.allow?.length ? { allow: options.allow } : {}),
  };
  // Read-only look-ups the engine answers while the host plans: the sandbox's name (for the
  // template it was made from and for the start) and the engine's dialect. Nothing is created
  // before the plan, a dry run touches no engine, and while an audit waits for an answer the
  // inspect would go stale, so it is asked then only after the answer.
  const asking = !options.dryRun && !options.yes && process.env.SBX_YES !== "1" && canAsk();
  const runtime = options.dryRun && options.template === undefined ? undefined : new DockerRuntime();
  let found: Promise<ContainerInfo | undefined> | undefined;
  if (runtime && !options.dryRun && !asking) {
    found = runtime.inspectContainer(sandboxIdentity(sandboxOptions.cwd, process.env, options.name).containerName);
    found.catch(() => undefined);
    runtime.dialect().catch(() => undefined);
  }
  try {
    return await upWith(runtime, found, asking, sandboxOptions, options);
  } finally {
    runtime?.close();
  }
}

async function upWith(
  runtime: DockerRuntime | undefined,
  found: Promise<ContainerInfo | undefined> | undefined,
  asking: boolean,
  sandboxOptions: SandboxOptions,
  options: UpOptions,
): Promise<number> {
  const plan = await planSandbox(sandboxOptions);
  if (options.agent) requireAgentLogin(options.agent, plan.logins, plan.agentEnv);
  // `--template`: the saved template in place of the sandbox image, looked up before the audit so a
  // missing one stops everything.
  if (options.template !== undefined && runtime) {
    await chooseTemplate(runtime, plan, { template: options.template, rebuild: options.rebuild, baseImage: options.baseImage, log });
  }
  const projectDir = await realpath(plan.identity.projectDir);
  const home = homedir();
  const decideTrust = async () => {
    const trust = await decideWorkspaceTrust({ projectDir, reader: await hostWorkspaceReader(projectDir), home, env: process.env, trustWorkspace: options.trustWorkspace === true });
    applyWorkspaceTrust(plan, trust);
    return trust;
  };
  if (options.dryRun) {
    await decideTrust();
    process.stderr.write(formatAudit(plan.audit, plan.spec.name));
    process.stdout.write(`${JSON.stringify({ dryRun: true, ...(redactedPlan(plan) as object), attach: options.attach ?? null }, null, 2)}\n`);
    return 0;
  }
  // Read before anything is created, so a bad value fails early.
  const intervalMs = autosaveIntervalMs(process.env);
  // What the host does before the logins are piped: the trust decision (it goes into the first-run
  // settings the pipe carries), the audit, and what a session's end compares with. When nobody is
  // asked, the engine starts the container meanwhile — the logins wait for it; when the audit asks,
  // nothing is created before the answer. Engine lines (an image build) follow the audit.
  const held: string[] = [];
  let audited = false;
  const engineLog = (line: string) => (audited ? log(line) : held.push(line));
  const prepare = async () => {
    const trust = await decideTrust();
    process.stderr.write(formatAudit(plan.audit, plan.spec.name));
    if (asking) await confirm("Press Enter to continue, or type n to stop (skip this with --yes):", "Stopped at the audit; nothing was created.");
    audited = true;
    for (const line of held.splice(0)) log(line);
    await rememberWorkspaceTrust(projectDir, trust);
    // Hole 16: report what changed since the last session (a detached one ends unseen), then watch.
    const hostExecuted = watchHostExecuted({ projectDir, home, env: process.env, projectId: plan.identity.projectId, log });
    await hostExecuted.check();
    const transcripts = {
      cacheDir: transcriptCacheDir(process.env, home, plan.identity.volumeName, plan.identity.projectId),
      inbox: defaultInboxDir(process.env, home),
      redact: await exportRedactor({ home, env: process.env, cwd: plan.identity.projectDir, ...(options.profile ? { profile: options.profile } : {}) }),
      project: { name: basename(plan.identity.projectDir), path: plan.identity.projectDir },
    };
    return { hostExecuted, transcripts };
  };
  const prepared = asking ? Promise.resolve(await prepare()) : prepare();
  prepared.catch(() => undefined);
  if (!runtime) throw new Error("up: no engine runtime outside a dry run");
  // The keeper's module loads while the engine starts the container (the host waits then anyway):
  // imported up front, it cost every `sbx up` ~20 ms before the first engine call.
  const loadingKeeper = import("@sbx/credential-keeper");
  loadingKeeper.catch(() => undefined);
  // Detached: catch up on sessions a crashed or killed sandbox left unexported, from the listing
  // the login pipe's exec takes. Attached: the autosave below does it in the background.
  const catchUp = options.attach
    ? undefined
    : (listing: Buffer) =>
        prepared
          .then(({ transcripts }) => syncSandboxTranscripts(runtime, plan.spec.name, { ...transcripts, listing }))
          .catch((error: Error) => log(`sbx: transcript export failed: ${error.message}`));
  // Without --template, a sandbox made from one keeps it (looked up on the engine used anyway).
  if (options.template === undefined) await chooseTemplate(runtime, plan, { rebuild: options.rebuild, baseImage: options.baseImage, log: engineLog, ...(found ? { found } : {}) });
  const starting = ensureSandbox(runtime, plan, { ...sandboxOptions, log: engineLog }, { ...(catchUp ? { withSessionListing: catchUp } : {}), beforePipe: prepared, ...(found ? { found } : {}) });
  starting.catch(() => undefined);
  // The host's own failures first (the audit is printed by then), then the engine's.
  const { hostExecuted, transcripts } = await prepared;
  const state = await starting;
  const logins = state.installed.length
    ? state.installed.map((item) => `${item.provider} → ${item.destination}${item.outcome === "kept-newer" ? " (kept the sandbox's newer copy)" : ""}`).join(", ")
    : "none found on this host (run `sbx doctor`)";
  log(`sbx: sandbox ${plan.spec.name} ${state.container_action} · image ${plan.image.tag} (${state.image}) · state volume ${plan.identity.volumeName}`);
  log(`sbx: logins piped: ${logins}`);
  // The login keeper keeps the host's and the sandbox's copies on one token family while any
  // sandbox of this login runs; a cheap check when it already does, a detached spawn otherwise.
  const { ensureKeeper, KEPT_PROVIDERS, keeperDisabled, keeperStateDir } = await loadingKeeper;
  if (!keeperDisabled(process.env) && state.installed.some((item) => (KEPT_PROVIDERS as readonly string[]).includes(item.provider))) {
    ensureKeeper({ login: plan.identity.login, stateDir: keeperStateDir(process.env, home), env: process.env });
  }
  if (!options.attach) return 0;
  // Autosave while the agent runs (catching up in the background first), then a final export
  // when it ends. Errors wait until the session is over: the agent owns the terminal.
  const errors: string[] = [];
  const autosave = startAutosave(runtime, plan.spec.name, { ...transcripts, intervalMs, runAtStart: true, onError: (line) => errors.push(line) });
  const session = holdSession(runtime, plan.spec.name);
  try {
    return await attach(runtime, plan.spec.name, { cmd: [...ENTRYPOINT, "agent", ...options.attach], env: { SBX_SESSION: session.session } });
  } finally {
    await session.release();
    await hostExecuted.check();
    const final = await autosave.stop();
    for (const line of errors) log(`sbx: ${line}`);
    if (final?.written) log(`sbx: ${final.written} conversation note(s) saved to ${transcripts.inbox}`);
  }
}
