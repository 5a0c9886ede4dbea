import { createHash } from "node:crypto";
import { closeSync, constants, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { SecretPipeError } from "./errors.js";
import { installPipedSecrets, shred, type InstallOptions, type InstalledSecret, type SecretInstallation } from "./install-secrets.js";
import { assertSecretName, SECRETS_DIR } from "./pipe-secret.js";

/** One secret in a bundle: its bytes and where the sandbox installs them. */
export interface BundledSecret extends SecretInstallation {
  content: Uint8Array | string;
}

/** The bundle's first line: everything but the bytes. Names, sizes and hashes are not secret. */
interface BundleHeader {
  version: 1;
  secrets: Array<SecretInstallation & { bytes: number; sha256: string }>;
}

export interface VerifiedInstall extends InstalledSecret {
  sha256: string;
}

/** An install report names each secret with its size and hash: far under this for any bundle sbx sends. */
export const REPORT_MAX_BYTES = 1024 * 1024;

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/**
 * Delivers several secrets and installs them in one exec — each exec is an engine round trip, so
 * this is what keeps `sbx up` fast. The bytes still travel only on the exec's stdin: a header line
 * (names, sizes, SHA-256, destinations) and then the secrets back to back. The sandbox checks each
 * hash before installing anything; the host then checks the sizes and hashes it reports.
 */
export async function pipeSecretBundle(
  runtime: ContainerRuntime,
  container: string,
  secrets: BundledSecret[],
  options: {
    installCommand: string[];
    /**
     * The install command prints its report as one line and then more (the caller's own, e.g. a
     * listing taken in the same exec, which saves a round trip): what follows the report's line
     * is handed here, unread. Without it the whole output is the report.
     */
    onTrailer?: (trailer: Buffer) => void;
    /** The most the install command may print, trailer included (the sandbox chooses what it prints). @default 1 MiB */
    maxOutputBytes?: number;
  },
): Promise<VerifiedInstall[]> {
  const contents = secrets.map((secret) => (typeof secret.content === "string" ? Buffer.from(secret.content) : Buffer.from(secret.content)));
  const header: BundleHeader = {
    version: 1,
    secrets: secrets.map(({ content: _content, ...installation }, index) => {
      assertSecretName(installation.secret);
      const bytes = contents[index] as Buffer;
      return { ...installation, bytes: bytes.length, sha256: sha256(bytes) };
    }),
  };
  let result;
  try {
    result = await runtime.exec(container, {
      cmd: options.installCommand,
      stdin: Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), ...contents]),
      maxOutputBytes: options.maxOutputBytes ?? REPORT_MAX_BYTES,
    });
  } catch (cause) {
    // The sandbox answered with more than any install prints: its own error says so.
    if ((cause as { code?: unknown }).code === "SBX_EXEC_OUTPUT_TOO_LARGE") throw cause;
    throw new SecretPipeError("SBX_SECRET_PIPE_FAILED", "Piping the logins into the sandbox failed.", { hint: "Check that the sandbox is running (`sbx status`).", cause });
  }
  if (result.exitCode !== 0) {
    throw new SecretPipeError("SBX_SECRET_INSTALL_FAILED", "The sandbox could not install the piped logins.", {
      hint: result.stderr.toString("utf8").trim().split("\n").slice(-2).join(" ") || "Run `sbx down` and `sbx up` again.",
    });
  }
  const end = options.onTrailer ? result.stdout.indexOf(0x0a) : -1;
  const report = parseReport(end < 0 ? result.stdout : result.stdout.subarray(0, end));
  if (options.onTrailer) options.onTrailer(end < 0 ? Buffer.alloc(0) : result.stdout.subarray(end + 1));
  for (const sent of header.secrets) {
    const received = report.find((entry) => entry.secret === sent.secret);
    if (!received || received.bytes !== sent.bytes || received.sha256 !== sent.sha256) {
      throw new SecretPipeError("SBX_SECRET_PIPE_FAILED", `The secret "${sent.secret}" arrived incomplete (${received?.bytes ?? 0} of ${sent.bytes} bytes).`, {
        hint: "Run `sbx down` and `sbx up` again.",
      });
    }
  }
  return report;
}

/** The sandbox's report (names, sizes, hashes), which it controls: anything but a list is refused. */
function parseReport(stdout: Buffer): VerifiedInstall[] {
  let report: unknown;
  try {
    report = JSON.parse(stdout.toString("utf8"));
  } catch {
    report = undefined;
  }
  if (!Array.isArray(report)) {
    throw new SecretPipeError("SBX_SECRET_PIPE_FAILED", "The sandbox's install report is not one sbx understands.", { hint: "Rebuild the image: sbx up --rebuild." });
  }
  return report as VerifiedInstall[];
}

/**
 * Runs inside the sandbox on the bundle read from stdin: lands each secret on the tmpfs (mode
 * 0600), checks its size and hash against the header, and only when every one is whole installs
 * them all (which shreds the tmpfs copies).
 */
export function receiveSecretBundle(bundle: Buffer, options: InstallOptions): VerifiedInstall[] {
  const secretsDir = options.secretsDir ?? SECRETS_DIR;
  const newline = bundle.indexOf(0x0a);
  let header: BundleHeader;
  try {
    header = JSON.parse(bundle.subarray(0, newline).toString("utf8")) as BundleHeader;
  } catch (cause) {
    throw new SecretPipeError("SBX_SECRET_PIPE_FAILED", "The secret bundle's header is not valid JSON.", { cause });
  }
  if (newline < 0 || header.version !== 1 || !Array.isArray(header.secrets)) {
    throw new SecretPipeError("SBX_SECRET_PIPE_FAILED", "The secret bundle is not one this sandbox understands.", { hint: "Rebuild the image: sbx up --rebuild." });
  }
  // Each install lands in a fresh directory of its own: several `sbx up` at once must never
  // overwrite or shred each other's copies, and a link the agent planted in /run/secrets (which
  // it can write) must never be written through.
  const landingDir = mkdtempSync(join(secretsDir, ".install-"));
  let offset = newline + 1;
  const landed: Array<{ secret: string; sha256: string; path: string }> = [];
  let installed: InstalledSecret[];
  try {
    try {
      for (const entry of header.secrets) {
        assertSecretName(entry.secret);
        const bytes = bundle.subarray(offset, offset + entry.bytes);
        offset += entry.bytes;
        const path = join(landingDir, entry.secret);
        const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        landed.push({ secret: entry.secret, sha256: entry.sha256, path });
        try {
          writeSync(fd, bytes);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        const written = readFileSync(path);
        if (written.length !== entry.bytes || sha256(written) !== entry.sha256) {
          throw new SecretPipeError("SBX_SECRET_PIPE_FAILED", `The secret "${entry.secret}" arrived incomplete (${written.length} of ${entry.bytes} bytes).`);
        }
      }
    } catch (error) {
      // All or nothing: no piped secret, whole or partial, stays on the tmpfs.
      for (const { path } of landed) shred(path);
      throw error;
    }
    installed = installPipedSecrets(
      header.secrets.map(({ bytes: _bytes, sha256: _sha256, ...installation }) => installation),
      { ...options, secretsDir: landingDir },
    );
  } finally {
    rmSync(landingDir, { recursive: true, force: true });
  }
  return installed.map((item) => ({ ...item, sha256: landed.find((entry) => entry.secret === item.secret)?.sha256 ?? "" }));
}
