/**
 * The login install, bundled on its own into /opt/sbx/install.mjs: every `sbx up` runs it on its
 * critical path, in a container that is still booting, and without the policy engine (the token
 * rules and RE2, ~90 % of the entrypoint bundle) it starts in about the time of `node -e 0`.
 * The entrypoint's `install` mode runs the same code, for images from before the split.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { receiveSecretBundle } from "@sbx/secret-pipe";
import { writeFirstRunState } from "./first-run-state.js";
import { ensureStateLayout } from "./state-layout.js";
import { seedHomeFromTemplate } from "./template-seed.js";

export const HOME = process.env.HOME || "/home/sandbox";
export const STATE_DIR = join(HOME, ".llm");
/**
 * A tmpfs (see planSandbox): the piped API keys and refuse rules live only in memory, never in the
 * container's writable layer, so `docker export` or `docker commit` cannot carry them.
 */
export const RUNTIME_DIR = "/run/sbx";
export const AGENT_ENV_FILE = join(RUNTIME_DIR, "agent-env.json");
/** Whether the host granted the agents' folder trust for /workspace (hole 1), for their first-run state. */
const FIRST_RUN_FILE = join(RUNTIME_DIR, "first-run.json");

/** What the host pipes for the agent's environment: the variables, and which are provider logins. */
export interface AgentEnvFile {
  env?: Record<string, string>;
  /** Names piped as their provider's login (e.g. ANTHROPIC_API_KEY); every other name is a plain variable. */
  pipedLogins?: string[];
}

export function fail(message: string, code = 78): never {
  process.stderr.write(`sbx-entrypoint: ${message}\n`);
  process.exit(code);
}

/** One line with the hint: the host shows the entrypoint's last lines as its own hint. */
export function failWith(error: unknown): never {
  const hint = (error as { hint?: unknown }).hint;
  fail(`${(error as Error).message}${typeof hint === "string" && hint ? ` ${hint}` : ""}`, 1);
}

export function readJson<T>(path: string, fallback: T): T {
  return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as T) : fallback;
}

export function setUpLayout(): void {
  // A sandbox started from a saved template: its home first, then the links into the volumes.
  seedHomeFromTemplate({ home: HOME, runtimeDir: RUNTIME_DIR });
  ensureStateLayout({ home: HOME, projectId: process.env.SBX_PROJECT_ID });
}

export function install(): void {
  setUpLayout();
  // Every destination must resolve inside the state volume or the runtime tmpfs (hole 8).
  const installed = receiveSecretBundle(readFileSync(0), { home: HOME, within: [STATE_DIR, RUNTIME_DIR] });
  const piped = readJson<AgentEnvFile>(AGENT_ENV_FILE, {});
  const { trustWorkspace = false } = readJson<{ trustWorkspace?: boolean }>(FIRST_RUN_FILE, {});
  writeFirstRunState({ home: HOME, trustWorkspace, agentEnv: piped.env ?? {}, piped: installed.map((item) => item.secret), warn: (line) => process.stderr.write(`${line}\n`) });
  // Names, paths, sizes and hashes only: this output reaches the host, never the secret bytes.
  process.stdout.write(JSON.stringify(installed));
}
