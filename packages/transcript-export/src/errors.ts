import { SbxError } from "@sbx/errors";

export type ExportErrorCode =
  | "SBX_EXPORT_SOURCE_MISSING"
  | "SBX_EXPORT_INBOX_UNWRITABLE"
  | "SBX_EXPORT_BAD_AGENT"
  | "SBX_EXPORT_INBOX_LOCKED"
  | "SBX_EXPORT_NOT_A_SESSION";

/** Errors for user-facing failures (@sbx/errors' one shape); a malformed session line is never one of them. */
export class ExportError extends SbxError<ExportErrorCode> {
  override readonly name = "ExportError";
}
