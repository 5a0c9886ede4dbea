import { randomBytes } from "node:crypto";
import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, realpathSync, renameSync, rmSync, writeSync } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { SbxError } from "@sbx/errors";

export type AtomicFileErrorCode = "SBX_PATH_ESCAPES" | "SBX_WRITE_FAILED";

export class AtomicFileError extends SbxError<AtomicFileErrorCode> {
  override readonly name = "AtomicFileError";
}

export interface AtomicWriteOptions {
  /** Mode of the new file (the temp file is created with it, so it is never briefly wider). @default 0o600 */
  mode?: number;
  /**
   * Confine the write to this directory: the destination's parent, resolved through every symlink,
   * must lie inside the directory's own real path, and directories created on the way are created
   * one component at a time, never through a link. This is what keeps a file the host reads back,
   * or a secret installed inside a sandbox, from landing where a hostile link points.
   * @default undefined (no confinement: the parent is used as it resolves)
   */
  within?: string;
  /** fsync the file before the rename, so a crash leaves the old file or the new one, never a torn one. @default true */
  durable?: boolean;
  /** Mode of directories created for the destination. @default 0o700 */
  directoryMode?: number;
}

/**
 * The directory a write should really happen in: `dirname(path)` with every symlink resolved, and
 * created when missing. With `within`, it must resolve inside that directory.
 */
export function resolveWriteDirectory(path: string, options: Pick<AtomicWriteOptions, "within" | "directoryMode"> = {}): string {
  const wanted = resolve(dirname(path));
  const directoryMode = options.directoryMode ?? 0o700;
  if (options.within === undefined) {
    mkdirSync(wanted, { recursive: true, mode: directoryMode });
    return realpathSync(wanted);
  }
  const root = realpathSync(options.within);
  const inside = (real: string) => real === root || real.startsWith(`${root}${sep}`);
  // The nearest existing ancestor is judged by its real path (a link the sandbox itself ships, such
  // as ~/.claude → .llm/claude, is fine as long as it lands inside); what is missing below it is
  // created one plain directory at a time, each checked again, so no link planted on the way counts.
  const missing: string[] = [];
  let existing = wanted;
  while (!lstatSync(existing, { throwIfNoEntry: false })) {
    missing.unshift(basename(existing));
    existing = dirname(existing);
  }
  let current = realDirectoryInside(existing, inside, path, options.within);
  for (const part of missing) {
    const next = join(current, part);
    try {
      mkdirSync(next, { mode: directoryMode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    current = realDirectoryInside(next, inside, path, options.within);
  }
  return current;
}

function realDirectoryInside(candidate: string, inside: (real: string) => boolean, path: string, within: string): string {
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    // A dangling link: where it would lead cannot be checked, so it is not followed.
    throw escapes(path, within);
  }
  if (!inside(real) || !lstatSync(real).isDirectory()) throw escapes(path, within);
  return real;
}

function escapes(path: string, within: string): AtomicFileError {
  return new AtomicFileError("SBX_PATH_ESCAPES", `Refusing to write ${path}: it resolves outside ${within}.`, {
    hint: "A symlink on the way points elsewhere; remove it and try again.",
  });
}

const temporaryName = (target: string) => `.${basename(target)}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`;
// O_NOFOLLOW|O_EXCL: the temp name is fresh, so whatever stands there was planted; never follow it.
const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes `content` to `path` so that a reader sees the old file or the new one, never part of
 * either: a fresh temp file beside the destination (created with `mode`, never following a link),
 * fsync, rename. A symlink standing at `path` is replaced, not followed. On failure the temp file
 * is removed and the destination is untouched.
 */
export function writeFileAtomicSync(path: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): string {
  const directory = resolveWriteDirectory(path, options);
  const target = join(directory, basename(path));
  const temporary = join(directory, temporaryName(target));
  const fd = openSync(temporary, TEMP_FLAGS, options.mode ?? 0o600);
  try {
    try {
      writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
      if (options.durable ?? true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, target);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  return target;
}

/** The asynchronous twin of `writeFileAtomicSync`: same checks, same guarantees. */
export async function writeFileAtomic(path: string, content: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<string> {
  const directory = resolveWriteDirectory(path, options);
  const target = join(directory, basename(path));
  const temporary = join(directory, temporaryName(target));
  const handle = await open(temporary, TEMP_FLAGS, options.mode ?? 0o600);
  try {
    try {
      await handle.writeFile(content);
      if (options.durable ?? true) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return target;
}

/** A file being written in place of `path`: write to `fd`, then `commit` (or `abort`). */
export interface AtomicFileHandle {
  /** The fresh temp file, open for writing (positional writes included). */
  readonly fd: number;
  /** fsync (unless `durable: false`), close and rename over the destination; returns its real path. */
  commit(): string;
  /** Close and remove the temp file; the destination is untouched. Safe to call after `commit`. */
  abort(): void;
}

/**
 * The streaming form of `writeFileAtomicSync`, for content too large to hold in memory (a note
 * rendered from a 200 MB session, a session file streamed out of a sandbox): same temp file, same
 * checks, same rename — the caller writes the bytes in between.
 */
export function openFileAtomicSync(path: string, options: AtomicWriteOptions = {}): AtomicFileHandle {
  const directory = resolveWriteDirectory(path, options);
  const target = join(directory, basename(path));
  const temporary = join(directory, temporaryName(target));
  const fd = openSync(temporary, TEMP_FLAGS, options.mode ?? 0o600);
  let state: "open" | "closed" | "done" = "open";
  return {
    fd,
    commit() {
      if (state !== "open") throw new AtomicFileError("SBX_WRITE_FAILED", `The write of ${path} was already finished.`);
      try {
        if (options.durable ?? true) fsyncSync(fd);
      } finally {
        closeSync(fd);
        state = "closed";
      }
      try {
        renameSync(temporary, target);
      } catch (error) {
        rmSync(temporary, { force: true });
        throw error;
      }
      state = "done";
      return target;
    },
    abort() {
      if (state === "open") closeSync(fd);
      if (state !== "done") rmSync(temporary, { force: true });
      state = "done";
    },
  };
}
