/**
 * The sandbox's entrypoint, bundled with its dependencies into /opt/sbx/entrypoint.mjs.
 *
 *   idle           PID 1 (under the engine's init): refuses to start if a refused variable is in
 *                  its environment, then waits.
 *   install        reads a manifest on stdin and installs the piped logins from /run/secrets
 *                  (sbx up runs the same code from /opt/sbx/install.mjs, its own small bundle).
 *   agent CMD …    runs an agent (or shell) with the piped API keys loaded, after checking the
 *                  environment again — defence in depth behind the host's check.
 */
import { spawn } from "node:child_process";
import { setPriority } from "node:os";
import { join } from "node:path";
import { recordSession, watchHost } from "./host-watch.js";
import { AGENT_ENV_FILE, fail, failWith, install, readJson, RUNTIME_DIR, setUpLayout, type AgentEnvFile } from "./install.js";
import type { SandboxPolicyRules } from "./sandbox-env-check.js";

const POLICY_FILE = join(RUNTIME_DIR, "policy.json");

/**
 * The policy engine (the token rules and RE2) loads only in the modes that check an environment
 * (the install has a bundle of its own without it: install.ts).
 */
async function refuseIfPolicyRefuses(env: Record<string, string | undefined>, where: string, pipedLogins: readonly string[] = []): Promise<void> {
  const { checkSandboxEnv, sandboxPolicy } = await import("./sandbox-env-check.js");
  const refused = checkSandboxEnv(sandboxPolicy(readJson<SandboxPolicyRules>(POLICY_FILE, {})), env, pipedLogins);
  if (refused.length === 0) return;
  const list = refused.map((item) => `${item.name} (${item.reason})`).join(", ");
  fail(`refusing to ${where}: the environment holds ${refused.length === 1 ? "a variable" : "variables"} sbx never lets into a sandbox: ${list}. Remove ${refused.length === 1 ? "it" : "them"} and start again.`);
}

async function idle(): Promise<void> {
  // PID 1's start-up (the policy engine, the layout) runs while `sbx up` pipes the logins through
  // an exec on the same CPUs: it yields to that exec. It does nothing afterwards but wait.
  try {
    setPriority(10);
  } catch {
    // A runtime that forbids it: the same start-up, only not yielding.
  }
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
  failWith(error);
}
