import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { isAbsolute, join, posix } from "node:path";
import { writeFileAtomic } from "@sbx/atomic-file";
import { createRefusePolicy } from "@sbx/boundary-policy";
import { hostWorkspaceReader, type WorkspaceEntry, type WorkspaceReader } from "./workspace-reader.js";

/**
 * Hole 16: the agent can write the workspace, and the host later executes some of what is in it:
 * git hooks and command-running git config (`git commit` runs `core.fsmonitor` and
 * `.git/hooks/pre-commit`), `.envrc` (direnv), editor tasks, dev-container definitions. sbx cannot
 * forbid writing them, so it snapshots them on the host when a session starts and reports every
 * change when it ends, with the diff. Nothing here executes anything: `.git/config` is read as a
 * file with a small INI parser, never through `git`.
 */

/** What sbx keeps of one file: its text when small and printable, else only its size and hash. */
export type SnapshotEntry =
  | { kind: "file"; mode: number; bytes: number; sha256: string; text?: string }
  /** Only the command-running keys of a git config, one `key = value` line each. */
  | { kind: "git-config"; lines: string[] }
  | { kind: "other"; what: string };

export interface HostExecSnapshot {
  version: 1;
  takenAt: string;
  entries: Record<string, SnapshotEntry>;
}

export interface HostExecChange {
  file: string;
  change: "added" | "removed" | "changed";
  /** Diff lines (`+ …`, `- …`, or a one-line summary), bounded and with control characters escaped. */
  diff: string[];
}

/** Text kept per file for the diff. */
const MAX_TEXT_BYTES = 64 * 1024;
/** Files kept per recursive directory (`.devcontainer/`, `.husky/`). */
const MAX_TREE_FILES = 200;
/** Diff lines shown per file, and in all. */
const MAX_DIFF_LINES_PER_FILE = 40;
const MAX_DIFF_LINES = 400;

/** Files the host runs or that tell a host tool what to run. */
const PLAIN_FILES = [".envrc", ".vscode/tasks.json", ".vscode/settings.json", ".vscode/launch.json", ".pre-commit-config.yaml", ".git/info/attributes"];
const TREES = [".devcontainer", ".husky"];

/**
 * Git config keys that make git run a command, load other config, or send credentials or
 * traffic elsewhere (section and key lower-cased, subsection as written).
 */
const COMMAND_KEYS = [
  /^core\.(fsmonitor|hookspath|sshcommand|editor|pager|askpass|gitproxy|worktree|attributesfile|alternaterefscommand)$/,
  /^sequence\.editor$/,
  /^diff\.external$/,
  /^diff\..+\.(textconv|command)$/,
  /^merge\..+\.driver$/,
  /^filter\..+\.(clean|smudge|process)$/,
  /^alias\./,
  /^credential\.(.+\.)?helper$/,
  /^gpg\.(.+\.)?program$/,
  /^include\.path$/,
  /^includeif\..+\.path$/,
  /^url\..+\.(insteadof|pushinsteadof)$/,
  /^remote\..+\.(url|pushurl|uploadpack|receivepack|proxy)$/,
  /^https?\.(.+\.)?(proxy|sslcainfo|sslcapath|sslverify|extraheader|cookiefile)$/,
  /^pager\./,
  /^interactive\.difffilter$/,
  /^web\.browser$/,
  /^(browser|man|difftool|mergetool)\..+\.(cmd|path)$/,
  /^submodule\..+\.update$/,
  /^uploadpack\.packobjectshook$/,
  /^ssh\.variant$/,
  /^protocol\./,
  /^sendemail\.(.+\.)?(smtpserver|tocmd|cccmd)$/,
  /^extensions\.worktreeconfig$/,
];

/** `.gitattributes` lines that hand files to a driver the config names. */
const ATTRIBUTE_DRIVERS = /(^|\s)-?!?(filter|diff|merge|textconv)(=|\s|$)/;

/** Snapshots the files the host executes, reading only through `reader` (no symlink followed). */
export async function snapshotHostExecuted(reader: WorkspaceReader, now = new Date()): Promise<HostExecSnapshot> {
  const entries: Record<string, SnapshotEntry> = {};
  const record = (file: string, entry: WorkspaceEntry) => {
    if (entry.status === "absent") return;
    entries[file] = toEntry(entry);
  };

  const git = await reader.read(".git");
  if (git.status === "directory") {
    let hooksPath: string | undefined;
    const configs = [".git/config", ".git/config.worktree"];
    for (let index = 0; index < configs.length && index < 10; index++) {
      const file = configs[index] as string;
      const entry = await reader.read(file);
      if (entry.status !== "file") {
        record(file, entry);
        continue;
      }
      const settings = parseGitConfig(entry.content.toString("utf8"));
      entries[file] = { kind: "git-config", lines: settings.filter((setting) => COMMAND_KEYS.some((rule) => rule.test(setting.key))).map((setting) => `${setting.key} = ${setting.value}`) };
      hooksPath = settings.findLast((setting) => setting.key === "core.hookspath")?.value ?? hooksPath;
      // A relative include is read from the workspace too: its keys count as this file's.
      for (const setting of settings) {
        if (!/^include(if\..+)?\.path$/.test(setting.key) || isAbsolute(setting.value) || setting.value.startsWith("~")) continue;
        const included = posix.normalize(posix.join(posix.dirname(file), setting.value));
        if (!included.startsWith("..") && !configs.includes(included)) configs.push(included);
      }
    }
    for (const dir of [".git/hooks", ...(hooksPath && !isAbsolute(hooksPath) && !hooksPath.startsWith("~") ? [posix.normalize(hooksPath)] : [])]) {
      if (dir.startsWith("..")) continue;
      const listing = await reader.read(dir);
      if (listing.status !== "directory") {
        if (dir !== ".git/hooks") record(dir, listing);
        continue;
      }
      for (const name of listing.names) if (!name.endsWith(".sample")) record(`${dir}/${name}`, await reader.read(`${dir}/${name}`));
    }
  } else {
    // A `.git` file points git elsewhere (a worktree); its content is what to watch.
    record(".git", git);
  }

  const attributes = await reader.read(".gitattributes");
  if (attributes.status === "file") {
    entries[".gitattributes"] = { kind: "git-config", lines: attributes.content.toString("utf8").split(/\r?\n/).filter((line) => !line.trimStart().startsWith("#") && ATTRIBUTE_DRIVERS.test(line)) };
  } else record(".gitattributes", attributes);

  for (const file of PLAIN_FILES) record(file, await reader.read(file));
  for (const tree of TREES) await walk(tree, 0);
  return { version: 1, takenAt: now.toISOString(), entries };

  async function walk(dir: string, depth: number): Promise<void> {
    const listing = await reader.read(dir);
    if (listing.status !== "directory") return record(dir, listing);
    for (const name of listing.names) {
      if (Object.keys(entries).filter((key) => key.startsWith(`${dir}/`)).length >= MAX_TREE_FILES) return;
      const path = `${dir}/${name}`;
      const entry = await reader.read(path);
      if (entry.status === "directory" && depth < 4) await walk(path, depth + 1);
      else record(path, entry);
    }
  }
}

function toEntry(entry: Exclude<WorkspaceEntry, { status: "absent" }>): SnapshotEntry {
  switch (entry.status) {
    case "file": {
      const printable = entry.content.length <= MAX_TEXT_BYTES && !entry.content.includes(0);
      return { kind: "file", mode: entry.mode, bytes: entry.content.length, sha256: createHash("sha256").update(entry.content).digest("hex"), ...(printable ? { text: entry.content.toString("utf8") } : {}) };
    }
    case "symlink":
      return { kind: "other", what: entry.realPath ? `a symlink to ${entry.realPath}` : "a symlink to a path that does not exist on the host" };
    case "directory":
      return { kind: "other", what: `a directory (${entry.names.length} entries)` };
    case "too-large":
      return { kind: "other", what: `${entry.bytes} bytes (too large to keep)` };
    case "not-regular":
      return { kind: "other", what: "not a regular file" };
    case "unreadable":
      return { kind: "other", what: `unreadable (${entry.code})` };
  }
}

/**
 * Git's config format, as far as finding keys needs: `[section]`, `[section "sub"]`,
 * `[section.sub]`, `key = value`, a bare `key` (true), `;`/`#` comments, quotes, backslash
 * escapes and continuation lines. Keys come back as `section[.sub].name`, section and name
 * lower-cased (git compares them case-insensitively), the subsection as written.
 */
export function parseGitConfig(text: string): Array<{ key: string; value: string }> {
  const settings: Array<{ key: string; value: string }> = [];
  const lines = text.split(/\r?\n/);
  let section = "";
  for (let index = 0; index < lines.length; index++) {
    let line = (lines[index] as string).trim();
    if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    if (line.startsWith("[")) {
      const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\](.*)$/.exec(line);
      if (!header) {
        section = "?";
        continue;
      }
      const [name, ...rest] = (header[1] as string).split(".");
      const sub = header[2] !== undefined ? header[2].replace(/\\(.)/g, "$1") : rest.length ? rest.join(".").toLowerCase() : undefined;
      section = sub !== undefined ? `${(name as string).toLowerCase()}.${sub}` : (name as string).toLowerCase();
      line = (header[3] as string).trim();
      if (!line || line.startsWith("#") || line.startsWith(";")) continue;
    }
    const key = /^([A-Za-z][A-Za-z0-9-]*)\s*(=?)\s*(.*)$/.exec(line);
    if (!key) continue;
    let raw = key[3] as string;
    while (raw.endsWith("\\") && !raw.endsWith("\\\\") && index + 1 < lines.length) raw = raw.slice(0, -1) + (lines[++index] as string);
    settings.push({ key: `${section}.${(key[1] as string).toLowerCase()}`, value: key[2] ? unquoteGitValue(raw) : "true" });
  }
  return settings;
}

function unquoteGitValue(raw: string): string {
  let out = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i] as string;
    if (char === '"') quoted = !quoted;
    else if (char === "\\" && i + 1 < raw.length) {
      const next = raw[++i] as string;
      out += next === "n" ? "\n" : next === "t" ? "\t" : next === "b" ? "\b" : next;
    } else if (!quoted && (char === "#" || char === ";")) break;
    else out += char;
  }
  return out.trim();
}

/** Every change between two snapshots, with a bounded diff each. */
export function diffSnapshots(before: HostExecSnapshot, after: HostExecSnapshot): HostExecChange[] {
  const changes: HostExecChange[] = [];
  let budget = MAX_DIFF_LINES;
  for (const file of [...new Set([...Object.keys(before.entries), ...Object.keys(after.entries)])].sort()) {
    const old = before.entries[file];
    const now = after.entries[file];
    if (old && now && JSON.stringify(old) === JSON.stringify(now)) continue;
    const change: HostExecChange["change"] = !old ? "added" : !now ? "removed" : "changed";
    let diff = entryDiff(old, now);
    if (diff.length > budget) diff = [...diff.slice(0, Math.max(budget, 0)), `… (${diff.length - Math.max(budget, 0)} more lines not shown)`];
    budget -= diff.length;
    changes.push({ file, change, diff });
  }
  return changes;
}

function entryDiff(old: SnapshotEntry | undefined, now: SnapshotEntry | undefined): string[] {
  const lines = (entry: SnapshotEntry | undefined): string[] | undefined => {
    if (!entry) return [];
    if (entry.kind === "git-config") return entry.lines;
    if (entry.kind === "file" && entry.text !== undefined) return entry.text.replace(/\n$/, "").split("\n");
    return undefined;
  };
  const summary = (entry: SnapshotEntry | undefined) =>
    !entry ? "(none)" : entry.kind === "other" ? entry.what : entry.kind === "file" ? `${entry.bytes} bytes, sha256 ${entry.sha256.slice(0, 16)}…` : `${entry.lines.length} lines`;
  const notes: string[] = [];
  if (old?.kind === "file" && now?.kind === "file" && old.mode !== now.mode) notes.push(`mode ${old.mode.toString(8)} → ${now.mode.toString(8)}`);
  if (!old && now?.kind === "file") notes.push(`new file, mode ${now.mode.toString(8)}${now.mode & 0o111 ? " (executable)" : ""}`);
  const [a, b] = [lines(old), lines(now)];
  if (a === undefined || b === undefined) return [...notes, `${summary(old)} → ${summary(now)}`].map(visible);
  return [...notes, ...lineDiff(a, b)].map(visible);
}

/** A line diff by longest common subsequence; inputs are bounded by MAX_TEXT_BYTES. */
function lineDiff(a: string[], b: string[]): string[] {
  if (a.length * b.length > 4_000_000) return [`${a.length} lines → ${b.length} lines (too long to diff here)`];
  const table = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) (table[i] as Uint32Array)[j] = a[i] === b[j] ? ((table[i + 1] as Uint32Array)[j + 1] as number) + 1 : Math.max((table[i + 1] as Uint32Array)[j] as number, (table[i] as Uint32Array)[j + 1] as number);
  }
  const out: string[] = [];
  let [i, j] = [0, 0];
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) [i, j] = [i + 1, j + 1];
    else if (i < a.length && (j >= b.length || ((table[i + 1] as Uint32Array)[j] as number) >= ((table[i] as Uint32Array)[j + 1] as number))) out.push(`- ${a[i++]}`);
    else out.push(`+ ${b[j++]}`);
  }
  if (out.length > MAX_DIFF_LINES_PER_FILE) return [...out.slice(0, MAX_DIFF_LINES_PER_FILE), `… (${out.length - MAX_DIFF_LINES_PER_FILE} more changed lines)`];
  return out;
}

/** Built-in token formats only: the report must not print a login the agent copied into a hook. */
const redactor = createRefusePolicy();

/**
 * The agent wrote these bytes: escape control characters so they cannot drive the terminal, and
 * redact any well-known token format.
 */
function visible(line: string): string {
  // eslint-disable-next-line no-control-regex
  return redactor.redact(line).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The warning block for stderr; empty when nothing changed. */
export function formatHostExecReport(changes: HostExecChange[], projectDir: string): string {
  if (changes.length === 0) return "";
  const lines = [`sbx: WARNING: files your host executes changed in ${projectDir} since sbx last looked (the sandbox can write them):`];
  for (const change of changes) {
    lines.push(`  ${change.file} (${change.change})`);
    for (const line of change.diff) lines.push(`      ${line}`);
  }
  lines.push("  Read these before running git, direnv, your editor or a dev container on this project on the host: they run with your host account. sbx ran none of them.");
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// Where the baseline lives, and the session hooks `up`, `run` and `down` call.

/** `${XDG_STATE_HOME:-~/.local/state}/sbx/host-exec/<project id>.json`. */
export function hostExecSnapshotPath(home: string, env: Readonly<Record<string, string | undefined>>, projectId: string): string {
  // The XDG spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  const stateHome = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(home, ".local", "state");
  return join(stateHome, "sbx", "host-exec", `${projectId}.json`);
}

export interface HostExecWatch {
  projectDir: string;
  snapshotPath: string;
}

async function readSnapshot(path: string): Promise<HostExecSnapshot | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as HostExecSnapshot;
    return parsed.version === 1 && typeof parsed.entries === "object" && parsed.entries !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Compares the workspace with the baseline (if one is stored), then stores the current state as
 * the new baseline, or removes it when `end` (the sandbox is gone). Returns the changes.
 */
export async function checkHostExecuted(watch: HostExecWatch, options: { end?: boolean; now?: Date } = {}): Promise<HostExecChange[]> {
  const current = await snapshotHostExecuted(await hostWorkspaceReader(watch.projectDir), options.now);
  const baseline = await readSnapshot(watch.snapshotPath);
  const changes = baseline ? diffSnapshots(baseline, current) : [];
  if (options.end) await rm(watch.snapshotPath, { force: true });
  else await writeFileAtomic(watch.snapshotPath, JSON.stringify(current), { mode: 0o600 });
  return changes;
}

/**
 * The session hook: `check()` reports (through `log`) what changed since the stored baseline and
 * stores a new one; `check({ end: true })` reports and drops it. A failure to look is reported,
 * never fatal: it must not keep a user out of their sandbox.
 */
export function watchHostExecuted(options: { projectDir: string; projectId: string; home: string; env: Readonly<Record<string, string | undefined>>; log: (line: string) => void }): { check(flags?: { end?: boolean }): Promise<HostExecChange[]> } {
  const watch = { projectDir: options.projectDir, snapshotPath: hostExecSnapshotPath(options.home, options.env, options.projectId) };
  return {
    async check(flags = {}) {
      try {
        const changes = await checkHostExecuted(watch, flags);
        const report = formatHostExecReport(changes, options.projectDir);
        if (report) options.log(report.trimEnd());
        return changes;
      } catch (error) {
        options.log(`sbx: could not check the files your host executes in ${options.projectDir}: ${(error as Error).message}`);
        return [];
      }
    },
  };
}
