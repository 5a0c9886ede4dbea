/**
 * The sandbox's state layout, set up by the entrypoint at every start (`idle`) and before every
 * install. Both run at once when a sandbox starts, and several `sbx up` may install at once, so
 * every step here is safe to run concurrently with itself: directories are made EEXIST-tolerantly,
 * links are swapped in by renaming a uniquely named new link over the old, and anything moved
 * aside is checked to be what was seen (by inode), so a racing start-up's fresh work is never
 * moved aside by mistake.
 *
 * It also repairs what a hostile or careless agent left in the way (a file where a store's link
 * belongs, a link where a state directory belongs): moved aside, never deleted, never followed.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, type Stats } from "node:fs";
import { dirname, join } from "node:path";
import { PROJECT_STORES } from "../session-stores.js";
import { copyTreeSync } from "./copy-tree.js";

export interface StateLayoutOptions {
  /** The sandbox user's home. */
  home: string;
  /** sbx's id of the project (SBX_PROJECT_ID); absent when the container was started by hand. */
  projectId?: string | undefined;
  /** Where repairs are reported. @default stderr */
  log?: (line: string) => void;
}

/** Each agent's own state directory lives on the per-login volume, reached through a link in the home. */
export const STATE_LINKS: ReadonlyArray<[link: string, target: string]> = [
  [".claude", "claude"],
  [".codex", "codex"],
  [".gemini", "gemini"],
  [".local/share/opencode", "opencode"],
  [".config/opencode", "opencode-config"],
  // A cloud login's Application Default Credentials (issue 9's `cloudLogins`), a login file like the others.
  [".config/gcloud", "gcloud"],
  // Claude's config, at the path Claude uses when CLAUDE_CONFIG_DIR is unset (see the Dockerfile).
  [".claude.json", "claude/.claude.json"],
];
const STATE_DIRS = ["claude", "codex", "gemini", "opencode", "opencode-config", "gcloud"];

/**
 * The stores where agents keep past conversations. Each one on the per-login volume is a link to
 * the same store in `~/.sbx/project`, where the project's own volume is mounted: only this
 * project's sandbox mounts it, so another project's sandbox cannot list or read them at all.
 */
export { PROJECT_STORES };
export const PROJECT_DIR = ".sbx/project";

const RETRIES = 50;
const RACE_CODES = new Set(["ENOENT", "EEXIST", "EISDIR", "ENOTEMPTY", "ENOTDIR"]);
const errorCode = (error: unknown) => (error as NodeJS.ErrnoException).code ?? "";
const unique = () => `${process.pid}-${randomBytes(4).toString("hex")}`;

/** The layout's failures: they name the path and the real cause, and a fix that works. */
export class StateLayoutError extends Error {
  override readonly name = "StateLayoutError";
}

export function ensureStateLayout(options: StateLayoutOptions): void {
  try {
    setUpStateLayout(options);
  } catch (error) {
    if (error instanceof StateLayoutError) throw error;
    // Anything unforeseen still names the path it failed on, its cause and a fix.
    throw cannotRepair((error as NodeJS.ErrnoException).path ?? join(options.home, ".llm"), error);
  }
}

function setUpStateLayout(options: StateLayoutOptions): void {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stateDir = join(options.home, ".llm");
  const projectDir = join(options.home, PROJECT_DIR);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  for (const dir of STATE_DIRS) ensureDirectory(join(stateDir, dir), log);
  for (const [link, target] of STATE_LINKS) {
    // `~/.local` and `~/.local/share` must be real directories: a file or a link planted there
    // would fail the link below, or carry it elsewhere.
    const parts = link.split("/").slice(0, -1);
    for (let depth = 1; depth <= parts.length; depth += 1) ensureDirectory(join(options.home, ...parts.slice(0, depth)), log);
    ensureLink(join(options.home, link), join(stateDir, target), log, "in-the-way");
  }
  mkdirSync(projectDir, { recursive: true, mode: 0o700 });
  for (const store of PROJECT_STORES) mkdirSync(join(projectDir, store), { recursive: true, mode: 0o700 });
  const id = validProjectId(options.projectId);
  if (id && isMountPoint(projectDir)) migrateProjectConversations({ stateDir, projectDir, projectId: id, log });
  for (const store of PROJECT_STORES) {
    // A store from before projects were kept apart is moved aside as `<store>.before-per-project`:
    // which project each conversation belongs to is unknowable (all ran in /workspace).
    ensureLink(join(stateDir, store), join(projectDir, store), log, "before-per-project");
  }
}

function validProjectId(projectId: string | undefined): string | undefined {
  return projectId && /^[a-z0-9_.-]+$/.test(projectId) && !/^\.+$/.test(projectId) ? projectId : undefined;
}

/**
 * Whether the project's own volume is mounted at `path` (both volumes sit on one host filesystem,
 * so st_dev cannot tell). Without it (a container started by hand) nothing is migrated: moving
 * conversations off the login volume onto the home's tmpfs would lose them.
 */
function isMountPoint(path: string): boolean {
  let mountinfo: string;
  try {
    mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return false;
  }
  const real = realpathSync(path);
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
  return mountinfo.split("\n").some((line) => unescape(line.split(" ")[4] ?? "") === real);
}

/**
 * Moves this project's conversations out of the shared login volume (`~/.llm/by-project/<id>`,
 * where sbx kept them before each project had its own volume) into the project's volume, so no
 * other project's sandbox can read them any longer. The directory is first claimed by renaming it
 * (only one concurrent start-up wins), copied without following links, then removed. A copy cut
 * short stays claimed on the shared volume and the next start-up finishes it.
 */
export function migrateProjectConversations(options: { stateDir: string; projectDir: string; projectId: string; log: (line: string) => void }): void {
  const byProject = join(options.stateDir, "by-project");
  let names: string[];
  try {
    names = readdirSync(byProject);
  } catch {
    return;
  }
  const claimed = `${options.projectId}.moving-`;
  for (const name of names.filter((entry) => entry === options.projectId || entry.startsWith(claimed))) {
    const source = join(byProject, name);
    if (!lstatSync(source, { throwIfNoEntry: false })?.isDirectory()) continue;
    const staging = join(byProject, `${claimed}${unique()}`);
    try {
      renameSync(source, staging);
    } catch (error) {
      if (RACE_CODES.has(errorCode(error))) continue; // another start-up claimed it first
      throw error;
    }
    try {
      copyTreeSync(staging, options.projectDir);
      rmSync(staging, { recursive: true, force: true });
      options.log(`sbx: moved this project's conversations from the shared login volume (by-project/${options.projectId}) to its own volume`);
    } catch (error) {
      // Another start-up claimed the staging copy from under this one; it finishes the move.
      if (!RACE_CODES.has(errorCode(error))) throw error;
    }
  }
}

/** Makes `path` a real directory, moving a link or file standing there aside first. */
function ensureDirectory(path: string, log: (line: string) => void): void {
  for (let attempt = 0; attempt < RETRIES; attempt += 1) {
    const current = lstatSync(path, { throwIfNoEntry: false });
    if (current?.isDirectory()) return;
    if (current) {
      attemptRepair(path, () => moveAside(path, current, "in-the-way", log));
      continue;
    }
    attemptRepair(path, () => {
      try {
        mkdirSync(path, { mode: 0o700 });
      } catch (error) {
        if (!RACE_CODES.has(errorCode(error))) throw error;
      }
    });
  }
  throw keepsChanging(path);
}

/**
 * Points `path` at `target`: a fresh, uniquely named link renamed over whatever link stands there,
 * so a reader (another project's sandbox, the other start-up) sees the old link or the new one.
 */
function ensureLink(path: string, target: string, log: (line: string) => void, directorySuffix: string): void {
  for (let attempt = 0; attempt < RETRIES; attempt += 1) {
    const current = lstatSync(path, { throwIfNoEntry: false });
    if (current?.isSymbolicLink()) {
      // A racing start-up may move the link away between the look and the read: look again then.
      const points = linkTarget(path);
      if (points === target) return;
      if (points === undefined) continue;
    }
    if (current && !current.isSymbolicLink()) {
      attemptRepair(path, () => moveAside(path, current, directorySuffix, log));
      continue;
    }
    attemptRepair(path, () => {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${unique()}.tmp`;
      symlinkSync(target, temporary);
      try {
        // Atomically replaces a wrong link; fails (and is retried) if a directory appeared.
        renameSync(temporary, path);
      } catch (error) {
        rmSync(temporary, { force: true });
        if (!RACE_CODES.has(errorCode(error))) throw error;
      }
    });
  }
  throw keepsChanging(path);
}

/** Where the link at `path` points, or undefined when it is gone (or no link) by the time it is read. */
function linkTarget(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch (error) {
    if (RACE_CODES.has(errorCode(error)) || errorCode(error) === "EINVAL") return undefined;
    throw error;
  }
}

/**
 * Renames what stands at `path` out of the way. A directory goes to the first free
 * `<path>.<suffix>[-n]` (renaming onto an existing non-empty directory fails, so nothing is
 * overwritten); anything else to a unique name (renaming a file onto a file would replace it).
 */
function moveAside(path: string, seen: Stats, suffix: string, log: (line: string) => void): void {
  let aside = seen.isDirectory() ? `${path}.${suffix}` : `${path}.in-the-way-${unique()}`;
  for (let n = 2; seen.isDirectory() && lstatSync(aside, { throwIfNoEntry: false }); n += 1) aside = `${path}.${suffix}-${n}`;
  try {
    renameSync(path, aside);
  } catch (error) {
    if (RACE_CODES.has(errorCode(error))) return; // moved or replaced meanwhile: look again
    throw error;
  }
  const moved = lstatSync(aside, { throwIfNoEntry: false });
  if (moved && (moved.ino !== seen.ino || moved.dev !== seen.dev)) {
    // A racing start-up replaced it between the look and the rename: that was its fresh work,
    // not what was in the way, so it goes back (a link is simply made again).
    if (moved.isSymbolicLink()) rmSync(aside, { force: true });
    else
      try {
        renameSync(aside, path);
      } catch {
        // something newer stands at `path` already; `aside` keeps the racing copy
      }
    return;
  }
  log(`sbx: ${path} was in the way (${seen.isDirectory() ? "a directory" : seen.isSymbolicLink() ? "a link" : "a file"}); it is kept as ${aside}`);
}

/** Runs one repair step; a directory the agent made read-only is made writable once and retried. */
function attemptRepair(path: string, step: () => void): void {
  try {
    step();
  } catch (error) {
    if (errorCode(error) !== "EACCES" && errorCode(error) !== "EPERM") throw cannotRepair(path, error);
    try {
      chmodSync(dirname(path), 0o700);
      step();
    } catch (again) {
      throw cannotRepair(path, again);
    }
  }
}

function cannotRepair(path: string, error: unknown): StateLayoutError {
  const code = errorCode(error) || "error";
  return new StateLayoutError(
    `cannot set up ${path} (${code}: ${(error as Error).message.replace(/^[A-Z]+: /, "")}). Fix: make its directory writable and move it away from a shell in the sandbox (sbx exec -- sh -c 'chmod u+rwx "${dirname(path)}" && mv "${path}" "${path}.broken"'), then run sbx up again.`,
  );
}

function keepsChanging(path: string): StateLayoutError {
  return new StateLayoutError(`${path} kept changing while sbx set it up (something in the sandbox keeps replacing it). Fix: stop what rewrites it, then run sbx up again.`);
}
