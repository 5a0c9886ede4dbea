import { createHash } from "node:crypto";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { SecretPipeError } from "./errors.js";

/** The tmpfs every sandbox mounts for secrets in flight: small, `noexec`, owned by the sandbox user. */
export const SECRETS_DIR = "/run/secrets";

const SECRET_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export interface PipeSecretOptions {
  /** File name under /run/secrets: lowercase letters, digits, `.`, `_`, `-`. */
  name: string;
  content: Uint8Array | string;
  /** @default "/run/secrets" */
  secretsDir?: string;
}

export interface PipedSecret {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
}

export function assertSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new SecretPipeError("SBX_SECRET_NAME_INVALID", `"${name}" is not a valid secret name.`, {
      hint: "Use lowercase letters, digits, '.', '_' and '-' (at most 64 characters).",
    });
  }
}

/**
 * Delivers secret bytes into a running container through the stdin of an exec — never env, argv,
 * labels, build args or a bind mount, none of which Docker keeps secret — then checks that every
 * byte arrived by comparing the byte count and SHA-256 the container reports.
 */
export async function pipeSecret(runtime: ContainerRuntime, container: string, options: PipeSecretOptions): Promise<PipedSecret> {
  assertSecretName(options.name);
  const content = typeof options.content === "string" ? Buffer.from(options.content) : Buffer.from(options.content);
  const path = `${options.secretsDir ?? SECRETS_DIR}/${options.name}`;
  // The script is fixed text plus a validated name: nothing secret is ever in an argv.
  const script = `umask 077; cat > ${path} && wc -c < ${path} && sha256sum < ${path}`;
  let result;
  try {
    result = await runtime.exec(container, { cmd: ["sh", "-c", script], stdin: content });
  } catch (cause) {
    throw new SecretPipeError("SBX_SECRET_PIPE_FAILED", `Piping the secret "${options.name}" into the sandbox failed.`, {
      hint: "Check that the sandbox is running (`sbx status`).",
      cause,
    });
  }
  const [countLine = "", hashLine = ""] = result.stdout.toString("utf8").trim().split("\n");
  const sha256 = createHash("sha256").update(content).digest("hex");
  const arrived = Number(countLine.trim());
  if (result.exitCode !== 0 || arrived !== content.length || hashLine.split(/\s+/)[0] !== sha256) {
    // Never leave a partial secret behind.
    await runtime.exec(container, { cmd: ["rm", "-f", path] }).catch(() => undefined);
    throw new SecretPipeError(
      "SBX_SECRET_PIPE_FAILED",
      `The secret "${options.name}" arrived incomplete (${Number.isFinite(arrived) ? arrived : 0} of ${content.length} bytes).`,
      { hint: `The sandbox's ${SECRETS_DIR} may be full or missing; run \`sbx down\` then \`sbx up\`.` },
    );
  }
  return { name: options.name, path, bytes: content.length, sha256 };
}
