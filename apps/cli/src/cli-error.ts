/** The CLI's own failures; packages throw their own errors of the same shape (code, message, hint). */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: `SBX_${string}`, message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

interface ShapedError {
  code: string;
  message: string;
  hint?: string;
  exitCode?: number;
}

/** Any error carrying a stable `SBX_…` code is a known outcome: a message and hint, no stack. */
export function isShapedError(error: unknown): error is ShapedError {
  return error instanceof Error && typeof (error as unknown as { code?: unknown }).code === "string" && String((error as unknown as { code: string }).code).startsWith("SBX_");
}

/** Formats any error for a person: one sentence, a hint, the code; a stack only for real bugs. */
export function formatError(error: unknown, debug = process.env.SBX_DEBUG === "1"): { text: string; exitCode: number } {
  if (isShapedError(error)) {
    const lines = [`sbx: ${error.message}`];
    if (error.hint) lines.push(`hint: ${error.hint}`);
    lines.push(`code: ${error.code}`);
    if (debug && error instanceof Error && error.cause) lines.push(`cause: ${String((error.cause as Error).stack ?? error.cause)}`);
    return { text: `${lines.join("\n")}\n`, exitCode: error.exitCode ?? 1 };
  }
  const text = debug
    ? `sbx: unexpected error\n${(error as Error)?.stack ?? String(error)}\n`
    : `sbx: unexpected error: ${(error as Error)?.message ?? String(error)}\nhint: this is a bug in sbx; rerun with SBX_DEBUG=1 for details and report it.\ncode: SBX_INTERNAL\n`;
  return { text, exitCode: 70 };
}
