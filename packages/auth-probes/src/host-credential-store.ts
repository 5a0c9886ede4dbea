import { lstat, readFile, realpath, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { writeFileAtomic } from "@sbx/atomic-file";
import { SbxError } from "@sbx/errors";
import { decodeKeychainSecret } from "./claude.js";

export type StoredProvider = "claude" | "codex" | "gemini" | "opencode";

/**
 * Where a provider keeps its login on the host, readable and writable: the one place the
 * credential keeper writes on the host. Writes replace the whole login at once (a reader sees the
 * old one or the new one) and keep the file's mode (0600).
 */
export interface HostCredentialStore {
  provider: StoredProvider;
  /** Safe to print: a path, or `macOS Keychain "Claude Code-credentials"`. */
  where: string;
  /**
   * A cheap fingerprint that changes whenever the login may have changed (a file's inode, size
   * and mtime), so a poller reads the login only then. `undefined` when there is none to take.
   */
  changeHint(): Promise<string | undefined>;
  /** The login's bytes; `undefined` when there is none. */
  read(): Promise<Buffer | undefined>;
  /** Replaces the login. Never creates a store that does not exist (nothing to keep then). */
  write(content: Uint8Array): Promise<void>;
}

export class HostStoreError extends SbxError<"SBX_HOST_STORE_WRITE_FAILED" | "SBX_KEYCHAIN_FAILED"> {
  override readonly name = "HostStoreError";
}

export interface HostStoreOptions {
  home: string;
  env: Record<string, string | undefined>;
  /** @default process.platform */
  platform?: NodeJS.Platform;
  /** The `security` program (tests put a fake on PATH or name one here). @default "security" */
  securityCommand?: string;
}

export const CLAUDE_KEYCHAIN_SERVICE = "Claude Code-credentials";

/** The host stores of every provider the keeper can keep, where their CLIs keep them. */
export function hostCredentialStores(options: HostStoreOptions): HostCredentialStore[] {
  const { home, env } = options;
  const claudeFile = join(env.CLAUDE_CONFIG_DIR || join(home, ".claude"), ".credentials.json");
  const files: Array<[StoredProvider, string]> = [
    ["codex", join(env.CODEX_HOME || join(home, ".codex"), "auth.json")],
    ["gemini", join(env.GEMINI_CLI_HOME || home, ".gemini", "oauth_creds.json")],
    ["opencode", join(env.XDG_DATA_HOME || join(home, ".local/share"), "opencode", "auth.json")],
  ];
  const claude =
    (options.platform ?? process.platform) === "darwin"
      ? claudeOnMac(claudeFile, home, options.securityCommand ?? "security")
      : fileStore("claude", claudeFile);
  return [claude, ...files.map(([provider, path]) => fileStore(provider, path, provider === "codex" ? join(dirname(path), "auth.lock") : undefined))];
}

/**
 * Runs `work` holding an exclusive flock(2) on `lockPath`, as Codex does around its own saves
 * (util-linux `flock` holds it for us until its stdin closes). Where there is no `flock` (macOS),
 * or the lock cannot be had within 5 s, the work runs without it: the caller's compare-and-swap
 * still catches a concurrent save.
 */
async function withFlock<T>(lockPath: string, work: () => Promise<T>): Promise<T> {
  if (process.platform !== "linux") return work();
  // execa is imported where it runs: loading it costs every `sbx up` ~100 ms, and only the
  // keeper's writes (and macOS's Keychain) spawn anything.
  const { execa } = await import("execa");
  const holder = execa("flock", ["-w", "5", lockPath, "sh", "-c", "echo locked; exec cat >/dev/null"], { reject: false, stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  const locked = await new Promise<boolean>((resolve) => {
    holder.stdout?.once("data", () => resolve(true));
    holder.once("exit", () => resolve(false));
    holder.once("error", () => resolve(false));
  });
  try {
    return await work();
  } finally {
    if (locked) holder.stdin?.end();
    await holder;
  }
}

function fileStore(provider: StoredProvider, path: string, lockPath?: string): HostCredentialStore {
  return {
    provider,
    where: path,
    async changeHint() {
      const info = await stat(path).catch(() => undefined);
      return info ? `${info.ino}:${info.size}:${info.mtimeMs}` : "absent";
    },
    async read() {
      try {
        return await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw error;
      }
    },
    async write(content) {
      // The user's own link (a dotfiles checkout) is theirs: write where it leads, as the CLI would.
      const current = await lstat(path).catch(() => undefined);
      if (!current) throw new HostStoreError("SBX_HOST_STORE_WRITE_FAILED", `${path} no longer exists; the keeper does not create logins.`);
      const target = current.isSymbolicLink() ? await realpath(path) : path;
      const mode = (await stat(target)).mode & 0o777;
      try {
        const write = () => writeFileAtomic(target, content, { mode: mode || 0o600 });
        await (lockPath ? withFlock(lockPath, write) : write());
      } catch (error) {
        throw new HostStoreError("SBX_HOST_STORE_WRITE_FAILED", `Could not replace ${path} (${(error as NodeJS.ErrnoException).code ?? "error"}).`, { cause: error });
      }
    },
  };
}

/**
 * Claude Code on macOS: the file when there is one (as Claude reads it), else the Keychain item.
 * `security` gets the secret only on stdin (`security -i` reads commands there), never in argv.
 */
function claudeOnMac(path: string, home: string, security: string): HostCredentialStore {
  const file = fileStore("claude", path);
  const keychainFile = join(home, "Library", "Keychains", "login.keychain-db");
  const hasFile = async () => (await lstat(path).catch(() => undefined)) !== undefined;
  return {
    provider: "claude",
    where: `macOS Keychain "${CLAUDE_KEYCHAIN_SERVICE}"`,
    async changeHint() {
      if (await hasFile()) return `file:${await file.changeHint()}`;
      const info = await stat(keychainFile).catch(() => undefined);
      // No keychain file to watch (a custom keychain): read the item on every round.
      return info ? `keychain:${info.size}:${info.mtimeMs}` : undefined;
    },
    async read() {
      if (await hasFile()) return file.read();
      const { execa } = await import("execa");
      const found = await execa(security, ["find-generic-password", "-s", CLAUDE_KEYCHAIN_SERVICE, "-w"], { reject: false, stdin: "ignore", timeout: 10_000 });
      if (found.exitCode !== 0) return undefined;
      const output = found.stdout.trim();
      return output ? decodeKeychainSecret(output) : undefined;
    },
    async write(content) {
      if (await hasFile()) return file.write(content);
      const account = await keychainAccount(security);
      // -X takes the password as hex: no quoting of the secret at all, and the whole command line
      // travels on stdin, so the process list shows only `security -i`.
      const { execa } = await import("execa");
      const command = `add-generic-password -U -a "${account}" -s "${CLAUDE_KEYCHAIN_SERVICE}" -X "${Buffer.from(content).toString("hex")}"\n`;
      const result = await execa(security, ["-i"], { input: command, reject: false, timeout: 10_000 });
      // `security -i` may exit 0 after a command in it failed (a locked keychain): read it back.
      const stored = result.exitCode === 0 ? await this.read() : undefined;
      if (!stored || !stored.equals(Buffer.from(content))) {
        throw new HostStoreError("SBX_KEYCHAIN_FAILED", `security could not update the Keychain item "${CLAUDE_KEYCHAIN_SERVICE}" (exit ${result.exitCode}).`, {
          hint: "Unlock the login keychain (or run `security unlock-keychain`), then the keeper retries.",
        });
      }
    },
  };
}

/** The item's account (Claude Code saves it under the user name); printed as `"acct"<blob>="…"`. */
async function keychainAccount(security: string): Promise<string> {
  const { execa } = await import("execa");
  const found = await execa(security, ["find-generic-password", "-s", CLAUDE_KEYCHAIN_SERVICE], { reject: false, stdin: "ignore", timeout: 10_000 });
  const match = /"acct"<blob>="([^"\\\n]*)"/.exec(`${found.stdout}\n${found.stderr}`);
  const account = match?.[1] ?? process.env.USER ?? "";
  if (!/^[^"\\\n]+$/.test(account)) {
    throw new HostStoreError("SBX_KEYCHAIN_FAILED", `The Keychain item "${CLAUDE_KEYCHAIN_SERVICE}" has no account name sbx can quote.`, {
      hint: "Log in to Claude Code on the host again so it re-creates the item.",
    });
  }
  return account;
}
