import { createHash } from "node:crypto";
import { basename } from "node:path";
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
  // Without a recorded id, the UUID agents put in the file name (Claude's `<uuid>.jsonl`, Codex's
  // `rollout-<time>-<uuid>.jsonl`) keeps the name stable wherever the file is read from.
  const fromName = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl?$/i.exec(basename(sourcePath))?.[1];
  const id =
    (stats.sessionId ?? fromName ?? "").replace(/[^A-Za-z0-9]/g, "").slice(0, 8) || createHash("sha256").update(basename(sourcePath)).digest("hex").slice(0, 8);
  return `${words || "session"}-${id.toLowerCase()}`;
}
