import { isSbxError, SbxError } from "@sbx/errors";

/** The CLI's own failures; packages throw the same shape (@sbx/errors), narrowed to their codes. */
export class CliError extends SbxError {
  override readonly name = "CliError";
}

/** Formats any error for a person: one sentence, a hint, the code; a stack only for real bugs. */
export function formatError(error: unknown, debug = process.env.SBX_DEBUG === "1"): { text: string; exitCode: number } {
  if (isSbxError(error)) {
    const lines = [`sbx: ${error.message}`];
    if (error.hint) lines.push(`hint: ${error.hint}`);
    lines.push(`code: ${error.code}`);
    if (debug && error.cause) lines.push(`cause: ${String((error.cause as Error).stack ?? error.cause)}`);
    return { text: `${lines.join("\n")}\n`, exitCode: typeof error.exitCode === "number" ? error.exitCode : 1 };
  }
  const text = debug
    ? `sbx: unexpected error\n${(error as Error)?.stack ?? String(error)}\n`
    : `sbx: unexpected error: ${(error as Error)?.message ?? String(error)}\nhint: this is a bug in sbx; rerun with SBX_DEBUG=1 for details and report it.\ncode: SBX_INTERNAL\n`;
  return { text, exitCode: 70 };
}
