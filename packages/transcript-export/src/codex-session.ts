import { containProse, escapeInline } from "./markdown.js";
import { isRecord, type Part, type Section, type ToolCall } from "./note-sections.js";
import { copyStats, emptyStats, noteFirstPrompt, noteModel, noteTimestamp, type SessionStats } from "./session-stats.js";
import type { LinePosition, ReaderCheckpoint, SectionSink, TranscriptReader } from "./transcript-reader.js";

interface OpenItem {
  section: Section;
  start: LinePosition;
  statsBefore: SessionStats;
  lastOffset: number;
  pendingCalls: Set<string>;
  /** A user prompt's text as recorded. */
  prompt?: string;
}

// Text Codex puts in the user role itself: the environment, AGENTS.md, instructions.
const INJECTED_USER_TEXT = /^\s*(<environment_context>|<user_instructions>|<permissions instructions>|# AGENTS\.md instructions|<INSTRUCTIONS>)/;

/** The Codex IDE extensions send the editor's state first; the user's words follow this line. */
const IDE_REQUEST_MARKER = /^#{1,6} My request for Codex:[ \t]*$/m;

/** Response items, which rollouts before `session_meta` (mid 2025) wrote bare, with no envelope. */
const ITEM_TYPES = new Set(["message", "reasoning", "function_call", "function_call_output", "custom_tool_call", "custom_tool_call_output", "local_shell_call", "web_search_call"]);

/**
 * Codex rollout reader (`rollout-*.jsonl`). Renders from `response_item` records (what the model
 * saw and said); the `event_msg` copies of the same text are skipped, except token counts.
 */
export class CodexSessionReader implements TranscriptReader {
  readonly stats: SessionStats;
  readonly malformedPositions: { line: number; reason: string }[] = [];
  private readonly queue: OpenItem[] = [];
  private readonly calls = new Map<string, { call: ToolCall; item: OpenItem }>();
  private maxClosedOffset = -1;
  private lastCheckpoint: ReaderCheckpoint | undefined;

  constructor(
    private readonly sink: SectionSink,
    resume?: ReaderCheckpoint,
  ) {
    this.stats = resume ? structuredClone(resume.stats) : emptyStats("codex");
    this.lastCheckpoint = resume ? structuredClone(resume) : undefined;
  }

  checkpoint(): ReaderCheckpoint | undefined {
    return this.lastCheckpoint;
  }

  lineDone(next: LinePosition): void {
    const front = this.queue[0];
    if (!front) this.lastCheckpoint = { offset: next.offset, line: next.line, stats: copyStats(this.stats) };
    else if (this.maxClosedOffset < front.start.offset && this.lastCheckpoint?.offset !== front.start.offset) {
      this.lastCheckpoint = { offset: front.start.offset, line: front.start.line, stats: copyStats(front.statsBefore) };
    }
  }

  malformed(at: LinePosition, reason: string): void {
    const statsBefore = copyStats(this.stats);
    this.stats.malformedLines += 1;
    this.malformedPositions.push({ line: at.line, reason });
    this.open({ kind: "event", part: { type: "notice", kind: "warning", title: `Line ${at.line} of the session file could not be read (${escapeInline(reason)}); it is left out.` } }, at, statsBefore);
  }

  finish(): void {
    while (this.queue.length) this.close(this.queue.shift() as OpenItem);
  }

  push(record: unknown, at: LinePosition): void {
    const statsBefore = copyStats(this.stats);
    if (!isRecord(record)) return this.malformed(at, "not a JSON object");
    const payload = isRecord(record.payload) ? record.payload : {};
    const timestamp = typeof record.timestamp === "string" ? record.timestamp : undefined;
    const stats = this.stats;
    if (!isRecord(record.payload)) {
      // The format before `session_meta`: a bare header line, `{"record_type":"state"}` markers,
      // and bare response items.
      if (record.record_type !== undefined) return;
      if (typeof record.type === "string" && ITEM_TYPES.has(record.type)) {
        noteTimestamp(stats, timestamp);
        return this.handleItem(record, timestamp, at, statsBefore);
      }
      if (record.type === undefined && typeof record.id === "string") {
        if (stats.sessionId === null) stats.sessionId = record.id;
        if (typeof record.cwd === "string" && stats.cwd === null) stats.cwd = record.cwd;
        const git = isRecord(record.git) ? record.git : {};
        if (typeof git.branch === "string" && stats.gitBranch === null) stats.gitBranch = git.branch;
        noteTimestamp(stats, record.timestamp);
        return;
      }
    }
    if (record.type === "session_meta") {
      if (typeof payload.id === "string" && stats.sessionId === null) stats.sessionId = payload.id;
      if (typeof payload.cwd === "string" && stats.cwd === null) stats.cwd = payload.cwd;
      if (typeof payload.cli_version === "string") stats.agentVersion = payload.cli_version;
      const git = isRecord(payload.git) ? payload.git : {};
      if (typeof git.branch === "string" && stats.gitBranch === null) stats.gitBranch = git.branch;
      noteTimestamp(stats, payload.timestamp ?? timestamp);
      return;
    }
    noteTimestamp(stats, timestamp);
    if (record.type === "turn_context") {
      noteModel(stats, payload.model);
      if (typeof payload.cwd === "string" && stats.cwd === null) stats.cwd = payload.cwd;
      return;
    }
    if (record.type === "compacted") {
      const summary = typeof payload.message === "string" ? payload.message : "";
      this.closeAll();
      this.open({ kind: "event", timestamp, part: { type: "notice", kind: "info", title: "Conversation compacted", body: summary ? containProse(summary) : "", folded: true } }, at, statsBefore);
      return;
    }
    if (record.type === "event_msg") {
      if (payload.type === "user_message" && typeof payload.message === "string") {
        // Codex records a prompt twice (response_item and event_msg) in most versions, once in some.
        this.userPrompt(payload.message, timestamp, at, statsBefore);
        return;
      }
      if (payload.type === "token_count" && isRecord(payload.info) && isRecord(payload.info.total_token_usage)) {
        // Codex reports running totals: the latest one is the session's.
        const usage = payload.info.total_token_usage;
        const cached = numberOr(usage.cached_input_tokens);
        stats.tokens = { input: numberOr(usage.input_tokens) - cached, output: numberOr(usage.output_tokens), cacheCreation: 0, cacheRead: cached };
      }
      return;
    }
    if (record.type !== "response_item") return;
    this.handleItem(payload, timestamp, at, statsBefore);
  }

  private handleItem(payload: Record<string, unknown>, timestamp: string | undefined, at: LinePosition, statsBefore: SessionStats): void {
    const type = payload.type;
    if (type === "message") {
      const text = messageText(payload.content);
      if (payload.role === "user") {
        if (INJECTED_USER_TEXT.test(text)) {
          // Rollouts before session_meta name the cwd only here.
          const cwd = /<cwd>([^<\n]+)<\/cwd>/.exec(text)?.[1];
          if (cwd && this.stats.cwd === null) this.stats.cwd = cwd.trim();
          this.open({ kind: "event", timestamp, part: { type: "notice", kind: "note", title: "Context added by Codex (not typed by the user)", body: containProse(text), folded: true } }, at, statsBefore);
          return;
        }
        this.userPrompt(text, timestamp, at, statsBefore);
        return;
      }
      if (payload.role === "assistant" && text) this.assistant(timestamp, at, statsBefore).parts.push({ type: "text", text });
      return; // developer / system messages: instructions, left out
    }
    if (type === "reasoning") {
      const summary = Array.isArray(payload.summary) ? payload.summary : [];
      const content = Array.isArray(payload.content) ? payload.content : [];
      const text = [...summary, ...content].filter(isRecord).map((part) => String(part.text ?? "")).join("\n\n");
      this.assistant(timestamp, at, statsBefore).parts.push({ type: "thinking", text });
      return;
    }
    if (type === "function_call" || type === "custom_tool_call" || type === "local_shell_call" || type === "web_search_call") {
      const section = this.assistant(timestamp, at, statsBefore);
      const item = this.queue[this.queue.length - 1] as OpenItem;
      const id = String(payload.call_id ?? payload.id ?? `call-${this.stats.toolCalls + 1}`);
      const call: ToolCall = { id, name: String(payload.name ?? (type === "local_shell_call" ? "shell" : type === "web_search_call" ? "web_search" : "tool")), input: callInput(payload), subagents: [] };
      section.parts.push({ type: "tool", call });
      this.stats.toolCalls += 1;
      if (type === "function_call" || type === "custom_tool_call") {
        item.pendingCalls.add(id);
        this.calls.set(id, { call, item });
      } else call.result = { text: "", isError: false, images: [] };
      return;
    }
    if (type === "function_call_output" || type === "custom_tool_call_output") {
      const id = String(payload.call_id ?? "");
      const result = outputOf(payload.output);
      const entry = this.calls.get(id);
      if (!entry) {
        this.open({ kind: "event", timestamp, part: { type: "tool", call: { id, name: "Result for an earlier or unknown call", input: { call_id: id }, result, subagents: [] } } }, at, statsBefore);
        return;
      }
      entry.call.result = result;
      entry.item.pendingCalls.delete(id);
      entry.item.lastOffset = at.offset;
      this.calls.delete(id);
    }
  }

  private userPrompt(text: string, timestamp: string | undefined, at: LinePosition, statsBefore: SessionStats): void {
    const last = this.queue[this.queue.length - 1];
    if (last?.section.kind === "user" && last.prompt === text) return;
    this.closeAll();
    this.stats.turns += 1;
    const marker = IDE_REQUEST_MARKER.exec(text);
    const request = marker ? text.slice(marker.index + marker[0].length).trim() : text;
    noteFirstPrompt(this.stats, request);
    const parts: Part[] = [];
    if (marker) {
      const context = text.slice(0, marker.index).trim();
      if (context) parts.push({ type: "notice", kind: "note", title: "Context from the IDE (sent by the Codex extension, not typed)", body: containProse(context), folded: true });
    }
    parts.push({ type: "text", text: request });
    this.open({ kind: "user", timestamp, parts }, at, statsBefore);
    // Codex records a prompt twice (response_item and event_msg): the raw text tells the copies apart.
    (this.queue[this.queue.length - 1] as OpenItem).prompt = text;
  }

  private assistant(timestamp: string | undefined, at: LinePosition, statsBefore: SessionStats): { parts: Part[] } {
    const last = this.queue[this.queue.length - 1];
    if (last && last.section.kind === "assistant") {
      last.lastOffset = at.offset;
      return last.section;
    }
    const section: Section = { kind: "assistant", timestamp, model: this.stats.models[this.stats.models.length - 1], parts: [] };
    this.open(section, at, statsBefore);
    return section;
  }

  private open(section: Section, at: LinePosition, statsBefore: SessionStats): void {
    this.queue.push({ section, start: at, statsBefore, lastOffset: at.offset, pendingCalls: new Set() });
    while (this.queue.length > 1 && (this.queue[0] as OpenItem).pendingCalls.size === 0) this.close(this.queue.shift() as OpenItem);
  }

  private closeAll(): void {
    while (this.queue.length) this.close(this.queue.shift() as OpenItem);
  }

  private close(item: OpenItem): void {
    this.maxClosedOffset = Math.max(this.maxClosedOffset, item.lastOffset);
    for (const [id, entry] of this.calls) if (entry.item === item) this.calls.delete(id);
    this.sink(item.section);
  }
}

function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.filter(isRecord).map((part) => (typeof part.text === "string" ? part.text : "")).filter(Boolean).join("\n\n");
}

function callInput(payload: Record<string, unknown>): unknown {
  if (payload.type === "custom_tool_call") return payload.input;
  if (payload.type === "local_shell_call") return isRecord(payload.action) ? payload.action : {};
  if (payload.type === "web_search_call") return payload.action ?? {};
  if (typeof payload.arguments !== "string") return payload.arguments;
  try {
    return JSON.parse(payload.arguments) as unknown;
  } catch {
    return payload.arguments;
  }
}

function outputOf(output: unknown): { text: string; isError: boolean; images: [] } {
  if (typeof output !== "string") return { text: output === undefined ? "" : JSON.stringify(output, null, 2), isError: false, images: [] };
  // Older Codex wraps output as {"output": "...", "metadata": {"exit_code": n}}.
  try {
    const parsed = JSON.parse(output) as unknown;
    if (isRecord(parsed) && typeof parsed.output === "string") {
      const metadata = isRecord(parsed.metadata) ? parsed.metadata : {};
      const exitCode = typeof metadata.exit_code === "number" ? metadata.exit_code : 0;
      return { text: parsed.output, isError: exitCode !== 0, images: [] };
    }
  } catch {
    // plain text output
  }
  const exit = /^Exit code: (\d+)/m.exec(output);
  return { text: output, isError: exit !== null && exit[1] !== "0", images: [] };
}

function numberOr(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
