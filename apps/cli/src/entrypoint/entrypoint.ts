/**
 * The sandbox's entrypoint, bundled with its dependencies into /opt/sbx/entrypoint.mjs.
 *
 *   idle           PID 1 (under the engine's init): refuses to start if a refused variable is in
 *                  its environment, then waits.
 *   install        reads a manifest on stdin and installs the piped logins from /run/secrets.
 *   agent CMD …    runs an agent (or shell) with the piped API keys loaded, after checking the
 *                  environment again — defence in depth behind the host's check.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { receiveSecretBundle } from "@sbx/secret-pipe";
import { writeFirstRunState } from "./first-run-state.js";
import { recordSession, watchHost } from "./host-watch.js";
import type { SandboxPolicyRules } from "./sandbox-env-check.js";
import { ensureStateLayout } from "./state-layout.js";
import { seedHomeFromTemplate } from "./template-seed.js";

const HOME = process.env.HOME || "/home/sandbox";
const STATE_DIR = join(HOME, ".llm");
/**
 * A tmpfs (see planSandbox): the piped API keys and refuse rules live only in memory, never in the
 * container's writable layer, so `docker export` or `docker commit` cannot carry them.
 */
const RUNTIME_DIR = "/run/sbx";
const AGENT_ENV_FILE = join(RUNTIME_DIR, "agent-env.json");
const POLICY_FILE = join(RUNTIME_DIR, "policy.json");
/** Whether the host granted the agents' folder trust for /workspace (hole 1), for their first-run state. */
const FIRST_RUN_FILE = join(RUNTIME_DIR, "first-run.json");

/** What the host pipes for the agent's environment: the variables, and which are provider logins. */
interface AgentEnvFile {
  env?: Record<string, string>;
  /** Names piped as their provider's login (e.g. ANTHROPIC_API_KEY); every other name is a plain variable. */
  pipedLogins?: string[];
}

function fail(message: string, code = 78): never {
  process.stderr.write(`sbx-entrypoint: ${message}\n`);
  process.exit(code);
}

function readJson<T>(path: string, fallback: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : fallback;
}

/**
 * The policy engine (the token rules and RE2) loads only in the modes that check an environment:
 * the install, run by every `sbx up` on its critical path, never evaluates it.
 */
async function refuseIfPolicyRefuses(env: Record<string, string | undefined>, where: string, pipedLogins: readonly string[] = []): Promise<void> {
  const { checkSandboxEnv, sandboxPolicy } = await import("./sandbox-env-check.js");
  const refused = checkSandboxEnv(sandboxPolicy(readJson<SandboxPolicyRules>(POLICY_FILE, {})), env, pipedLogins);
  if (refused.length === 0) return;
  const list = refused.map((item) => `${item.name} (${item.reason})`).join(", ");
  fail(`refusing to ${where}: the environment holds ${refused.length === 1 ? "a variable" : "variables"} sbx never lets into a sandbox: ${list}. Remove ${refused.length === 1 ? "it" : "them"} and start again.`);
}

function setUpLayout(): void {
  // A sandbox started from a saved template: its home first, then the links into the volumes.
  seedHomeFromTemplate({ home: HOME, runtimeDir: RUNTIME_DIR });
  ensureStateLayout({ home: HOME, projectId: process.env.SBX_PROJECT_ID });
}

async function idle(): Promise<void> {
  await refuseIfPolicyRefuses(process.env, "start the sandbox");
  try {
    setUpLayout();
  } catch (error) {
    // Keep running: the install that follows meets the same problem and reports it to the host,
    // and its fix (a command run in this sandbox) needs the sandbox up.
    process.stderr.write(`sbx-entrypoint: ${(error as Error).message}\n`);
  }
  process.stdout.write("sbx: sandbox ready\n");
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setInterval(() => undefined, 2 ** 30);
}

function install(): void {
  setUpLayout();
  // Every destination must resolve inside the state volume or the runtime tmpfs (hole 8).
  const installed = receiveSecretBundle(readFileSync(0), { home: HOME, within: [STATE_DIR, RUNTIME_DIR] });
  const piped = readJson<AgentEnvFile>(AGENT_ENV_FILE, {});
  const { trustWorkspace = false } = readJson<{ trustWorkspace?: boolean }>(FIRST_RUN_FILE, {});
  writeFirstRunState({ home: HOME, trustWorkspace, agentEnv: piped.env ?? {}, piped: installed.map((item) => item.secret), warn: (line) => process.stderr.write(`${line}\n`) });
  // Names, paths, sizes and hashes only: this output reaches the host, never the secret bytes.
  process.stdout.write(JSON.stringify(installed));
}

async function agent(argv: string[]): Promise<void> {
  if (argv.length === 0) fail("agent needs a command", 64);
  await refuseIfPolicyRefuses(process.env, `start ${argv[0]}`);
  const piped = readJson<AgentEnvFile>(AGENT_ENV_FILE, {});
  const env = { ...process.env, ...piped.env };
  // The piped API keys are allowed under their own provider's name, and only there; plain
  // variables (FOO=bar from an env file) are checked like any other variable.
  await refuseIfPolicyRefuses(env, `start ${argv[0]}`, (piped.pipedLogins ?? []).filter((name) => piped.env?.[name] !== undefined));
  const forgetSession = recordSession(process.env.SBX_SESSION);
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: "inherit", env });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGWINCH"] as const) process.on(signal, () => child.kill(signal));
  child.on("error", (error) => fail(`cannot run ${argv[0]}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not installed in this sandbox" : error.message}`, 127));
  child.on("exit", (code, signal) => {
    forgetSession();
    process.exit(code ?? (signal ? 128 + 15 : 1));
  });
}

const [mode = "idle", ...rest] = process.argv.slice(2);
try {
  if (mode === "idle") await idle();
  else if (mode === "install") install();
  else if (mode === "agent") await agent(rest);
  else if (mode === "watch") watchHost(rest[0]);
  else fail(`unknown mode "${mode}" (expected idle, install or agent)`, 64);
} catch (error) {
  // One line with the hint: the host shows the entrypoint's last lines as its own hint.
  const hint = (error as { hint?: unknown }).hint;
  fail(`${(error as Error).message}${typeof hint === "string" && hint ? ` ${hint}` : ""}`, 1);
}
