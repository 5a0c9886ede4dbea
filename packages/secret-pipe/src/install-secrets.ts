import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { AtomicFileError, resolveWriteDirectory, writeFileAtomicSync } from "@sbx/atomic-file";
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
  /**
   * The directories a destination may resolve into (the state volume, the runtime tmpfs). Each
   * destination is checked at every path component: one reached through a link that leads
   * anywhere else (`ln -s /workspace/leak ~/.claude`) is refused, and then nothing is installed.
   */
  within: readonly string[];
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
 * right mode, atomically (agents such as Claude Code re-read their login when the file changes,
 * and must never see half of it), then overwrites and removes the tmpfs copy.
 *
 * All destinations are checked before any is written, and every write goes through the one
 * confined write path (`writeFileAtomicSync` with `within`), which checks them again. Whatever
 * happens, success or failure half-way, no piped copy is left on the tmpfs.
 */
export function installPipedSecrets(installations: SecretInstallation[], options: InstallOptions): InstalledSecret[] {
  const secretsDir = options.secretsDir ?? SECRETS_DIR;
  for (const installation of installations) assertSecretName(installation.secret);
  const sources = installations.map((installation) => join(secretsDir, installation.secret));
  try {
    const planned = installations.map((installation, index) => {
      const destination = installation.destination.startsWith("~/") ? join(options.home, installation.destination.slice(2)) : resolve(installation.destination);
      let content: Buffer;
      try {
        content = readFileSync(sources[index] as string);
      } catch (cause) {
        throw new SecretPipeError("SBX_SECRET_INSTALL_FAILED", `The piped secret "${installation.secret}" is missing from ${secretsDir}.`, {
          hint: "Run `sbx up` again to pipe the logins.",
          cause,
        });
      }
      const within = confinement(installation, destination, options.within);
      moveDirectoryAside(destination);
      return { installation, destination, content, within };
    });
    return planned.map(({ installation, destination, content, within }) => {
      const mode = installation.mode ?? 0o600;
      const keepExisting = installation.preferNewer !== undefined && existingIsNewer(destination, content, installation.preferNewer);
      if (!keepExisting) {
        const bytes = installation.mergeJson ? mergeOverExisting(destination, content) : content;
        try {
          writeFileAtomicSync(destination, bytes, { mode, within });
        } catch (cause) {
          if (cause instanceof AtomicFileError && cause.code === "SBX_PATH_ESCAPES") throw refused(installation, options.within, cause);
          throw new SecretPipeError("SBX_SECRET_INSTALL_FAILED", `The piped secret "${installation.secret}" could not be written to ${installation.destination}.`, {
            hint: `${(cause as NodeJS.ErrnoException).code ?? "The write failed"} at ${destination}: move what is there away from a shell in the sandbox (\`sbx exec -- mv ${destination} ${destination}.broken\`) and run \`sbx up\` again.`,
            cause,
          });
        }
      }
      return { secret: installation.secret, destination, bytes: content.length, mode, outcome: keepExisting ? "kept-newer" : "installed" } satisfies InstalledSecret;
    });
  } finally {
    for (const source of sources) shred(source);
  }
}

/** The allowed directory `destination` resolves into (creating its missing parents there), or a refusal. */
function confinement(installation: SecretInstallation, destination: string, within: readonly string[]): string {
  let lastRefusal: unknown;
  for (const root of within) {
    try {
      resolveWriteDirectory(destination, { within: root });
      return root;
    } catch (error) {
      if (!(error instanceof AtomicFileError && error.code === "SBX_PATH_ESCAPES")) throw error;
      lastRefusal = error;
    }
  }
  throw refused(installation, within, lastRefusal);
}

function refused(installation: SecretInstallation, within: readonly string[], cause: unknown): SecretPipeError {
  return new SecretPipeError(
    "SBX_SECRET_DESTINATION_REFUSED",
    `Refusing to install the piped secret "${installation.secret}": ${installation.destination} resolves outside ${within.join(" and ")}, so nothing was installed.`,
    { hint: "Something inside the sandbox replaced a directory on the way with a symlink; run `sbx down` and `sbx up` (the entrypoint repairs its layout).", cause },
  );
}

/**
 * A directory where a login file belongs (made by the agent) would fail every later install: it is
 * renamed aside beside it, kept, never deleted. Its parent was just checked to be confined.
 */
function moveDirectoryAside(destination: string): void {
  if (!lstatSync(destination, { throwIfNoEntry: false })?.isDirectory()) return;
  renameSync(destination, `${destination}.in-the-way-${process.pid}-${randomBytes(4).toString("hex")}`);
}

/** The file at `path`, never read through a link standing there (a planted link is not the agent's state). */
function readOwnFile(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

function mergeOverExisting(destination: string, incoming: Buffer): Buffer {
  let existing: unknown;
  try {
    existing = JSON.parse(readOwnFile(destination)?.toString("utf8") ?? "");
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
  const existing = readOwnFile(destination);
  return existing !== undefined && stamp(existing) > stamp(incoming);
}

/** Overwrites a file's bytes before unlinking it, so the tmpfs pages no longer hold the secret. */
export function shred(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW);
  } catch {
    rmSync(path, { force: true });
    return;
  }
  try {
    const length = fstatSync(fd).size;
    writeSync(fd, Buffer.alloc(length), 0, length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  rmSync(path, { force: true });
}
