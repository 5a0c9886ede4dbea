import { mkdirSync, openSync, closeSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { CliError } from "./cli-error.js";

/** A lock whose holder died (SIGKILL, a crash) is taken over after this long even if its pid lives on in another process. */
const STALE_MS = 60_000;

/**
 * Runs `work` while holding a lock file, so commands of this host user take turns: one lock per
 * sandbox serialises the login pipes of concurrent `sbx up`s, which land their secrets under fixed
 * names on the sandbox's /run/secrets. Uncontended it costs one exclusive create and one unlink.
 * A holder that died is detected by its pid (or the lock's age) and the lock taken over.
 */
export async function withHostLock<T>(path: string, work: () => Promise<T>, options: { waitMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  for (let attempt = 0; ; attempt += 1) {
    let fd: number | undefined;
    try {
      if (attempt === 0) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
    } catch (error) {
      // A home sbx cannot write (read-only, full) costs only the turn-taking, not the command.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        if (fd !== undefined) rmSync(path, { force: true });
        return work();
      }
      if (holderIsGone(path)) {
        rmSync(path, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new CliError("SBX_SANDBOX_BUSY", "Another sbx command has been setting up this sandbox for too long.", {
          hint: `If no other sbx runs, remove ${path} and try again.`,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, 10 + attempt * 10)));
      continue;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    try {
      return await work();
    } finally {
      rmSync(path, { force: true });
    }
  }
}

function holderIsGone(path: string): boolean {
  try {
    const pid = Number(readFileSync(path, "utf8"));
    if (Date.now() - statSync(path).mtimeMs > STALE_MS) return true;
    // Written a moment ago and not yet filled in: the holder is alive and mid-write.
    if (!Number.isInteger(pid) || pid <= 0) return false;
    process.kill(pid, 0);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ESRCH: no such process. ENOENT: released while we looked (try again at once).
    return code === "ESRCH" || code === "ENOENT";
  }
}
