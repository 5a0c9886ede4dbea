export type SecretPipeErrorCode = "SBX_SECRET_NAME_INVALID" | "SBX_SECRET_PIPE_FAILED" | "SBX_SECRET_INSTALL_FAILED";

/** Shaped like every sbx error: stable code, one sentence naming the secret (never its bytes), hint, cause. */
export class SecretPipeError extends Error {
  override readonly name = "SecretPipeError";
  readonly code: SecretPipeErrorCode;
  readonly hint: string | undefined;

  constructor(code: SecretPipeErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}
