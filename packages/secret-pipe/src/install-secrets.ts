import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { SecretPipeError } from "./errors.js";
import { assertSecretName, SECRETS_DIR } from "./pipe-secret.js";

/** Where one piped secret goes inside the sandbox. Contains no secret: it is safe to log. */
export interface SecretInstallation {
  /** Name under /run/secrets. */
  secret: string;
  /** Destination; `~/` means the sandbox user's home. */
  destination: string;
  /** @default 0o600 */
  mode?: number;
  /**
   * A JSON path (e.g. `claudeAiOauth.expiresAt`) naming a timestamp: when the file already at the
   * destination has a later one, it is kept. A login the agent refreshed inside the sandbox must
   * not be overwritten by the host's older copy — its refresh token is already spent.
   */
  preferNewer?: string;
  /**
   * Merge the piped JSON object over the one already at the destination instead of replacing it,
   * so an agent's own state (kept in the same file) survives a re-pipe. @default false
   */
  mergeJson?: boolean;
}

export interface InstallOptions {
  /** @default "/run/secrets" */
  secretsDir?: string;
  /** The sandbox user's home, for `~/` destinations. */
  home: string;
}

export interface InstalledSecret {
  secret: string;
  destination: string;
  bytes: number;
  mode: number;
  /** `kept-newer` when the destination already held a newer copy (see `preferNewer`). */
  outcome: "installed" | "kept-newer";
}

/**
 * Runs inside the sandbox: moves each piped secret from the tmpfs to its destination with the
 * right mode, atomically (temp file + rename: agents such as Claude Code re-read their login when
 * the file changes, and must never see half of it), then overwrites and removes the tmpfs copy.
 */
export function installPipedSecrets(installations: SecretInstallation[], options: InstallOptions): InstalledSecret[] {
  const secretsDir = options.secretsDir ?? SECRETS_DIR;
  const installed: InstalledSecret[] = [];
  for (const installation of installations) {
    assertSecretName(installation.secret);
    const source = join(secretsDir, installation.secret);
    const destination = installation.destination.startsWith("~/") ? join(options.home, installation.destination.slice(2)) : resolve(installation.destination);
    const mode = installation.mode ?? 0o600;
    let content: Buffer;
    try {
      content = readFileSync(source);
    } catch (cause) {
      throw new SecretPipeError("SBX_SECRET_INSTALL_FAILED", `The piped secret "${installation.secret}" is missing from ${secretsDir}.`, {
        hint: "Run `sbx up` again to pipe the logins.",
        cause,
      });
    }
    const keepExisting = installation.preferNewer !== undefined && existingIsNewer(destination, content, installation.preferNewer);
    if (!keepExisting) writeFileAtomically(destination, installation.mergeJson ? mergeOverExisting(destination, content) : content, mode);
    shred(source, content.length);
    installed.push({ secret: installation.secret, destination, bytes: content.length, mode, outcome: keepExisting ? "kept-newer" : "installed" });
  }
  return installed;
}

function mergeOverExisting(destination: string, incoming: Buffer): Buffer {
  let existing: unknown;
  try {
    existing = JSON.parse(readFileSync(destination, "utf8"));
  } catch {
    return incoming;
  }
  return Buffer.from(JSON.stringify(deepMerge(existing, JSON.parse(incoming.toString("utf8"))), null, 2));
}

function deepMerge(base: unknown, over: unknown): unknown {
  const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
  if (!isObject(base) || !isObject(over)) return over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) merged[key] = deepMerge(base[key], value);
  return merged;
}

function existingIsNewer(destination: string, incoming: Buffer, path: string): boolean {
  const stamp = (raw: Buffer): number => {
    try {
      let value: unknown = JSON.parse(raw.toString("utf8"));
      for (const key of path.split(".")) value = (value as Record<string, unknown> | undefined)?.[key];
      return typeof value === "number" ? value : Number.NEGATIVE_INFINITY;
    } catch {
      return Number.NEGATIVE_INFINITY;
    }
  };
  let existing: Buffer;
  try {
    existing = readFileSync(destination);
  } catch {
    return false;
  }
  return stamp(existing) > stamp(incoming);
}

export function writeFileAtomically(destination: string, content: Uint8Array, mode: number): void {
  mkdirSync(dirname(destination), { recursive: true, mode: 0o700 });
  // A symlink planted at the destination must not redirect a secret elsewhere.
  try {
    if (lstatSync(destination).isSymbolicLink()) rmSync(destination);
  } catch {
    // absent: nothing to check
  }
  const temporary = `${destination}.sbx-${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temporary, "wx", mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, destination);
}

/** Overwrites a file's bytes before unlinking it, so the tmpfs pages no longer hold the secret. */
function shred(path: string, length: number): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, Buffer.alloc(length), 0, length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(path, { force: true });
}
