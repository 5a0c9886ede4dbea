import { constants } from "node:fs";
import { lstat, open, readdir, realpath } from "node:fs/promises";
import { join, sep } from "node:path";

/** The most sbx reads of any one workspace file it inspects: a bigger one is itself suspicious. */
export const MAX_INSPECTED_BYTES = 1024 * 1024;
/** The most names sbx lists in one workspace directory it inspects. */
export const MAX_LISTED_ENTRIES = 500;

/** One workspace path as sbx saw it. Paths are workspace-relative, with `/` separators. */
export type WorkspaceEntry =
  | { status: "absent" }
  | { status: "file"; content: Buffer; mode: number }
  | { status: "directory"; names: string[] }
  /** The path is or passes through a symlink: the sandbox resolves it against its own filesystem. */
  | { status: "symlink"; realPath: string | undefined; outside: boolean }
  | { status: "too-large"; bytes: number }
  | { status: "not-regular" }
  | { status: "unreadable"; code: string };

/** Reads inside one workspace only. The scanners take this, so they stay pure and testable. */
export interface WorkspaceReader {
  read(path: string): Promise<WorkspaceEntry>;
  /** The real subdirectories of a workspace directory (symlinks are listed as files, never as directories), and its other names. */
  listing(path: string): Promise<{ directories: string[]; files: string[] }>;
}

/**
 * A reader of `root` on the host that never follows a symlink (a path whose real path differs
 * from its spelling is reported as a symlink, not read), never reads more than `maxBytes`, and
 * never opens a FIFO or device (O_NONBLOCK, then a regular-file check on the open descriptor).
 */
export async function hostWorkspaceReader(root: string, maxBytes = MAX_INSPECTED_BYTES): Promise<WorkspaceReader> {
  const rootReal = await realpath(root);
  const inside = (path: string) => path === rootReal || path.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep);
  return {
    async listing(relative) {
      // Only ever called on folders reached from the (real) root through real directories: a
      // Dirent of a symlink is never a directory, so the walk cannot leave through one.
      const path = relative ? join(rootReal, ...relative.split("/")) : rootReal;
      const listing = { directories: [] as string[], files: [] as string[] };
      try {
        for (const entry of await readdir(path, { withFileTypes: true })) (entry.isDirectory() ? listing.directories : listing.files).push(entry.name);
      } catch {
        // Unreadable or gone: nothing to descend into.
      }
      listing.directories.sort();
      return listing;
    },
    async read(relative) {
      const path = join(rootReal, ...relative.split("/"));
      let real: string;
      try {
        real = await realpath(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? "error";
        if (code !== "ENOENT" && code !== "ENOTDIR") return { status: "unreadable", code };
        // A dangling link may well resolve inside the sandbox (to the agent's own state).
        const link = await lstat(path).catch(() => undefined);
        return link?.isSymbolicLink() ? { status: "symlink", realPath: undefined, outside: true } : { status: "absent" };
      }
      if (real !== path) return { status: "symlink", realPath: real, outside: !inside(real) };
      let handle;
      try {
        handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (error) {
        return { status: "unreadable", code: (error as NodeJS.ErrnoException).code ?? "error" };
      }
      try {
        const stat = await handle.stat();
        if (stat.isDirectory()) {
          const names = (await readdir(path)).sort().slice(0, MAX_LISTED_ENTRIES);
          return { status: "directory", names };
        }
        if (!stat.isFile()) return { status: "not-regular" };
        if (stat.size > maxBytes) return { status: "too-large", bytes: stat.size };
        const buffer = Buffer.alloc(maxBytes + 1);
        let length = 0;
        for (;;) {
          const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
          if (bytesRead === 0) break;
          length += bytesRead;
          if (length > maxBytes) return { status: "too-large", bytes: length };
        }
        return { status: "file", content: buffer.subarray(0, length), mode: stat.mode & 0o7777 };
      } finally {
        await handle.close();
      }
    },
  };
}

/** A reader over an in-memory tree, for tests: `{ "a/b.json": "…" }`; a `{ symlink }` value is a link. */
export function memoryWorkspaceReader(files: Record<string, string | Buffer | { symlink: string; outside?: boolean } | { tooLarge: number }>): WorkspaceReader {
  const tree: WorkspaceReader = {
    async listing(path) {
      const prefix = path ? `${path}/` : "";
      const directories = new Set<string>();
      const names = new Set<string>();
      for (const key of Object.keys(files)) {
        if (!key.startsWith(prefix)) continue;
        const parts = key.slice(prefix.length).split("/");
        (parts.length > 1 ? directories : names).add(parts[0] as string);
      }
      return { directories: [...directories].sort(), files: [...names].sort() };
    },
    async read(path) {
      const value = files[path];
      if (value === undefined) {
        const prefix = `${path}/`;
        const names = [...new Set(Object.keys(files).filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length).split("/")[0] as string))].sort();
        return names.length ? { status: "directory", names } : { status: "absent" };
      }
      if (typeof value === "string" || Buffer.isBuffer(value)) return { status: "file", content: Buffer.from(value), mode: 0o644 };
      if ("symlink" in value) return { status: "symlink", realPath: value.symlink, outside: value.outside ?? true };
      return { status: "too-large", bytes: value.tooLarge };
    },
  };
  return tree;
}
