import { realpathSync } from "node:fs";

/**
 * The real path of an absolute, normalised path: every symlink resolved. A path that does not
 * exist yet keeps its missing tail on the real path of its nearest existing ancestor, so
 * `~/.ssh/new-key` under a linked home still lands inside the real `~/.ssh`.
 */
export function resolveRealPath(path: string): string {
  const missing: string[] = [];
  let existing = path;
  for (;;) {
    try {
      const real = realpathSync.native(existing);
      return missing.length === 0 ? real : `${real === "/" ? "" : real}/${missing.reverse().join("/")}`;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOENT/ENOTDIR: not there (yet). Anything else (EACCES, ELOOP): judge the path as written,
      // which the lexical comparison still covers.
      if ((code !== "ENOENT" && code !== "ENOTDIR") || existing === "/") return path;
      const slash = existing.lastIndexOf("/");
      missing.push(existing.slice(slash + 1));
      existing = slash === 0 ? "/" : existing.slice(0, slash);
    }
  }
}
