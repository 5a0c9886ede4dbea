/**
 * The one error shape of sbx, modelled on pnpm's error package: a stable `code` a caller can branch
 * on, a one-sentence `message` that never carries a secret, an optional `hint` saying what to do,
 * the original `cause`, and the process exit code the CLI should use. Each package narrows `Code`
 * to its own codes by subclassing; none re-implements the fields.
 */
export interface SbxErrorOptions {
  hint?: string;
  cause?: unknown;
  /** @default 1 */
  exitCode?: number;
}

export class SbxError<Code extends `SBX_${string}` = `SBX_${string}`> extends Error {
  override readonly name: string = "SbxError";
  readonly code: Code;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: Code, message: string, options: SbxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * True for any error carrying a stable `SBX_…` code, from this copy of the package or another
 * (two installs of @sbx/errors would each have their own class, so this checks the shape).
 */
export function isSbxError(error: unknown, code?: string): error is SbxError {
  if (!(error instanceof Error)) return false;
  const found = (error as { code?: unknown }).code;
  return typeof found === "string" && found.startsWith("SBX_") && (code === undefined || found === code);
}
