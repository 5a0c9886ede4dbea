import { spawn } from "node:child_process";
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomicSync } from "@sbx/atomic-file";
import { CredentialKeeper, type KeeperOptions, type KeeperStatus } from "./keeper.js";

/** What the keeper leaves for `sbx doctor` / `sbx status`: no value, only times and sides. */
export interface KeeperStateFile extends KeeperStatus {
  pid: number;
  running: boolean;
  startedAt: number;
  heartbeatAt: number;
  periodMs: number;
  stoppedAt?: number;
  stopReason?: string;
  lastError?: string;
}

export interface KeeperPaths {
  state: string;
  lock: string;
  log: string;
}

/** `$XDG_STATE_HOME/sbx` (default `~/.local/state/sbx`): the keeper's pid, state and log. */
export function keeperStateDir(env: Record<string, string | undefined>, home: string): string {
  return join(env.XDG_STATE_HOME || join(home, ".local", "state"), "sbx");
}

export function keeperPaths(stateDir: string, login: string): KeeperPaths {
  return { state: join(stateDir, `keeper-${login}.json`), lock: join(stateDir, `keeper-${login}.lock`), log: join(stateDir, `keeper-${login}.log`) };
}

/** The compiled entry a detached keeper runs (`node <entry> --login …`). */
export const KEEPER_ENTRY = fileURLToPath(new URL("./keeper-main.js", import.meta.url));

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** How old a heartbeat may be before the keeper counts as dead (a sleeping machine wakes it). */
const staleAfter = (periodMs: number) => Math.max(10 * periodMs, 15_000);

export type KeeperHealth = { state: "running"; file: KeeperStateFile } | { state: "stopped"; file?: KeeperStateFile } | { state: "dead"; file: KeeperStateFile };

/** Reads the keeper's state file and judges it: one small read and a `kill(pid, 0)`. */
export function keeperHealth(stateDir: string, login: string, now = Date.now()): KeeperHealth {
  let file: KeeperStateFile;
  try {
    file = JSON.parse(readFileSync(keeperPaths(stateDir, login).state, "utf8")) as KeeperStateFile;
  } catch {
    return { state: "stopped" };
  }
  if (!file.running) return { state: "stopped", file };
  if (isAlive(file.pid) && now - file.heartbeatAt < staleAfter(file.periodMs)) return { state: "running", file };
  return { state: "dead", file };
}

export interface EnsureKeeperOptions {
  login: string;
  stateDir: string;
  env: Record<string, string | undefined>;
  /** Extra arguments for the keeper (tests: a short period). Never a secret. */
  args?: string[];
  /** @default KEEPER_ENTRY */
  entry?: string;
}

// The keeper needs to find the engine and the host's stores, nothing else: no API key, no token
// the user exported, ever reaches its environment.
const KEEPER_ENV = /^(HOME|USER|LOGNAME|PATH|TMPDIR|LANG|LC_[A-Z]+|TZ|DOCKER_(HOST|TLS_VERIFY|CERT_PATH|CONTEXT)|XDG_(STATE|DATA|CONFIG)_HOME|CLAUDE_CONFIG_DIR|CODEX_HOME|GEMINI_CLI_HOME|SBX_LOGIN|SBX_KEEPER_[A-Z_]+)$/;

/**
 * Starts the login's keeper unless one is alive: the cheap check (state file + pid + heartbeat)
 * first, so every `sbx` command can call this. The keeper is a detached Node process: it survives
 * the `sbx` that started it, and takes a lock itself, so two starting at once leave one running.
 */
export function ensureKeeper(options: EnsureKeeperOptions): "running" | "started" {
  if (keeperHealth(options.stateDir, options.login).state === "running") return "running";
  const env = Object.fromEntries(Object.entries(options.env).filter(([name, value]) => value !== undefined && KEEPER_ENV.test(name)));
  const child = spawn(process.execPath, [options.entry ?? KEEPER_ENTRY, "--login", options.login, "--state-dir", options.stateDir, ...(options.args ?? [])], {
    detached: true,
    stdio: "ignore",
    env,
  });
  child.unref();
  return "started";
}

export interface RunKeeperOptions extends Omit<KeeperOptions, "log"> {
  stateDir: string;
  /** @default 2000 */
  periodMs?: number;
  /** How long no sandbox of the login may run before the keeper stops. @default 10000 */
  graceMs?: number;
  signal?: AbortSignal;
}

const MAX_LOG_BYTES = 1024 * 1024;

/**
 * The keeper's life: take the lock (or leave, if a live keeper holds it), then a round every
 * `periodMs` until no sandbox of the login has run for `graceMs` or it is told to stop.
 */
export async function runKeeper(options: RunKeeperOptions): Promise<"stopped" | "already-running"> {
  const paths = keeperPaths(options.stateDir, options.login);
  mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  if (!takeLock(paths.lock)) return "already-running";
  const periodMs = options.periodMs ?? 2000;
  const graceMs = options.graceMs ?? 10_000;
  const now = options.now ?? Date.now;
  const log = (line: string) => {
    try {
      if ((statSync(paths.log, { throwIfNoEntry: false })?.size ?? 0) > MAX_LOG_BYTES) renameSync(paths.log, `${paths.log}.1`);
      appendFileSync(paths.log, `${new Date(now()).toISOString()} ${line}\n`, { mode: 0o600 });
    } catch {
      // A full disk must not stop the keeping.
    }
  };
  const keeper = new CredentialKeeper({ ...options, log });
  const startedAt = now();
  let lastError: string | undefined;
  let lastWritten = "";
  let writtenAt = 0;
  const save = (extra: Partial<KeeperStateFile> = {}) => {
    const body = { ...keeper.status(), pid: process.pid, running: true, startedAt, periodMs, ...(lastError ? { lastError } : {}), ...extra };
    const text = JSON.stringify(body);
    // A heartbeat at most every 2 s (or every round when slower); otherwise only on change.
    if (text === lastWritten && now() - writtenAt < Math.max(periodMs, 2000) && extra.running !== false) return;
    lastWritten = text;
    writtenAt = now();
    writeFileAtomicSync(paths.state, `${JSON.stringify({ ...body, heartbeatAt: writtenAt }, null, 2)}\n`, { mode: 0o600, durable: false });
  };

  log(`keeper started (pid ${process.pid}, every ${periodMs} ms)`);
  let idleSince: number | undefined;
  let stopReason = "stopped";
  try {
    while (!options.signal?.aborted) {
      // Its home went away (a test's temporary HOME, a removed account): nothing left to keep.
      if (!existsSync(options.stateDir)) {
        stopReason = "its state directory was removed";
        break;
      }
      try {
        const running = await keeper.syncOnce();
        if (lastError) log("the engine answers again");
        lastError = undefined;
        if (running > 0) idleSince = undefined;
        else {
          idleSince ??= now();
          if (now() - idleSince >= graceMs) {
            stopReason = "no sandbox of this login runs";
            break;
          }
        }
      } catch (error) {
        const message = (error as Error).message;
        if (message !== lastError) log(`round failed: ${message}`);
        lastError = message;
      }
      save();
      await sleep(periodMs, options.signal);
    }
    if (options.signal?.aborted) stopReason = "told to stop";
  } finally {
    if (existsSync(options.stateDir)) {
      log(`keeper stopped: ${stopReason}`);
      save({ running: false, stoppedAt: now(), stopReason });
      releaseLock(paths.lock);
    }
  }
  return "stopped";
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** O_EXCL lock holding our pid; a lock whose holder is dead is taken over. */
function takeLock(path: string): boolean {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) return false;
      unlinkSync(path);
    }
  }
  return false;
}

function releaseLock(path: string): void {
  try {
    if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // Already gone.
  }
}

/** `SBX_KEEPER=off` (or 0/false) switches the keeper off; it is on by default. */
export const keeperDisabled = (env: Record<string, string | undefined>) => /^(off|0|false|no)$/i.test(env.SBX_KEEPER ?? "");

/** One line for `sbx doctor` / `sbx status`: running or not, last sync, who refreshed, what was carried. */
export function describeKeeper(health: KeeperHealth, now = Date.now()): string {
  const file = health.file;
  if (health.state === "stopped") return file?.stopReason ? `not running (${file.stopReason})` : "not running";
  if (!file) return "not running";
  const time = (at: number) => new Date(at).toLocaleTimeString([], { hour12: false });
  const parts = [health.state === "running" ? `running (pid ${file.pid})` : `not answering (pid ${file.pid}, last heartbeat ${Math.round((now - file.heartbeatAt) / 1000)} s ago)`];
  parts.push(file.lastSyncAt ? `last sync ${time(file.lastSyncAt)}` : "no sync yet");
  for (const provider of file.providers) {
    if (!provider.lastRefresh && !provider.lastCarried && !provider.note) continue;
    const said = [
      provider.lastRefresh ? `${provider.lastRefresh.side} refreshed at ${time(provider.lastRefresh.at)}` : undefined,
      provider.lastCarried ? `carried to ${provider.lastCarried.to}` : undefined,
      provider.note,
    ].filter(Boolean);
    parts.push(`${provider.provider}: ${said.join(", ")}`);
  }
  return parts.join(" · ");
}
