import { createHash } from "node:crypto";
import { displayTitle, type SessionStats } from "./session-stats.js";

/** `<iso-ts>/<convo-slug>.md`, relative to the `conversations` directory. */
export function notePathFor(stats: SessionStats, sourcePath: string): string {
  return `${folderTimestamp(stats.started)}/${conversationSlug(stats, sourcePath)}.md`;
}

/** The session start as a name every filesystem accepts: `2025-10-21T20-09-56Z`. */
export function folderTimestamp(started: string | null): string {
  if (started === null) return "undated";
  const time = Date.parse(started);
  if (Number.isNaN(time)) return "undated";
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, "Z").replace(/:/g, "-");
}

/**
 * Words of the title (or first prompt) plus the start of the session id: two sessions that
 * start in the same second with the same words still get different notes.
 */
export function conversationSlug(stats: SessionStats, sourcePath: string): string {
  const words = displayTitle(stats)
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .normalize("NFC")
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M}]+/gu, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 60)
    .replace(/-+$/, "");
  const id = (stats.sessionId ?? "").replace(/[^A-Za-z0-9]/g, "").slice(0, 8) || createHash("sha256").update(sourcePath).digest("hex").slice(0, 8);
  return `${words || "session"}-${id.toLowerCase()}`;
}
