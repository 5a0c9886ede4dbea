import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "@sbx/atomic-file";
import type { AgentName, SessionStats } from "./session-stats.js";
import type { MalformedLine } from "./transcript-reader.js";

export const STATE_FILE = ".sbx-export-state.json";

export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino?: number;
}

/** Everything a later run needs to skip or continue a session without re-reading its history. */
export interface SessionState {
  agent: AgentName;
  source: FileStamp;
  /** Bytes of the source turned into the note; a half-written last line is after this. */
  consumed: number;
  /** A fingerprint of the bytes before `consumed` (see prefixHash): proves the file was only appended to. */
  prefixHash: string;
  /** The settings the note was rendered with (redaction, project); another value re-renders it. */
  settingsKey?: string;
  /** The note, relative to the conversations directory, and its size as written. */
  notePath: string;
  noteSize: number;
  headerBytes: number;
  resume?: {
    offset: number;
    line: number;
    stats: SessionStats;
    /** The note body before `offset`, which a later run copies instead of re-rendering. */
    bodyBytes: number;
    bodyHash: string;
    /** Whose turn the body ends in, so a resumed note does not repeat the `## assistant` heading. */
    lastRole: "user" | "assistant" | null;
  };
  subagents: Record<string, FileStamp>;
  malformed: MalformedLine[];
}

export interface ExportState {
  version: 1;
  sessions: Record<string, SessionState>;
}

export async function loadState(path: string): Promise<ExportState> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as unknown;
    if (typeof parsed === "object" && parsed !== null && (parsed as ExportState).version === 1) return parsed as ExportState;
  } catch {
    // Missing or unreadable state only costs a full re-render.
  }
  return { version: 1, sessions: {} };
}

export async function saveState(path: string, state: ExportState): Promise<void> {
  const sorted: ExportState = { version: 1, sessions: Object.fromEntries(Object.entries(state.sessions).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  await writeFileAtomic(path, `${JSON.stringify(sorted)}\n`, { mode: 0o644 });
}
