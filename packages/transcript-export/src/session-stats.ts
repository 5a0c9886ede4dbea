import matter from "gray-matter";
import { escapeInline, stripTerminalEscapes } from "./markdown.js";

export type AgentName = "claude" | "codex" | "gemini";

/**
 * What the frontmatter is made of. Plain JSON so the exporter can keep a copy in its state file
 * and resume a session from the middle without re-reading its history.
 */
export interface SessionStats {
  agent: AgentName;
  sessionId: string | null;
  cwd: string | null;
  gitBranch: string | null;
  models: string[];
  agentVersion: string | null;
  started: string | null;
  ended: string | null;
  turns: number;
  toolCalls: number;
  tokens: { input: number; output: number; cacheCreation: number; cacheRead: number };
  title: string | null;
  /** Higher wins: a name the user gave beats a generated title beats a summary. */
  titleRank: number;
  /** The first prompt that reads as a request (a few words, not `continue`): the title's source. */
  firstPrompt: string | null;
  /** The first slash command with its arguments, and the first short prompt: titles when nothing better exists. */
  firstCommand?: string | null;
  shortPrompt?: string | null;
  malformedLines: number;
  /** The last slash command seen, so its expanded prompt can be labelled as such. */
  lastCommand: string | null;
  /** Subagent files already placed under their call, so none is rendered twice. */
  linkedSubagents: string[];
}

export function emptyStats(agent: AgentName): SessionStats {
  return {
    agent,
    sessionId: null,
    cwd: null,
    gitBranch: null,
    models: [],
    agentVersion: null,
    started: null,
    ended: null,
    turns: 0,
    toolCalls: 0,
    tokens: { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 },
    title: null,
    titleRank: 0,
    firstPrompt: null,
    firstCommand: null,
    shortPrompt: null,
    malformedLines: 0,
    lastCommand: null,
    linkedSubagents: [],
  };
}

/**
 * A copy of `stats` that later changes to `stats` do not reach. Readers take one per line, so it is
 * a plain copy, not `structuredClone` (which serialises through a buffer outside the heap).
 */
export function copyStats(stats: SessionStats): SessionStats {
  return { ...stats, models: [...stats.models], tokens: { ...stats.tokens }, linkedSubagents: [...stats.linkedSubagents] };
}

/**
 * `copyStats` into an existing copy, reusing its arrays and token object: a reader that needs the
 * totals before each line, but keeps them only for the few lines that open a section, allocates
 * nothing for the rest. `target` must come from `copyStats` of an earlier state of `source`: its
 * keys are then a subset of the source's (the optional ones appear, never go). Field by field:
 * `Object.assign` took twice as long as allocating a fresh copy.
 */
export function copyStatsInto(target: SessionStats, source: SessionStats): SessionStats {
  target.agent = source.agent;
  target.sessionId = source.sessionId;
  target.cwd = source.cwd;
  target.gitBranch = source.gitBranch;
  copyArrayInto(target.models, source.models);
  target.agentVersion = source.agentVersion;
  target.started = source.started;
  target.ended = source.ended;
  target.turns = source.turns;
  target.toolCalls = source.toolCalls;
  const tokens = target.tokens;
  tokens.input = source.tokens.input;
  tokens.output = source.tokens.output;
  tokens.cacheCreation = source.tokens.cacheCreation;
  tokens.cacheRead = source.tokens.cacheRead;
  target.title = source.title;
  target.titleRank = source.titleRank;
  target.firstPrompt = source.firstPrompt;
  if ("firstCommand" in source) target.firstCommand = source.firstCommand;
  if ("shortPrompt" in source) target.shortPrompt = source.shortPrompt;
  target.malformedLines = source.malformedLines;
  target.lastCommand = source.lastCommand;
  copyArrayInto(target.linkedSubagents, source.linkedSubagents);
  return target;
}

function copyArrayInto(target: string[], source: readonly string[]): void {
  target.length = source.length;
  for (let index = 0; index < source.length; index += 1) target[index] = source[index] as string;
}

export function noteTimestamp(stats: SessionStats, value: unknown): void {
  if (typeof value !== "string") return;
  const time = Date.parse(value);
  if (Number.isNaN(time)) return;
  // Records are not always in time order (sidechains, resumed sessions): keep the extremes.
  // Most lines repeat the format of the last one, where comparing the strings is enough.
  if (stats.started === null || (value.length === stats.started.length && ISO_UTC.test(value) && ISO_UTC.test(stats.started) ? value < stats.started : time < Date.parse(stats.started))) stats.started = value;
  if (stats.ended === null || (value.length === stats.ended.length && ISO_UTC.test(value) && ISO_UTC.test(stats.ended) ? value > stats.ended : time > Date.parse(stats.ended))) stats.ended = value;
}

/** `2025-10-21T20:04:22.388Z`: strings of this shape and equal length sort as their times do. */
const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

export function noteModel(stats: SessionStats, model: unknown): void {
  if (typeof model !== "string" || !model || model.startsWith("<")) return;
  if (!stats.models.includes(model)) stats.models.push(model);
}

export function noteTitle(stats: SessionStats, title: unknown, rank: number): void {
  if (typeof title !== "string" || !title.trim()) return;
  if (rank >= stats.titleRank) {
    stats.title = title.trim();
    stats.titleRank = rank;
  }
}

export function noteFirstPrompt(stats: SessionStats, text: string): void {
  const trimmed = stripTerminalEscapes(text).trim();
  if (!trimmed) return;
  const firstLine = trimmed.split("\n").find((line) => line.trim()) ?? "";
  // "continue", "yes", "go on" say nothing about the session; a request of a few words does.
  if (firstLine.split(/\s+/).filter((word) => /[\p{L}\p{N}]/u.test(word)).length >= 3) {
    if (stats.firstPrompt === null) stats.firstPrompt = trimmed.slice(0, 200);
  } else if (!stats.shortPrompt) stats.shortPrompt = trimmed.slice(0, 200);
}

/** A slash command the user ran, with its arguments: the title of a session with no typed request. */
export function noteFirstCommand(stats: SessionStats, command: string): void {
  if (!stats.firstCommand && command.trim()) stats.firstCommand = command.trim().slice(0, 200);
}

const VERSION_KEY: Record<AgentName, string> = { claude: "claude_version", codex: "codex_version", gemini: "gemini_version" };

export function displayTitle(stats: SessionStats): string {
  const source = stats.title ?? stats.firstPrompt ?? stats.firstCommand ?? stats.shortPrompt ?? `Session ${stats.sessionId ?? ""}`.trim();
  const clean = stripTerminalEscapes(source);
  const firstLine = clean.split("\n").find((line) => line.trim()) ?? clean;
  // A prompt that starts with a Markdown heading gives its words, not its `#`s.
  return firstLine.trim().replace(/^#{1,6}\s+/, "").slice(0, 120);
}

/** A copy of `stats` with every text a header or file name is made of passed through `redact`. */
export function redactStats(stats: SessionStats, redact: (text: string) => string): SessionStats {
  const text = (value: string | null): string | null => (value === null ? null : redact(value));
  return {
    ...copyStats(stats),
    sessionId: text(stats.sessionId),
    cwd: text(stats.cwd),
    gitBranch: text(stats.gitBranch),
    models: stats.models.map(redact),
    agentVersion: text(stats.agentVersion),
    title: text(stats.title),
    firstPrompt: text(stats.firstPrompt),
    lastCommand: text(stats.lastCommand),
    firstCommand: text(stats.firstCommand ?? null),
    shortPrompt: text(stats.shortPrompt ?? null),
  };
}

export interface NoteHeaderExtras {
  /** The host project the session belongs to; beats the last segment of the session's cwd. */
  project?: { name: string; path: string };
}

/** Frontmatter and title. Keys always appear, in this order, so notes diff cleanly. */
export function renderNoteHeader(stats: SessionStats, extras: NoteHeaderExtras = {}): string {
  const project = extras.project?.name ?? (stats.cwd ? stats.cwd.split(/[\\/]/).filter(Boolean).pop() ?? stats.cwd : null);
  const data: Record<string, unknown> = {
    title: displayTitle(stats),
    session_id: stats.sessionId,
    agent: stats.agent,
    project,
    project_path: extras.project?.path ?? null,
    cwd: stats.cwd,
    git_branch: stats.gitBranch,
    model: stats.models[0] ?? null,
    models: stats.models,
    [VERSION_KEY[stats.agent]]: stats.agentVersion,
    started: stats.started,
    ended: stats.ended,
    turns: stats.turns,
    tool_calls: stats.toolCalls,
    tokens: {
      input: stats.tokens.input,
      output: stats.tokens.output,
      cache_creation: stats.tokens.cacheCreation,
      cache_read: stats.tokens.cacheRead,
    },
    malformed_lines: stats.malformedLines,
    tags: ["sbx/transcript", `agent/${stats.agent}`, ...(project ? [`project/${tagWord(project)}`] : [])],
  };
  return `${matter.stringify("", data).trimEnd()}\n\n# ${escapeInline(displayTitle(stats)).replace(/^#+/, "")}\n\n`;
}

function tagWord(text: string): string {
  return text.replace(/[^\p{L}\p{N}_/-]+/gu, "-").replace(/^-+|-+$/g, "") || "unnamed";
}
