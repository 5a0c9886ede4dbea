import { randomBytes } from "node:crypto";
import { link, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ExportError } from "./errors.js";

export const LOCK_FILE = ".sbx-export.lock";

/** A lock from another machine (a synced inbox) cannot be checked for life; it expires instead. */
const FOREIGN_LOCK_EXPIRES_MS = 60 * 60 * 1000;
const POLL_MS = 50;

interface Holder {
  pid: number;
  host: string;
  since: string;
  token?: string;
}

export interface InboxLock {
  /** Removes the lock if it is still this export's. */
  release(): Promise<void>;
}

/**
 * One writer per inbox: two exports reading and rewriting one state file would each drop the
 * other's sessions. The lock file is made whole and then linked into place (link fails if one
 * exists), so no one ever reads a half-written holder. A holder whose process is gone (same
 * host) or whose lock is an hour old (another host) is stale and taken over.
 */
export async function lockInbox(conversations: string, waitMs: number): Promise<InboxLock> {
  const path = join(conversations, LOCK_FILE);
  const mine: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString("hex") };
  const content = JSON.stringify(mine);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const temporary = join(conversations, `.sbx-export.lock.${mine.token}-${randomBytes(4).toString("hex")}`);
    await writeFile(temporary, content, { mode: 0o644 });
    try {
      await link(temporary, path);
      return { release: () => releaseIfMine(path, content) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      await unlink(temporary).catch(() => {});
    }
    const held = await readHolder(path);
    if (held === undefined) continue; // released meanwhile
    if (await isStale(path, held.holder)) {
      await takeOverStale(path, held.text, conversations);
      continue;
    }
    if (Date.now() >= deadline) throw lockedError(conversations, path, held.holder);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function readHolder(path: string): Promise<{ text: string; holder: Holder | undefined } | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<Holder>;
    if (typeof parsed.pid === "number" && typeof parsed.host === "string") return { text, holder: { pid: parsed.pid, host: parsed.host, since: String(parsed.since ?? "") } };
  } catch {
    // Not a lock sbx wrote: judged by its age below.
  }
  return { text, holder: undefined };
}

async function isStale(path: string, holder: Holder | undefined): Promise<boolean> {
  if (holder && holder.host === hostname()) return !processAlive(holder.pid);
  const mtime = await stat(path).then((info) => info.mtimeMs, () => Date.now());
  return Date.now() - mtime > FOREIGN_LOCK_EXPIRES_MS;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, only not ours to signal.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Moves the stale lock aside and checks it is the one judged stale: two waiters may both judge
 * it, and the slower must not delete the lock the faster has just taken. If it moved a fresh
 * lock, it puts it back.
 */
async function takeOverStale(path: string, staleText: string, conversations: string): Promise<void> {
  const aside = join(conversations, `.sbx-export.lock.stale-${randomBytes(6).toString("hex")}`);
  try {
    await rename(path, aside);
  } catch {
    return; // someone else moved it first
  }
  const moved = await readFile(aside, "utf8").catch(() => staleText);
  if (moved !== staleText) await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
}

async function releaseIfMine(path: string, content: string): Promise<void> {
  if ((await readFile(path, "utf8").catch(() => undefined)) === content) await unlink(path).catch(() => {});
}

function lockedError(conversations: string, path: string, holder: Holder | undefined): ExportError {
  const who = holder ? `pid ${holder.pid} on ${holder.host}${holder.since ? ` since ${holder.since}` : ""}` : "an unknown process";
  return new ExportError("SBX_EXPORT_INBOX_LOCKED", `Another export is writing ${conversations} (${who}).`, {
    hint: `Wait for it to finish and run sbx export again; if no export is running, remove ${path}.`,
  });
}
