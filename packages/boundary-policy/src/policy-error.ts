import { SbxError } from "@sbx/errors";

/** Stable codes a caller can branch on; the CLI maps them to messages and exit codes. */
export type PolicyErrorCode =
  | "SBX_POLICY_BAD_PATTERN"
  | "SBX_POLICY_BAD_CONFIG"
  | "SBX_POLICY_UNKNOWN_KEY"
  | "SBX_POLICY_BAD_ENV_FILE"
  | "SBX_POLICY_UNKNOWN_PROFILE"
  | "SBX_POLICY_PROFILE_CYCLE"
  | "SBX_POLICY_NO_HOME";

/** The policy's errors: the one sbx error shape (@sbx/errors), narrowed to the policy's codes. */
export class PolicyError extends SbxError<PolicyErrorCode> {
  override readonly name = "PolicyError";
}

export function isPolicyError(error: unknown, code?: PolicyErrorCode): error is PolicyError {
  return error instanceof PolicyError && (code === undefined || error.code === code);
}
