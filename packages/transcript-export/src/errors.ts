export type ExportErrorCode =
  | "SBX_EXPORT_SOURCE_MISSING"
  | "SBX_EXPORT_INBOX_UNWRITABLE"
  | "SBX_EXPORT_BAD_AGENT";

/** Errors for user-facing failures; a malformed session line is never one of them. */
export class ExportError extends Error {
  override readonly name = "ExportError";
  readonly code: ExportErrorCode;
  readonly hint?: string;

  constructor(code: ExportErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}
