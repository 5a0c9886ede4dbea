import { containProse, escapeInline } from "./markdown.js";
import { isRecord, type Part, type Section, type ToolCall, type ToolResult } from "./note-sections.js";
import { emptyStats, noteFirstPrompt, noteModel, noteTimestamp, noteTitle, type SessionStats } from "./session-stats.js";
import type { LinePosition, ReaderCheckpoint, SectionSink, TranscriptReader } from "./transcript-reader.js";

type Entry = { kind: "message"; record: Record<string, unknown> } | { kind: "malformed"; line: number; reason: string };

/**
 * Gemini CLI chat reader: the older whole-file `.json` and the current `.jsonl` log, where a
 * message id may be appended again (the newer copy wins, in the original place), `$set` patches
 * the metadata and `$rewindTo` drops a message and everything after it. Because a rewind can
 * remove history, these sessions are re-rendered whole when they change (no checkpoint).
 */
export class GeminiSessionReader implements TranscriptReader {
  readonly stats: SessionStats = emptyStats("gemini");
  readonly malformedPositions: { line: number; reason: string }[] = [];
  private readonly entries = new Map<string, Entry>();
  private metadata: Record<string, unknown> = {};
  private malformedCount = 0;

  constructor(private readonly sink: SectionSink) {}

  checkpoint(): ReaderCheckpoint | undefined {
    return undefined;
  }

  lineDone(): void {}

  malformed(at: LinePosition, reason: string): void {
    this.malformedCount += 1;
    this.malformedPositions.push({ line: at.line, reason });
    this.entries.set(`#malformed-${at.line}`, { kind: "malformed", line: at.line, reason });
  }

  /** The older format: one JSON document with a `messages` array. */
  pushDocument(document: unknown): void {
    if (!isRecord(document)) return this.malformed({ line: 1, offset: 0 }, "not a JSON object");
    const { messages, ...metadata } = document;
    this.metadata = { ...this.metadata, ...metadata };
    if (Array.isArray(messages)) messages.forEach((message, index) => this.push(message, { line: index + 1, offset: 0 }));
  }

  push(record: unknown, at: LinePosition): void {
    if (!isRecord(record)) return this.malformed(at, "not a JSON object");
    if (typeof record.$rewindTo === "string") {
      const ids = [...this.entries.keys()];
      const index = ids.indexOf(record.$rewindTo);
      // An unknown target is ignored rather than taken to mean "drop everything".
      if (index >= 0) for (const id of ids.slice(index)) this.entries.delete(id);
      return;
    }
    if (isRecord(record.$set)) {
      const { messages, ...metadata } = record.$set;
      this.metadata = { ...this.metadata, ...metadata };
      if (Array.isArray(messages)) {
        this.entries.clear();
        messages.forEach((message) => isRecord(message) && typeof message.id === "string" && this.entries.set(message.id, { kind: "message", record: message }));
      }
      return;
    }
    if (typeof record.id === "string" && typeof record.type === "string") {
      this.entries.set(record.id, { kind: "message", record });
      return;
    }
    if (typeof record.sessionId === "string" || typeof record.projectHash === "string") {
      const { messages, ...metadata } = record;
      this.metadata = { ...this.metadata, ...metadata };
      if (Array.isArray(messages)) messages.forEach((message, index) => this.push(message, { line: index + 1, offset: 0 }));
      return;
    }
    this.malformed(at, "not a Gemini chat record");
  }

  finish(): void {
    const stats = this.stats;
    const metadata = this.metadata;
    if (typeof metadata.sessionId === "string") stats.sessionId = metadata.sessionId;
    noteTimestamp(stats, metadata.startTime);
    noteTimestamp(stats, metadata.lastUpdated);
    noteTitle(stats, metadata.summary, 2);
    const directories = Array.isArray(metadata.directories) ? metadata.directories : [];
    if (typeof directories[0] === "string") stats.cwd = directories[0];
    stats.malformedLines = this.malformedCount;
    for (const entry of this.entries.values()) {
      if (entry.kind === "malformed") {
        this.sink({ kind: "event", part: { type: "notice", kind: "warning", title: `Line ${entry.line} of the session file could not be read (${escapeInline(entry.reason)}); it is left out.` } });
        continue;
      }
      const section = this.section(entry.record);
      if (section) this.sink(section);
    }
  }

  private section(message: Record<string, unknown>): Section | undefined {
    const stats = this.stats;
    const timestamp = typeof message.timestamp === "string" ? message.timestamp : undefined;
    noteTimestamp(stats, timestamp);
    const text = contentText(message.content);
    if (message.type === "user") {
      stats.turns += 1;
      noteFirstPrompt(stats, text);
      return { kind: "user", timestamp, parts: [{ type: "text", text }] };
    }
    if (message.type === "gemini" || message.type === "model") {
      noteModel(stats, message.model);
      const tokens = isRecord(message.tokens) ? message.tokens : {};
      const cached = numberOr(tokens.cached);
      stats.tokens.input += numberOr(tokens.input) - cached;
      stats.tokens.output += numberOr(tokens.output) + numberOr(tokens.thoughts);
      stats.tokens.cacheRead += cached;
      const parts: Part[] = [];
      const thoughts = Array.isArray(message.thoughts) ? message.thoughts.filter(isRecord) : [];
      for (const thought of thoughts) {
        const subject = typeof thought.subject === "string" ? `**${thought.subject}**\n\n` : "";
        // Gemini CLI records some thoughts with a literal `\n\n` (backslash, n) in front.
        const description = typeof thought.description === "string" ? thought.description.replace(/^(\s|\\n)+/, "") : "";
        parts.push({ type: "thinking", text: `${subject}${description}` });
      }
      if (text) parts.push({ type: "text", text });
      const calls = Array.isArray(message.toolCalls) ? message.toolCalls.filter(isRecord) : [];
      for (const raw of calls) {
        stats.toolCalls += 1;
        const call: ToolCall = { id: String(raw.id ?? ""), name: String(raw.name ?? "tool"), input: raw.args, subagents: [], result: resultOf(raw) };
        parts.push({ type: "tool", call });
      }
      const model = typeof message.model === "string" ? message.model : undefined;
      return { kind: "assistant", timestamp, model, parts };
    }
    const kind = message.type === "error" ? "warning" : "info";
    return { kind: "event", timestamp, part: { type: "notice", kind, title: `Gemini CLI ${escapeInline(String(message.type))}`, body: text ? containProse(text) : "" } };
  }
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.filter(isRecord).map((part) => (typeof part.text === "string" ? part.text : "")).filter(Boolean).join("\n\n");
}

function resultOf(call: Record<string, unknown>): ToolResult | undefined {
  const status = typeof call.status === "string" ? call.status : "";
  const results = Array.isArray(call.result) ? call.result.filter(isRecord) : [];
  const texts: string[] = [];
  for (const result of results) {
    const response = isRecord(result.functionResponse) && isRecord(result.functionResponse.response) ? result.functionResponse.response : undefined;
    if (!response) continue;
    const value = response.output ?? response.error ?? response;
    texts.push(typeof value === "string" ? value : JSON.stringify(value, null, 2));
  }
  if (texts.length === 0 && typeof call.resultDisplay === "string") texts.push(call.resultDisplay);
  if (texts.length === 0 && !status) return undefined;
  return { text: texts.join("\n"), isError: status === "error" || status === "cancelled", images: [] };
}

function numberOr(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
