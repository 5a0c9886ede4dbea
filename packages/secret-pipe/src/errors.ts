import { SbxError } from "@sbx/errors";

export type SecretPipeErrorCode = "SBX_SECRET_NAME_INVALID" | "SBX_SECRET_PIPE_FAILED" | "SBX_SECRET_INSTALL_FAILED" | "SBX_SECRET_DESTINATION_REFUSED";

/** The secret pipe's errors (@sbx/errors' one shape): each names the secret, never its bytes. */
export class SecretPipeError extends SbxError<SecretPipeErrorCode> {
  override readonly name = "SecretPipeError";
}
