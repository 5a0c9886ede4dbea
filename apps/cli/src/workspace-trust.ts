import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "@sbx/atomic-file";
import { withClaudeWorkspaceTrust } from "@sbx/auth-probes";
import { sbxConfigDir } from "@sbx/boundary-policy/config";
import type { WorkspaceEntry, WorkspaceReader } from "./workspace-reader.js";

/**
 * Hole 1: a cloned repository's agent configuration may redirect where a piped login is sent
 * (`env.ANTHROPIC_BASE_URL`), or run code next to it (hooks, helpers, MCP servers). sbx pre-accepts
 * an agent's folder trust only for a workspace with none of that; otherwise the agent asks, as it
 * does on the host. The scanner is pure (it takes a reader) and fails closed: a file it cannot
 * parse, a key it does not know, a symlink, an oversized file are all findings.
 */

export type ConfigAgent = "claude" | "codex" | "gemini" | "opencode";

export interface AgentConfigFinding {
  /** Workspace-relative path. */
  file: string;
  agent: ConfigAgent;
  /** The keys (or the condition, e.g. "symlink") that make the file risky. */
  keys: string[];
}

interface Inspected {
  findings: AgentConfigFinding[];
  /** The walk for nested projects stopped at its bound: folders deeper or later were not inspected. */
  partial?: boolean;
  /** Every inspected path with what was seen there, for the fingerprint of a trust decision. */
  seen: Array<{ file: string; digest: string }>;
}

/** Claude Code settings keys that only style or scope the agent; anything else is a finding. */
const CLAUDE_BENIGN_KEYS = new Set([
  "$schema",
  "model",
  "cleanupPeriodDays",
  "includeCoAuthoredBy",
  "includeGitInstructions",
  "outputStyle",
  "language",
  "alwaysThinkingEnabled",
  "spinnerTipsEnabled",
  "respectGitignore",
  "attribution",
  "companyAnnouncements",
  "disableAllHooks",
  "theme",
  "permissions",
]);
/** Permission modes that let the agent act without asking. */
const CLAUDE_UNATTENDED_MODES = new Set(["acceptEdits", "bypassPermissions", "dontAsk", "auto"]);
/** Pre-approved tools that run commands or reach the network without asking. */
const CLAUDE_RISKY_ALLOW = /^(Bash|WebFetch|mcp__|\*)/;

/** Gemini CLI settings groups (v2 nested and v1 flat) that only style it; anything else is a finding. */
const GEMINI_BENIGN_KEYS = new Set(["$schema", "ui", "output", "context", "model", "theme", "contextFileName", "hideTips", "hideBanner", "vimMode", "accessibility"]);
/** opencode config keys that only style it; anything else is a finding. */
const OPENCODE_BENIGN_KEYS = new Set(["$schema", "theme", "model", "small_model", "username", "keybinds", "tui", "instructions", "layout", "autoupdate"]);
/** Names in a project `.env` that Gemini CLI loads and that redirect it or its runtime. */
const GEMINI_DOTENV_RISKY = /^(GEMINI_|GOOGLE_|CODE_ASSIST_|NODE_|LD_|OTEL_|SSL_|REQUESTS_CA|CURL_CA)|_(BASE_URL|ENDPOINT|PROXY|API_KEY)$|^(HTTPS?_PROXY|ALL_PROXY|NO_PROXY|HOME|PATH)$/i;

/** Directories sbx does not descend into when it looks for nested projects: dependencies and build output. */
const WALK_SKIP = new Set(["node_modules", ".git", "vendor", "dist", "build", "target", "out", ".venv", "venv", "__pycache__", ".next", ".cache", ".gradle", "Pods"]);
const WALK_MAX_DIRECTORIES = 5000;
const WALK_MAX_DEPTH = 8;

/** Folders below the root that hold a `.claude/` directory or a `.mcp.json`, breadth first and bounded. */
async function findNestedClaudeProjects(reader: WorkspaceReader): Promise<{ dirs: string[]; partial: boolean }> {
  const dirs: string[] = [];
  let queue: string[] = [""];
  let visited = 0;
  for (let depth = 0; queue.length && depth <= WALK_MAX_DEPTH; depth++) {
    const next: string[] = [];
    for (const dir of queue) {
      if (++visited > WALK_MAX_DIRECTORIES) return { dirs, partial: true };
      const { directories, files } = await reader.listing(dir);
      if (dir && (directories.includes(".claude") || files.includes(".claude") || files.includes(".mcp.json"))) dirs.push(dir);
      for (const child of directories) if (!WALK_SKIP.has(child) && !child.startsWith(".")) next.push(dir ? `${dir}/${child}` : child);
    }
    queue = next;
  }
  return { dirs, partial: queue.length > 0 };
}

/** Scans a workspace for agent configuration that can redirect traffic or run code. */
export async function scanWorkspace(reader: WorkspaceReader): Promise<Inspected> {
  const result: Inspected = { findings: [], seen: [] };
  const inspect = async (file: string, agent: ConfigAgent, judge: (text: string) => string[]): Promise<void> => {
    const entry = await reader.read(file);
    if (entry.status === "absent") return;
    result.seen.push({ file, digest: digestEntry(entry) });
    const keys = entry.status === "file" ? judgeText(entry.content, judge) : entryProblem(entry);
    if (keys.length) result.findings.push({ file, agent, keys });
  };
  const list = async (dir: string): Promise<string[]> => {
    const entry = await reader.read(dir);
    if (entry.status === "directory") return entry.names;
    return [];
  };

  await inspect(".claude/settings.json", "claude", judgeClaudeSettings);
  await inspect(".claude/settings.local.json", "claude", judgeClaudeSettings);
  await inspect(".mcp.json", "claude", judgeMcpJson);
  // Agents and skills may carry their own hooks and MCP servers in their frontmatter.
  for (const name of await list(".claude/agents")) if (name.endsWith(".md")) await inspect(`.claude/agents/${name}`, "claude", judgeFrontmatter);
  for (const name of await list(".claude/skills")) await inspect(`.claude/skills/${name}/SKILL.md`, "claude", judgeFrontmatter);
  await inspectSymlinkedDir(".claude", "claude");

  // Claude Code reads project settings from the folder it is launched in, and /workspace's trust
  // covers every folder below it: a nested project's settings count as much as the root's.
  const nested = await findNestedClaudeProjects(reader);
  for (const dir of nested.dirs) {
    await inspect(`${dir}/.claude/settings.json`, "claude", judgeClaudeSettings);
    await inspect(`${dir}/.claude/settings.local.json`, "claude", judgeClaudeSettings);
    await inspect(`${dir}/.mcp.json`, "claude", judgeMcpJson);
  }
  result.partial = nested.partial;

  for (const name of await list(".codex")) if (/\.(toml|json)$/.test(name)) await inspect(`.codex/${name}`, "codex", name.endsWith(".toml") ? judgeToml : judgeAnyJson);
  await inspectSymlinkedDir(".codex", "codex");

  await inspect(".gemini/settings.json", "gemini", (text) => judgeAllowlisted(parseJson(text), GEMINI_BENIGN_KEYS));
  await inspect(".gemini/.env", "gemini", (text) => envNames(text));
  await inspect(".env", "gemini", (text) => envNames(text).filter((name) => GEMINI_DOTENV_RISKY.test(name)));
  for (const name of await list(".gemini/extensions")) result.findings.push({ file: `.gemini/extensions/${name}`, agent: "gemini", keys: ["extension (runs its own MCP servers and commands)"] });
  await inspectSymlinkedDir(".gemini", "gemini");

  for (const file of ["opencode.json", "opencode.jsonc", ".opencode/opencode.json", ".opencode/opencode.jsonc"]) {
    await inspect(file, "opencode", (text) => judgeAllowlisted(parseJson(stripJsonComments(text)), OPENCODE_BENIGN_KEYS));
  }
  for (const dir of [".opencode/plugin", ".opencode/plugins", ".opencode/tool", ".opencode/tools"]) {
    for (const name of await list(dir)) {
      result.findings.push({ file: `${dir}/${name}`, agent: "opencode", keys: [dir.includes("plugin") ? "plugin (code opencode runs)" : "custom tool (code opencode runs)"] });
      result.seen.push({ file: `${dir}/${name}`, digest: digestEntry(await reader.read(`${dir}/${name}`)) });
    }
  }
  await inspectSymlinkedDir(".opencode", "opencode");
  return result;

  /** A whole config directory that is a symlink hides everything in it from the checks above. */
  async function inspectSymlinkedDir(dir: string, agent: ConfigAgent) {
    const entry = await reader.read(dir);
    if (entry.status === "symlink") {
      result.seen.push({ file: dir, digest: digestEntry(entry) });
      result.findings.push({ file: dir, agent, keys: entryProblem(entry) });
    }
  }
}

function judgeText(content: Buffer, judge: (text: string) => string[]): string[] {
  try {
    return judge(content.toString("utf8"));
  } catch (error) {
    return [`unparseable (${(error as Error).message.split("\n")[0]?.slice(0, 80) ?? "error"}): sbx cannot tell what it does`];
  }
}

function entryProblem(entry: Exclude<WorkspaceEntry, { status: "file" | "absent" }>): string[] {
  switch (entry.status) {
    case "symlink":
      return [entry.realPath === undefined ? "symlink to a path that does not exist on the host (the sandbox may resolve it)" : `symlink to ${entry.realPath}${entry.outside ? ", outside the workspace" : ""}`];
    case "too-large":
      return [`${entry.bytes} bytes, more than sbx inspects`];
    case "not-regular":
      return ["not a regular file"];
    case "unreadable":
      return [`unreadable (${entry.code})`];
    case "directory":
      return ["a directory where a file belongs"];
  }
}

function digestEntry(entry: WorkspaceEntry): string {
  const hash = createHash("sha256").update(entry.status);
  if (entry.status === "file") hash.update(entry.content);
  else if (entry.status === "symlink") hash.update(String(entry.realPath));
  else if (entry.status === "directory") hash.update(entry.names.join("\0"));
  else if (entry.status === "too-large") hash.update(String(entry.bytes));
  return hash.digest("hex");
}

function parseJson(text: string): unknown {
  return JSON.parse(text);
}

function asObject(value: unknown, what = "the file"): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

const UNKNOWN = "(unknown to sbx)";
function judgeAllowlisted(value: unknown, benign: ReadonlySet<string>): string[] {
  return Object.keys(asObject(value)).filter((key) => !benign.has(key)).map((key) => (KNOWN_RISKY[key] ? key : `${key} ${UNKNOWN}`));
}

/** Keys whose risk sbx knows, so the audit names them without "(unknown to sbx)". */
const KNOWN_RISKY: Record<string, true> = Object.fromEntries(
  [
    "env",
    "hooks",
    "apiKeyHelper",
    "awsAuthRefresh",
    "awsCredentialExport",
    "otelHeadersHelper",
    "statusLine",
    "subagentStatusLine",
    "fileSuggestion",
    "enableAllProjectMcpServers",
    "enabledMcpjsonServers",
    "mcpServers",
    "enabledPlugins",
    "extraKnownMarketplaces",
    "forceLoginMethod",
    "forceLoginOrgUUID",
    "sandbox",
    // Gemini CLI
    "mcp",
    "tools",
    "advanced",
    "security",
    "telemetry",
    "extensions",
    "general",
    "toolDiscoveryCommand",
    "toolCallCommand",
    "excludedProjectEnvVars",
    // opencode
    "provider",
    "plugin",
    "permission",
    "formatter",
    "lsp",
    "command",
    "agent",
    "mode",
    "experimental",
    // `"share": "auto"` publishes every conversation at a public link.
    "share",
  ].map((key) => [key, true]),
);

function judgeClaudeSettings(text: string): string[] {
  const settings = asObject(parseJson(text));
  const keys = judgeAllowlisted(settings, CLAUDE_BENIGN_KEYS);
  const permissions = settings.permissions;
  if (permissions !== undefined) {
    const object = asObject(permissions, "permissions");
    const allow = Array.isArray(object.allow) ? object.allow.filter((rule): rule is string => typeof rule === "string" && CLAUDE_RISKY_ALLOW.test(rule)) : [];
    if (allow.length) keys.push(`permissions.allow (${allow.slice(0, 3).join(", ")}${allow.length > 3 ? ", …" : ""})`);
    if (typeof object.defaultMode === "string" && CLAUDE_UNATTENDED_MODES.has(object.defaultMode)) keys.push(`permissions.defaultMode (${object.defaultMode})`);
    if (object.additionalDirectories !== undefined) keys.push("permissions.additionalDirectories");
    for (const key of Object.keys(object)) if (!["allow", "deny", "ask", "defaultMode", "additionalDirectories", "disableBypassPermissionsMode"].includes(key)) keys.push(`permissions.${key} ${UNKNOWN}`);
  }
  return keys;
}

function judgeMcpJson(text: string): string[] {
  const config = asObject(parseJson(text));
  const servers = config.mcpServers === undefined ? {} : asObject(config.mcpServers, "mcpServers");
  const keys = Object.keys(servers).map((name) => `mcpServers.${name}`);
  for (const key of Object.keys(config)) if (key !== "mcpServers") keys.push(`${key} ${UNKNOWN}`);
  return keys;
}

function judgeAnyJson(text: string): string[] {
  const keys = Object.keys(asObject(parseJson(text)));
  return keys.length ? keys : ["(empty object)"];
}

/**
 * A project `config.toml` for Codex: every top-level key and table is named (model_providers,
 * mcp_servers, notify, shell_environment_policy, …). Not a TOML parser: it only needs the names,
 * and any file at all is a finding.
 */
function judgeToml(text: string): string[] {
  const keys = new Set<string>();
  let table: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const header = /^\[\[?\s*([^\]]+?)\s*\]\]?/.exec(line);
    if (header) {
      table = header[1];
      keys.add(table as string);
      continue;
    }
    const key = /^([A-Za-z0-9_."-]+)\s*=/.exec(line)?.[1];
    if (key && table === undefined) keys.add(key);
  }
  return keys.size ? [...keys] : ["(a Codex config file)"];
}

/** Names set in a dotenv file (`NAME=…`, `export NAME=…`); any other non-comment line is unparseable. */
function envNames(text: string): string[] {
  const names: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const name = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=/.exec(line)?.[1];
    if (name) names.push(name);
  }
  return names;
}

/** Frontmatter of an agent or skill definition: `hooks:` and `mcpServers:` run code. */
function judgeFrontmatter(text: string): string[] {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (!match) return [];
  return (match[1] as string)
    .split(/\r?\n/)
    .map((line) => /^([A-Za-z][A-Za-z0-9_-]*)\s*:/.exec(line)?.[1])
    .filter((key): key is string => key === "hooks" || key === "mcpServers");
}

/** JSONC → JSON: drops comments and trailing commas, outside strings. */
export function stripJsonComments(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (char === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      out += text.slice(start, i + 1);
    } else if (char === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (char === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 1;
    } else out += char;
  }
  return out.replace(/,(\s*[}\]])/g, "$1");
}

// ---------------------------------------------------------------------------------------------
// The decision, and the host-side memory of "I trust this project on purpose".

export interface WorkspaceTrust {
  /** Whether sbx pre-accepts Claude Code's folder trust for /workspace. */
  trusted: boolean;
  /**
   * - `no-agent-config`: nothing that can redirect traffic or run code (the zero-config case)
   * - `flag`: `--trust-workspace` on this command
   * - `remembered`: trusted earlier with `--trust-workspace`, and the files are unchanged
   * - `untrusted`: findings, and no decision of the user's covers them
   */
  reason: "no-agent-config" | "flag" | "remembered" | "untrusted";
  findings: AgentConfigFinding[];
  /** sha256 over every inspected file: a remembered decision holds only while it is the same. */
  fingerprint: string;
  /** Where the decision is remembered on the host. */
  store: string;
  /** When the remembered decision was made (ISO). */
  trustedAt?: string;
  /** The walk for nested projects hit its bound (5000 folders, depth 8); deeper folders were not inspected. */
  partial?: boolean;
}

interface TrustStore {
  version: 1;
  projects: Record<string, { fingerprint: string; trustedAt: string; files: string[] }>;
}

export function trustStorePath(home: string, env: Readonly<Record<string, string | undefined>>): string {
  return join(sbxConfigDir(home, env), "trusted-projects.json");
}

/**
 * Decides whether sbx pre-accepts folder trust for this workspace. `projectDir` must be the real
 * path (the sandbox identity's): the remembered decision is keyed by it.
 */
export async function decideWorkspaceTrust(options: {
  projectDir: string;
  reader: WorkspaceReader;
  home: string;
  env: Readonly<Record<string, string | undefined>>;
  /** `--trust-workspace`. @default false */
  trustWorkspace?: boolean;
}): Promise<WorkspaceTrust> {
  const { findings, seen, partial } = await scanWorkspace(options.reader);
  const fingerprint = createHash("sha256").update(JSON.stringify(seen)).digest("hex");
  const store = trustStorePath(options.home, options.env);
  const base = { findings, fingerprint, store, ...(partial ? { partial } : {}) };
  if (findings.length === 0) return { trusted: true, reason: "no-agent-config", ...base };
  if (options.trustWorkspace) return { trusted: true, reason: "flag", ...base };
  const remembered = (await readTrustStore(store)).projects[options.projectDir];
  if (remembered && remembered.fingerprint === fingerprint) return { trusted: true, reason: "remembered", trustedAt: remembered.trustedAt, ...base };
  return { trusted: false, reason: "untrusted", ...base };
}

/** Remembers `--trust-workspace` on the host, for this project and these exact files. */
export async function rememberWorkspaceTrust(projectDir: string, trust: WorkspaceTrust, now = new Date()): Promise<void> {
  if (trust.reason !== "flag") return;
  const store = await readTrustStore(trust.store);
  store.projects[projectDir] = { fingerprint: trust.fingerprint, trustedAt: now.toISOString(), files: trust.findings.map((finding) => finding.file) };
  await writeFileAtomic(trust.store, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
}

async function readTrustStore(path: string): Promise<TrustStore> {
  let raw: string;
  try {
    raw = await readFile(path, "utf8");
  } catch {
    return { version: 1, projects: {} };
  }
  try {
    const parsed = JSON.parse(raw) as Partial<TrustStore>;
    if (typeof parsed.projects === "object" && parsed.projects !== null && !Array.isArray(parsed.projects)) return { version: 1, projects: parsed.projects };
  } catch {
    // A damaged store trusts nothing (fail closed); the next --trust-workspace rewrites it.
  }
  return { version: 1, projects: {} };
}

/**
 * Delivers the decision through the login pipe: the derived `.claude.json` always states it
 * (never leaves an earlier project's `true` standing on the shared per-login volume).
 */
export function applyWorkspaceTrust<
  Plan extends { logins: Array<{ status: string; provider: string; files?: Array<{ name: string; content: Buffer }> }>; audit: { workspaceTrust?: WorkspaceTrust }; trustWorkspace?: boolean },
>(plan: Plan, trust: WorkspaceTrust): Plan {
  plan.audit.workspaceTrust = trust;
  // The other agents' first-run state (Codex, Gemini, opencode) follows the same decision.
  plan.trustWorkspace = trust.trusted;
  for (const login of plan.logins) {
    if (login.status !== "found" || login.provider !== "claude") continue;
    for (const file of login.files ?? []) if (file.name === "claude-config") file.content = withClaudeWorkspaceTrust(file.content, trust.trusted);
  }
  return plan;
}

/** The audit rows for the trust decision: each risky file with its keys, then the decision. */
export function formatWorkspaceTrust(trust: WorkspaceTrust): Array<[string, string]> {
  const rows: Array<[string, string]> = trust.findings.map((finding) => ["agent cfg", `${finding.file} (${finding.agent}): ${finding.keys.join(", ")}`]);
  if (trust.partial) rows.push(["agent cfg", "the search for nested projects stopped after 5000 folders: a .claude/ deeper in this tree was not inspected"]);
  switch (trust.reason) {
    case "no-agent-config":
      rows.push(["trust", `${"/workspace"} pre-trusted for Claude Code: no agent configuration here can redirect traffic or run code`]);
      break;
    case "flag":
      rows.push(["trust", `pre-trusted on purpose (--trust-workspace); remembered in ${trust.store} until the files above change`]);
      break;
    case "remembered":
      rows.push(["trust", `pre-trusted: you trusted these exact files with --trust-workspace${trust.trustedAt ? ` on ${trust.trustedAt.slice(0, 10)}` : ""} (${trust.store})`]);
      break;
    case "untrusted":
      rows.push([
        "trust",
        "NOT pre-trusted: the files above can redirect where your login is sent or run code, so Claude Code asks before loading them (as on your host); " +
          "codex, gemini and opencode may load theirs without asking. Read them; to trust this project on purpose, run with --trust-workspace (remembered on this host until they change).",
      ]);
      break;
  }
  return rows;
}
