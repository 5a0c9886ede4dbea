/**
 * The first-run state sbx writes for Codex, Gemini CLI and opencode, so each starts at its prompt:
 * no login screen, auth picker, trust dialog or update notice. Every file is merged key by key into
 * what the agent already saved (the agents write these files themselves); sbx sets only its own
 * keys and never copies a host setting (MCP servers, hooks, host projects) into them.
 *
 * Trust for /workspace is granted only when `trustWorkspace` is true — the caller decides, from the
 * workspace's own agent config (a repo that can redirect traffic or run code is not trusted) — and
 * taken back when it is false: the login volume, and so these files, is shared by every project's
 * sandbox, and each of them is /workspace.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomicSync } from "@sbx/atomic-file";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";

export interface FirstRunInput {
  home: string;
  /** Grant the agents' folder trust to /workspace. */
  trustWorkspace: boolean;
  /** The piped environment the agents start with (API keys): decides Gemini's and Codex's auth. */
  agentEnv: Readonly<Record<string, string>>;
  /** Secret names installed by this pipe (e.g. "gemini-oauth"): a login piped now wins over a key. */
  piped: readonly string[];
  /** Where warnings go; a file the agent broke is left alone, not replaced. */
  warn: (line: string) => void;
}

export const WORKSPACE = "/workspace";

type Table = Record<string, unknown>;
const isTable = (value: unknown): value is Table => typeof value === "object" && value !== null && !Array.isArray(value);

/** Writes what is missing or changed; returns the files it wrote. */
export function writeFirstRunState(input: FirstRunInput): string[] {
  return [codexState, codexApiKeyLogin, geminiSettings, geminiTrustedFolders, opencodeConfig, claudeTrust].flatMap((step) => step(input) ?? []);
}

/** Reads a state file the agent owns; undefined when it is missing, null when it is unreadable. */
function readState<T>(path: string, parse: (text: string) => T, warn: (line: string) => void): T | undefined | null {
  if (!existsSync(path)) return undefined;
  try {
    return parse(readFileSync(path, "utf8"));
  } catch (error) {
    warn(`sbx: left ${path} as it is: it does not parse (${(error as Error).message.split("\n")[0]})`);
    return null;
  }
}

function write(input: FirstRunInput, path: string, before: string | undefined, after: string, mode = 0o600): string | undefined {
  if (before === after) return undefined;
  writeFileAtomicSync(path, after, { mode, within: join(input.home, ".llm") });
  return path;
}

function table(parent: Table, key: string): Table {
  const current = parent[key];
  if (isTable(current)) return current;
  const created: Table = {};
  parent[key] = created;
  return created;
}

/**
 * ~/.codex/config.toml: no update check, no daemon (with it on, Codex copies itself, 424 MiB, into
 * ~/.codex/packages — the login volume — and leaves a background process), trust as decided.
 */
function codexState(input: FirstRunInput): string | undefined {
  const path = join(input.home, ".codex/config.toml");
  const config = readState(path, (text) => parseToml(text) as Table, input.warn);
  if (config === null) return undefined;
  const before = config ? stringifyToml(config) : undefined;
  const next: Table = config ?? {};
  next.check_for_update_on_startup = false;
  table(next, "features").daemon_auto_start = false;
  const projects = table(next, "projects");
  if (input.trustWorkspace) table(projects, WORKSPACE).trust_level = "trusted";
  else if (isTable(projects[WORKSPACE])) {
    delete (projects[WORKSPACE] as Table).trust_level;
    if (Object.keys(projects[WORKSPACE] as Table).length === 0) delete projects[WORKSPACE];
  }
  if (Object.keys(projects).length === 0) delete next.projects;
  return write(input, path, before, stringifyToml(next));
}

/**
 * A host API key with no Codex login: Codex ignores OPENAI_API_KEY in its environment and shows
 * its sign-in screen, so the key goes where `codex login --with-api-key` puts it. An auth.json
 * holding a ChatGPT login is never touched.
 */
function codexApiKeyLogin(input: FirstRunInput): string | undefined {
  const key = input.agentEnv.OPENAI_API_KEY || input.agentEnv.CODEX_API_KEY;
  if (!key || input.piped.includes("codex-auth")) return undefined;
  const path = join(input.home, ".codex/auth.json");
  const auth = readState(path, (text) => JSON.parse(text) as Table, input.warn);
  if (auth === null || (auth && (auth.tokens || Object.keys(auth).some((name) => name !== "OPENAI_API_KEY")))) return undefined;
  const before = auth ? JSON.stringify(auth, null, 2) : undefined;
  return write(input, path, before, JSON.stringify({ OPENAI_API_KEY: key }, null, 2));
}

/** ~/.gemini/settings.json: the auth type of the piped login (else the picker shows), no updater. */
function geminiSettings(input: FirstRunInput): string | undefined {
  const path = join(input.home, ".gemini/settings.json");
  const settings = readState(path, (text) => JSON.parse(text) as unknown, input.warn);
  if (settings === null) return undefined;
  if (settings !== undefined && !isTable(settings)) return undefined;
  const before = settings ? JSON.stringify(settings, null, 2) : undefined;
  const next: Table = settings ?? {};
  const auth = table(table(next, "security"), "auth");
  const hasKey = Boolean(input.agentEnv.GEMINI_API_KEY || input.agentEnv.GOOGLE_API_KEY);
  // Choosing in the picker deletes oauth_creds.json; what the host chose came in with the login.
  if (input.piped.includes("gemini-oauth")) auth.selectedType ??= "oauth-personal";
  else if (hasKey && (auth.selectedType === undefined || (auth.selectedType === "oauth-personal" && !existsSync(join(input.home, ".gemini/oauth_creds.json"))))) {
    auth.selectedType = "gemini-api-key";
  }
  if (Object.keys(auth).length === 0) delete table(next, "security").auth;
  if (Object.keys(table(next, "security")).length === 0) delete next.security;
  const general = table(next, "general");
  general.enableAutoUpdate = false;
  general.enableAutoUpdateNotification = false;
  return write(input, path, before, JSON.stringify(next, null, 2));
}

/** ~/.gemini/trustedFolders.json: /workspace trusted or not, the user's other entries kept. */
function geminiTrustedFolders(input: FirstRunInput): string | undefined {
  const path = join(input.home, ".gemini/trustedFolders.json");
  const folders = readState(path, (text) => JSON.parse(text) as unknown, input.warn);
  if (folders === null || (folders !== undefined && !isTable(folders))) return undefined;
  const before = folders ? JSON.stringify(folders, null, 2) : undefined;
  const next: Table = { ...(folders ?? {}) };
  if (input.trustWorkspace) next[WORKSPACE] = "TRUST_FOLDER";
  else delete next[WORKSPACE];
  if (!folders && !input.trustWorkspace) return undefined;
  return write(input, path, before, JSON.stringify(next, null, 2));
}

/** ~/.config/opencode/opencode.json: no self-update (the image is rebuilt to upgrade). */
function opencodeConfig(input: FirstRunInput): string | undefined {
  const path = join(input.home, ".config/opencode/opencode.json");
  const config = readState(path, (text) => JSON.parse(text) as unknown, input.warn);
  if (config === null || (config !== undefined && !isTable(config))) return undefined;
  const before = config ? JSON.stringify(config, null, 2) : undefined;
  const next: Table = { ...(config ?? {}), autoupdate: false };
  return write(input, path, before, JSON.stringify(next, null, 2));
}

/**
 * Claude Code's trust for /workspace arrives with its piped onboarding state (granted); an
 * untrusted workspace takes it back, so Claude asks as it would on the host.
 */
function claudeTrust(input: FirstRunInput): string | undefined {
  if (input.trustWorkspace) return undefined;
  const path = join(input.home, ".claude/.claude.json");
  const config = readState(path, (text) => JSON.parse(text) as unknown, input.warn);
  if (!isTable(config)) return undefined;
  const project = isTable(config.projects) ? config.projects[WORKSPACE] : undefined;
  if (!isTable(project) || project.hasTrustDialogAccepted !== true) return undefined;
  const before = JSON.stringify(config, null, 2);
  project.hasTrustDialogAccepted = false;
  return write(input, path, before, JSON.stringify(config, null, 2));
}
