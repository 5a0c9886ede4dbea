/** Stable codes a caller can branch on; the CLI maps them to messages and exit codes. */
export type PolicyErrorCode =
  | "SBX_POLICY_BAD_PATTERN"
  | "SBX_POLICY_SLOW_PATTERN"
  | "SBX_POLICY_BAD_CONFIG"
  | "SBX_POLICY_BAD_ENV_FILE"
  | "SBX_POLICY_UNKNOWN_PROFILE"
  | "SBX_POLICY_PROFILE_CYCLE"
  | "SBX_POLICY_NO_HOME";

/**
 * Every sbx error has a stable `code`, a one-sentence `message` (never a secret), an optional
 * `hint` saying what to do, and the original `cause`.
 */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  readonly code: PolicyErrorCode;
  readonly hint: string | undefined;

  constructor(code: PolicyErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
  }
}

export function isPolicyError(error: unknown, code?: PolicyErrorCode): error is PolicyError {
  return error instanceof PolicyError && (code === undefined || error.code === code);
}
