/**
 * Parses a login file that must hold a JSON object. Login files are the user's, but anything can
 * end up in them (a half-written save, `null`, a stray array); each of those is a reason to skip
 * the login, never a crash of the command that probed it.
 */
export function parseJsonObject(raw: Buffer, source: string): { ok: true; value: Record<string, unknown> } | { ok: false; reason: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw.toString("utf8"));
  } catch {
    return { ok: false, reason: `${source} is not valid JSON.` };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return { ok: true, value: value as Record<string, unknown> };
  return { ok: false, reason: `${source} holds ${describeJson(value)} where a JSON object belongs.` };
}

/** What a non-object JSON value is, without its content (a string could be a token). */
function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `a string of ${value.length} characters`;
  return `a ${typeof value}`;
}

export const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
