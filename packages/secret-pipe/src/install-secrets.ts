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
    writeFileAtomically(destination, content, mode);
    shred(source, content.length);
    installed.push({ secret: installation.secret, destination, bytes: content.length, mode });
  }
  return installed;
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
