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
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { PROVIDER_LOGIN_ENV } from "@sbx/boundary-policy";
import { receiveSecretBundle } from "@sbx/secret-pipe";
import { writeFirstRunState } from "./first-run-state.js";
import { recordSession, watchHost } from "./host-watch.js";
import { checkSandboxEnv, sandboxPolicy, type SandboxPolicyRules } from "./sandbox-env-check.js";

const HOME = process.env.HOME || "/home/sandbox";
const STATE_DIR = join(HOME, ".llm");
const AGENT_ENV_FILE = join(HOME, ".sbx/agent-env.json");
const POLICY_FILE = join(HOME, ".sbx/policy.json");
const FIRST_RUN_FILE = join(HOME, ".sbx/first-run.json");

/** Each agent's own state directory lives on the per-login volume, reached through a symlink. */
const STATE_LINKS: Array<[link: string, target: string]> = [
  [".claude", "claude"],
  [".codex", "codex"],
  [".gemini", "gemini"],
  [".local/share/opencode", "opencode"],
  [".config/opencode", "opencode-config"],
];

/**
 * The stores where agents list past conversations. The login volume is shared by every project's
 * sandbox and each one's workspace is /workspace, so the agents would key all projects alike
 * (Claude's `projects/-workspace`, Gemini's hash of /workspace). Each store on the volume is
 * therefore a symlink into `~/.sbx/project`, a link local to this container that points at this
 * project's own directory on the volume: `~/.llm/by-project/<project id>/<store>`.
 */
const PROJECT_STORES = ["claude/projects", "codex/sessions", "gemini/tmp"];
const PROJECT_LINK = join(HOME, ".sbx/project");

function fail(message: string, code = 78): never {
  process.stderr.write(`sbx-entrypoint: ${message}\n`);
  process.exit(code);
}

function readJson<T>(path: string, fallback: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : fallback;
}

function refuseIfPolicyRefuses(env: Record<string, string | undefined>, where: string, pipedLogins: readonly string[] = []): void {
  const refused = checkSandboxEnv(sandboxPolicy(readJson<SandboxPolicyRules>(POLICY_FILE, {})), env, pipedLogins);
  if (refused.length === 0) return;
  const list = refused.map((item) => `${item.name} (${item.reason})`).join(", ");
  fail(`refusing to ${where}: the environment holds ${refused.length === 1 ? "a variable" : "variables"} sbx never lets into a sandbox: ${list}. Remove ${refused.length === 1 ? "it" : "them"} and start again.`);
}

export function ensureStateLayout(): void {
  mkdirSync(STATE_DIR, { recursive: true, mode: 0o700 });
  for (const [link, target] of STATE_LINKS) {
    const linkPath = join(HOME, link);
    mkdirSync(join(STATE_DIR, target), { recursive: true, mode: 0o700 });
    if (!lstatSync(linkPath, { throwIfNoEntry: false })) {
      mkdirSync(dirname(linkPath), { recursive: true });
      try {
        symlinkSync(join(STATE_DIR, target), linkPath);
      } catch (error) {
        // `idle` and the first `install` lay this out at the same moment; the other one made it.
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
    }
  }
  ensureProjectStores(process.env.SBX_PROJECT_ID);
}

function ensureProjectStores(projectId: string | undefined): void {
  // Started by hand without sbx's project id: one store for everything, as the agents would do.
  const id = projectId && /^[a-z0-9_.-]+$/.test(projectId) && !/^\.+$/.test(projectId) ? projectId : "default";
  const projectDir = join(STATE_DIR, "by-project", id);
  for (const store of PROJECT_STORES) mkdirSync(join(projectDir, store), { recursive: true, mode: 0o700 });
  replaceLink(PROJECT_LINK, projectDir);
  for (const store of PROJECT_STORES) {
    const shared = join(STATE_DIR, store);
    const target = join(PROJECT_LINK, store);
    if (lstatSync(shared, { throwIfNoEntry: false })?.isDirectory()) {
      // A store from before projects were kept apart: which project each conversation belongs to
      // is unknowable (all ran in /workspace), so the whole store is kept aside, untouched.
      let aside = `${shared}.before-per-project`;
      for (let n = 2; existsSync(aside); n += 1) aside = `${shared}.before-per-project-${n}`;
      try {
        renameSync(shared, aside);
        process.stderr.write(`sbx: conversations from before per-project stores are kept in ${aside}\n`);
      } catch (error) {
        // The other sbx process starting in this sandbox (idle, install) moved it first.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    replaceLink(shared, target);
  }
}

/** Points `path` at `target` atomically (a sandbox of another project may be reading it). */
function replaceLink(path: string, target: string): void {
  const current = lstatSync(path, { throwIfNoEntry: false });
  if (current?.isSymbolicLink() && readlinkSync(path) === target) return;
  if (current && !current.isSymbolicLink()) fail(`${path} is in the way of the per-project store; move it and start again`);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  symlinkSync(target, temp);
  renameSync(temp, path);
}

function loadAgentEnv(): Record<string, string> {
  return readJson<Record<string, string>>(AGENT_ENV_FILE, {});
}

function idle(): void {
  refuseIfPolicyRefuses(process.env, "start the sandbox");
  ensureStateLayout();
  process.stdout.write("sbx: sandbox ready\n");
  const stop = () => process.exit(0);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  setInterval(() => undefined, 2 ** 30);
}

function install(): void {
  ensureStateLayout();
  const installed = receiveSecretBundle(readFileSync(0), { home: HOME });
  const { trustWorkspace = false } = readJson<{ trustWorkspace?: boolean }>(FIRST_RUN_FILE, {});
  writeFirstRunState({ home: HOME, trustWorkspace, agentEnv: loadAgentEnv(), piped: installed.map((item) => item.secret), warn: (line) => process.stderr.write(`${line}\n`) });
  // Names, paths, sizes and hashes only: this output reaches the host, never the secret bytes.
  process.stdout.write(JSON.stringify(installed));
}

function agent(argv: string[]): void {
  if (argv.length === 0) fail("agent needs a command", 64);
  refuseIfPolicyRefuses(process.env, `start ${argv[0]}`);
  const keys = loadAgentEnv();
  const env = { ...process.env, ...keys };
  // The piped API keys are allowed under their own provider's name, and only there.
  refuseIfPolicyRefuses(env, `start ${argv[0]}`, Object.keys(keys).filter((name) => name in PROVIDER_LOGIN_ENV));
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
  if (mode === "idle") idle();
  else if (mode === "install") install();
  else if (mode === "agent") agent(rest);
  else if (mode === "watch") watchHost(rest[0]);
  else fail(`unknown mode "${mode}" (expected idle, install or agent)`, 64);
} catch (error) {
  fail((error as Error).message, 1);
}
