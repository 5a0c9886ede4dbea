/**
 * An agent started by `sbx run` dies with the host's sbx process. `docker exec` does not end the
 * process when its client goes away (the engine keeps the pty open), so the host holds a second
 * exec open — `entrypoint watch <session>` — whose stdin it never writes. When the host process
 * ends for any reason, SIGKILL included, the engine closes that stdin; the watcher then hangs up
 * on the agent's process group.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const SESSION = /^[a-f0-9]{16,64}$/;
/** How long a hung-up agent gets to save its state before it is killed. */
const GRACE_MS = 3000;

const sessionFile = (session: string) => join(tmpdir(), `sbx-session-${session}.pid`);

/**
 * Called by `entrypoint agent`: remembers its own process group (docker exec's tty makes the
 * wrapper a session and group leader; the agent runs in that group) under the session id.
 * Returns the cleanup to run when the agent ends.
 */
export function recordSession(session: string | undefined): () => void {
  if (!session || !SESSION.test(session)) return () => undefined;
  const file = sessionFile(session);
  writeFileSync(file, String(process.pid), { mode: 0o600 });
  return () => rmSync(file, { force: true });
}

/** `entrypoint watch <session>`: waits for stdin to close, then ends that session's agent. */
export function watchHost(session: string | undefined): void {
  if (!session || !SESSION.test(session)) throw new Error("watch needs a session id");
  process.stdin.on("data", () => undefined);
  process.stdin.once("close", () => {
    let pid: number;
    try {
      pid = Number(readFileSync(sessionFile(session), "utf8"));
    } catch {
      process.exit(0); // The agent already ended (or never started).
    }
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-pid, name);
      } catch {
        try {
          process.kill(pid, name);
        } catch {
          return false;
        }
      }
      return true;
    };
    if (!signal("SIGHUP")) process.exit(0);
    setTimeout(() => {
      signal("SIGKILL");
      rmSync(sessionFile(session), { force: true });
      process.exit(0);
    }, GRACE_MS).unref();
    // Exit early once the group is gone.
    const poll = setInterval(() => {
      try {
        process.kill(pid, 0);
      } catch {
        clearInterval(poll);
        process.exit(0);
      }
    }, 100);
  });
}
