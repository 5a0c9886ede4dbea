import { constants, copyFileSync, lstatSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";

/**
 * Copies a tree the way `cpSync(source, target, { recursive: true, force: false, errorOnExist:
 * false, verbatimSymlinks: true, preserveTimestamps: true })` does: into what is there, keeping
 * what already exists, links as they are, timestamps kept. In JavaScript on purpose: Node 22's
 * `cpSync` copies a directory in C++ and aborts the whole process when a directory vanishes under
 * it (a racing start-up claiming it), where this throws ENOENT for the caller to handle.
 */
export function copyTreeSync(source: string, target: string): void {
  const stat = lstatSync(source);
  if (stat.isSymbolicLink()) {
    if (lstatSync(target, { throwIfNoEntry: false }) === undefined) symlinkSync(readlinkSync(source), target);
  } else if (stat.isDirectory()) {
    if (!lstatSync(target, { throwIfNoEntry: false })?.isDirectory()) mkdirSync(target, { mode: stat.mode & 0o7777 });
    for (const name of readdirSync(source)) copyTreeSync(join(source, name), join(target, name));
    utimesSync(target, stat.atime, stat.mtime);
  } else if (stat.isFile()) {
    try {
      copyFileSync(source, target, constants.COPYFILE_EXCL);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return;
      throw error;
    }
    utimesSync(target, stat.atime, stat.mtime);
  }
}
