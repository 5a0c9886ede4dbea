import type { Section } from "./note-sections.js";
import type { SessionStats } from "./session-stats.js";

/** Where a line starts in its file: 1-based line number and byte offset. */
export interface LinePosition {
  line: number;
  offset: number;
}

/**
 * A point from which a session can be resumed: every section before it has been emitted, and
 * `stats` are the totals of every line before `offset`.
 */
export interface ReaderCheckpoint {
  offset: number;
  line: number;
  stats: SessionStats;
}

export interface MalformedLine {
  /** The session file, as given to the exporter (empty for the string renderers). */
  file: string;
  /** 1-based line number in that file. */
  line: number;
  reason: string;
}

/**
 * Turns one session's records, in file order, into finished sections. A section is emitted once
 * nothing later in the file can change it; `finish` emits the rest.
 */
export interface TranscriptReader {
  push(record: unknown, at: LinePosition): void;
  malformed(at: LinePosition, reason: string): void;
  /** Called after each line with where the next one starts. */
  lineDone(next: LinePosition): void;
  finish(): void;
  readonly stats: SessionStats;
  /** Lines this reader could not use, in the order met. */
  readonly malformedPositions: { line: number; reason: string }[];
  /** The latest point a later run may resume from, if there is one. */
  checkpoint(): ReaderCheckpoint | undefined;
}

export type SectionSink = (section: Section) => void;
