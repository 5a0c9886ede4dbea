/** Stable codes a caller can branch on; the CLI maps them to messages and exit codes. */
export type RuntimeErrorCode =
  | "SBX_DOCKER_UNREACHABLE"
  | "SBX_DOCKER_HOST_INVALID"
  | "SBX_DOCKER_API"
  | "SBX_CONTAINER_NOT_FOUND"
  | "SBX_CONTAINER_NOT_RUNNING"
  | "SBX_IMAGE_NOT_FOUND"
  | "SBX_IMAGE_IN_USE"
  | "SBX_IMAGE_BUILD_FAILED";

/**
 * Every sbx error has a stable `code`, a one-sentence `message` (never a secret), an optional
 * `hint` saying what to do, and the original `cause`.
 */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
  readonly code: RuntimeErrorCode;
  readonly hint: string | undefined;

  constructor(code: RuntimeErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

export function isRuntimeError(error: unknown, code?: RuntimeErrorCode): error is RuntimeError {
  return error instanceof RuntimeError && (code === undefined || error.code === code);
}

/** One wording for every driver (and the CLI's launcher check), so a user sees the same sentence. */
export function containerNotFound(name: string): RuntimeError {
  return new RuntimeError("SBX_CONTAINER_NOT_FOUND", `No such container: ${name}.`, {
    hint: "Run `sbx up` to start the project's sandbox, or `sbx ls` to see the ones that exist.",
  });
}

export function containerNotRunning(detail: string): RuntimeError {
  return new RuntimeError("SBX_CONTAINER_NOT_RUNNING", `The container is not running (${detail}).`, { hint: "Run `sbx up --detach` to start it again." });
}

export function imageInUse(ref: string): RuntimeError {
  return new RuntimeError("SBX_IMAGE_IN_USE", `The image ${ref} is used by a container.`, { hint: "Remove the containers that use it first (`sbx down` in their projects)." });
}
