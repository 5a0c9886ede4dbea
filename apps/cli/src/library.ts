/**
 * sbx as a library, for agent loops: a planner creates sandboxes at the start of a loop, runs
 * commands in them per story, and removes them at the end — in one import, `@sbx/cli/library`.
 * The same plan and the same hardened start as `sbx up` (planSandbox + ensureSandbox): logins go
 * through the secret pipe, never through anything this module takes as an argument.
 */
import { realpath } from "node:fs/promises";
import { homedir } from "node:os";
import type { Readable, Writable } from "node:stream";
import { DockerRuntime, type ContainerRuntime } from "@sbx/container-runtime";
import { CliError } from "./cli-error.js";
import { ensureSandbox, planSandbox } from "./sandbox.js";
import { chooseTemplate } from "./templates.js";
import { hostWorkspaceReader } from "./workspace-reader.js";
import { applyWorkspaceTrust, decideWorkspaceTrust } from "./workspace-trust.js";
import { ENTRYPOINT, WORKSPACE } from "./sandbox-identity.js";

export interface CreateSandboxOptions {
  /** The project directory (or any directory inside it): mounted at /workspace. */
  workspace: string;
  /**
   * A name for one of several sandboxes of the project (`planner`, `reviewer`, …). Without it,
   * the project's default sandbox — the one `sbx up` makes.
   */
  name?: string;
  /** The host environment logins and API keys are probed from. @default process.env */
  env?: Record<string, string | undefined>;
  /** @default os.homedir() */
  home?: string;
  baseImage?: string;
  /** Policy profile, as `--profile`. */
  profile?: string;
  /** Start from a template saved with `sbx save` (as `--template`); its tools are in the home. */
  template?: string;
  /** Progress lines (image build, replacement). @default discarded */
  log?: (line: string) => void;
  /** The engine. @default a DockerRuntime for DOCKER_HOST of `env` */
  runtime?: ContainerRuntime;
}

/** A running sandbox: what execInSandbox and removeSandbox take. */
export interface Sandbox {
  /** The container's name. */
  readonly name: string;
  readonly projectDir: string;
  readonly image: string;
  /** The per-login state volume (kept by removeSandbox). */
  readonly volume: string;
  /** What creating it did: `created`, `started`, `reused` or `recreated`. */
  readonly action: string;
  readonly runtime: ContainerRuntime;
}

export interface ExecInSandboxOptions {
  cmd: string[];
  /** Non-secret environment for this command only (it is visible to the engine's exec inspect). */
  env?: Record<string, string>;
  /** @default "/workspace" */
  workdir?: string;
  /** Bytes (or a stream) for the command's stdin, then EOF. */
  stdin?: Uint8Array | string | Readable;
  /**
   * Kill the command after this long: it runs under coreutils `timeout` inside the sandbox (TERM,
   * then KILL 2 s later), so nothing keeps running after the result says `timedOut`.
   */
  timeoutMs?: number;
  /** Stream output here as it comes, instead of collecting it in the result. */
  stdout?: Writable;
  stderr?: Writable;
  /**
   * Load the agent's environment (API keys piped at create time) for this command, as
   * `sbx run` does for an agent. @default false
   */
  agentEnv?: boolean;
}

export interface ExecInSandboxResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** The container name of a sandbox (the project's default one without a name); validates the name. */
export { sandboxContainerName } from "./sandbox-identity.js";

/** Starts the sandbox (building the image if needed) and pipes the host's logins into it. */
export async function createSandbox(options: CreateSandboxOptions): Promise<Sandbox> {
  const env = options.env ?? process.env;
  const sandboxOptions = {
    cwd: options.workspace,
    env,
    home: options.home ?? homedir(),
    log: options.log ?? (() => {}),
    ...(options.baseImage ? { baseImage: options.baseImage } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.name !== undefined ? { name: options.name } : {}),
  };
  const plan = await planSandbox(sandboxOptions);
  // The same folder-trust decision as `sbx up` (hole 1): a workspace whose agent configuration can
  // redirect traffic or run code is not pre-trusted; a loop cannot trust it on purpose from here.
  const projectDir = await realpath(plan.identity.projectDir);
  applyWorkspaceTrust(plan, await decideWorkspaceTrust({ projectDir, reader: await hostWorkspaceReader(projectDir), home: sandboxOptions.home, env }));
  const runtime = options.runtime ?? new DockerRuntime({ env });
  // One inspect of the name serves the template choice and the start.
  const found = runtime.inspectContainer(plan.spec.name);
  found.catch(() => undefined);
  await chooseTemplate(runtime, plan, { template: options.template, baseImage: options.baseImage, log: sandboxOptions.log, found });
  const state = await ensureSandbox(runtime, plan, sandboxOptions, { found });
  return { name: plan.spec.name, projectDir: plan.identity.projectDir, image: plan.image.tag, volume: plan.identity.volumeName, action: state.container_action, runtime };
}

/** Runs one command in the sandbox and returns its exit code and output. */
export async function execInSandbox(sandbox: Sandbox, options: ExecInSandboxOptions): Promise<ExecInSandboxResult> {
  if (options.cmd.length === 0) throw new CliError("SBX_USAGE", "execInSandbox needs a command to run.", { hint: 'For example: { cmd: ["ls", "-la"] }', exitCode: 2 });
  let cmd = options.cmd;
  if (options.agentEnv) cmd = [...ENTRYPOINT, "agent", ...cmd];
  if (options.timeoutMs !== undefined) {
    if (!(options.timeoutMs > 0)) throw new CliError("SBX_USAGE", "timeoutMs must be a positive number of milliseconds.", { exitCode: 2 });
    cmd = ["timeout", "--kill-after=2", `${Math.ceil(options.timeoutMs) / 1000}`, ...cmd];
  }
  const started = performance.now();
  const result = await sandbox.runtime.exec(sandbox.name, {
    cmd,
    workdir: options.workdir ?? WORKSPACE,
    ...(options.env ? { env: options.env } : {}),
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    ...(options.stdout ? { stdout: options.stdout } : {}),
    ...(options.stderr ? { stderr: options.stderr } : {}),
  });
  const durationMs = performance.now() - started;
  // `timeout` exits 124 when it stopped the command (137 when it had to KILL it); a command that
  // exits 124 by itself before the deadline is not a timeout.
  const timedOut = options.timeoutMs !== undefined && (result.exitCode === 124 || result.exitCode === 137) && durationMs >= options.timeoutMs;
  return { exitCode: result.exitCode, stdout: result.stdout.toString("utf8"), stderr: result.stderr.toString("utf8"), timedOut, durationMs };
}

/** Removes the sandbox's container; the per-login state volume is kept, as by `sbx down`. */
export async function removeSandbox(sandbox: Sandbox): Promise<void> {
  await sandbox.runtime.removeContainer(sandbox.name);
}
