import { SbxError } from "@sbx/errors";

/** Stable codes a caller can branch on; the CLI maps them to messages and exit codes. */
export type RuntimeErrorCode =
  | "SBX_DOCKER_UNREACHABLE"
  | "SBX_DOCKER_PERMISSION_DENIED"
  | "SBX_DOCKER_TIMEOUT"
  | "SBX_DOCKER_TIMEOUT_INVALID"
  | "SBX_CONTAINER_EXISTS"
  | "SBX_DOCKER_HOST_INVALID"
  | "SBX_DOCKER_API"
  | "SBX_CONTAINER_NOT_FOUND"
  | "SBX_CONTAINER_NOT_RUNNING"
  | "SBX_IMAGE_NOT_FOUND"
  | "SBX_IMAGE_IN_USE"
  | "SBX_IMAGE_BUILD_FAILED"
  | "SBX_NETWORK_IN_USE"
  | "SBX_EXEC_OUTPUT_TOO_LARGE";

/** The runtime's errors: the one sbx error shape (@sbx/errors), narrowed to the runtime's codes. */
export class RuntimeError extends SbxError<RuntimeErrorCode> {
  override readonly name = "RuntimeError";
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

export function networkInUse(name: string): RuntimeError {
  return new RuntimeError("SBX_NETWORK_IN_USE", `The network ${name} still has containers attached.`, { hint: "Remove or disconnect its containers first (`sbx down` in their project)." });
}

/** A create lost a race (or met a leftover): the name is taken. Callers that converge re-inspect and reuse. */
export function containerExists(name: string): RuntimeError {
  return new RuntimeError("SBX_CONTAINER_EXISTS", `A container named ${name} already exists.`, {
    hint: "Another sbx command may have just created it; run `sbx status` to see it.",
  });
}

/** An exec printed more than its caller reads (ExecOptions.maxOutputBytes). */
export function execOutputTooLarge(container: string, maxBytes: number): RuntimeError {
  return new RuntimeError("SBX_EXEC_OUTPUT_TOO_LARGE", `A command in ${container} printed more than ${maxBytes} bytes; sbx stopped reading it.`, {
    hint: "Something in the sandbox answered with far more than it should; look at what runs there (`sbx shell`), or recreate it (`sbx down`, `sbx up`).",
  });
}
