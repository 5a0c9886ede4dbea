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
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { receiveSecretBundle } from "@sbx/secret-pipe";
import { checkSandboxEnv, sandboxPolicy, type SandboxPolicyRules } from "./sandbox-env-check.js";

const HOME = process.env.HOME || "/home/sandbox";
const STATE_DIR = join(HOME, ".llm");
const AGENT_ENV_FILE = join(HOME, ".sbx/agent-env.json");
const POLICY_FILE = join(HOME, ".sbx/policy.json");

/** Each agent's own state directory lives on the per-login volume, reached through a symlink. */
const STATE_LINKS: Array<[link: string, target: string]> = [
  [".claude", "claude"],
  [".codex", "codex"],
  [".gemini", "gemini"],
  [".local/share/opencode", "opencode"],
];

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
    let present = false;
    try {
      lstatSync(linkPath);
      present = true;
    } catch {
      present = false;
    }
    if (!present) {
      mkdirSync(dirname(linkPath), { recursive: true });
      symlinkSync(join(STATE_DIR, target), linkPath);
    }
  }
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
  // Names, paths, sizes and hashes only: this output reaches the host, never the secret bytes.
  process.stdout.write(JSON.stringify(installed));
}

function agent(argv: string[]): void {
  if (argv.length === 0) fail("agent needs a command", 64);
  refuseIfPolicyRefuses(process.env, `start ${argv[0]}`);
  const keys = loadAgentEnv();
  const env = { ...process.env, ...keys };
  // The piped API keys are allowed under their own provider's name, and only there.
  refuseIfPolicyRefuses(env, `start ${argv[0]}`, Object.keys(keys));
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: "inherit", env });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP", "SIGWINCH"] as const) process.on(signal, () => child.kill(signal));
  child.on("error", (error) => fail(`cannot run ${argv[0]}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "not installed in this sandbox" : error.message}`, 127));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 128 + 15 : 1)));
}

const [mode = "idle", ...rest] = process.argv.slice(2);
try {
  if (mode === "idle") idle();
  else if (mode === "install") install();
  else if (mode === "agent") agent(rest);
  else fail(`unknown mode "${mode}" (expected idle, install or agent)`, 64);
} catch (error) {
  fail((error as Error).message, 1);
}
