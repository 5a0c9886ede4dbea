import { ClaudeSessionReader } from "./claude-session.js";
import { CodexSessionReader } from "./codex-session.js";
import { GeminiSessionReader } from "./gemini-session.js";
import { feedLine, stringLines } from "./jsonl-lines.js";
import { renderSection, type Section, type TurnState } from "./note-sections.js";
import { resolveRenderOptions, type RenderOptions, type ResolvedRenderOptions } from "./render-options.js";
import { renderNoteHeader } from "./session-stats.js";
import type { TranscriptReader } from "./transcript-reader.js";

/** Render a Claude Code session (the text of its `.jsonl` file) as one Markdown note. */
export function renderClaudeSession(jsonl: string, options?: RenderOptions): string {
  const resolved = resolveRenderOptions(options);
  return renderLines(jsonl, resolved, (sink) => new ClaudeSessionReader(resolved, sink));
}

/** Render a Codex rollout (`rollout-*.jsonl` text) as one Markdown note. */
export function renderCodexSession(jsonl: string, options?: RenderOptions): string {
  const resolved = resolveRenderOptions(options);
  return renderLines(jsonl, resolved, (sink) => new CodexSessionReader(sink));
}

/** Render a Gemini CLI chat (the older `.json` document or the current `.jsonl` log) as one note. */
export function renderGeminiSession(text: string, options?: RenderOptions): string {
  const resolved = resolveRenderOptions(options);
  const document = parseGeminiDocument(text);
  if (document === undefined) return renderLines(text, resolved, (sink) => new GeminiSessionReader(sink));
  const body: string[] = [];
  const turn: TurnState = { role: null };
  const reader = new GeminiSessionReader((section) => body.push(renderSection(section, { options: resolved, depth: 0, turn })));
  reader.pushDocument(document);
  reader.finish();
  return renderNoteHeader(reader.stats) + body.join("");
}

/** A whole-file Gemini `.json` document, or undefined when the text is a JSONL log. */
export function parseGeminiDocument(text: string): unknown {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null && Array.isArray((value as { messages?: unknown }).messages) ? value : undefined;
  } catch {
    return undefined;
  }
}

function renderLines(text: string, options: ResolvedRenderOptions, create: (sink: (section: Section) => void) => TranscriptReader): string {
  const body: string[] = [];
  const turn: TurnState = { role: null };
  const reader = create((section) => body.push(renderSection(section, { options, depth: 0, turn })));
  for (const line of stringLines(text)) if (!feedLine(reader, line)) break;
  reader.finish();
  return renderNoteHeader(reader.stats) + body.join("");
}
