import { codeBlock, containProse, escapeInline, formatCount, inlineCode } from "./markdown.js";
import { isRecord, type Part, type Section, type SubagentTranscript, type ToolCall, type ToolResult } from "./note-sections.js";
import type { ResolvedRenderOptions } from "./render-options.js";
import { copyStats, copyStatsInto, emptyStats, noteFirstCommand, noteFirstPrompt, noteModel, noteTimestamp, noteTitle, type SessionStats } from "./session-stats.js";
import type { LinePosition, ReaderCheckpoint, SectionSink, TranscriptReader } from "./transcript-reader.js";

interface Usage {
  input: number;
  output: number;
  cacheCreation: number;
  cacheRead: number;
}

interface OpenItem {
  section: Section;
  start: LinePosition;
  /** Totals of every line before `start`: where a later run resumes if this item is still open. */
  statsBefore: SessionStats;
  lastOffset: number;
  messageId?: string;
  usage?: Usage;
  pendingCalls: Set<string>;
  calls: ToolCall[];
  threads: SidechainThread[];
}

interface SidechainThread {
  reader: ClaudeSessionReader;
  sections: Section[];
  uuids: string[];
  agentId?: string;
  firstTimestamp?: string;
  call?: ToolCall;
  owner?: OpenItem;
}

const SUBAGENT_TOOLS = new Set(["Task", "Agent"]);

/**
 * Claude Code session reader. Lines of one message (same `message.id`) merge into one section;
 * tool results join their call by `tool_use_id`; inline sidechain lines are gathered into
 * threads and placed under the Task call that spawned them.
 */
export class ClaudeSessionReader implements TranscriptReader {
  readonly stats: SessionStats;
  readonly malformedPositions: { line: number; reason: string }[] = [];
  private readonly queue: OpenItem[] = [];
  private readonly calls = new Map<string, { call: ToolCall; item: OpenItem }>();
  private readonly callsByAgent = new Map<string, ToolCall>();
  private readonly threadsByUuid = new Map<string, SidechainThread>();
  private readonly threadsByAgent = new Map<string, SidechainThread>();
  private maxClosedOffset = -1;
  private position: LinePosition = { line: 0, offset: 0 };
  private lastCheckpoint: ReaderCheckpoint | undefined;
  /** The last line's copy of the totals before it, when no section kept it: refilled, not reallocated. */
  private spareStats: SessionStats | undefined;

  constructor(
    private readonly options: ResolvedRenderOptions,
    private readonly sink: SectionSink,
    private readonly nested = false,
    resume?: ReaderCheckpoint,
  ) {
    this.stats = resume ? structuredClone(resume.stats) : emptyStats("claude");
    this.lastCheckpoint = resume ? structuredClone(resume) : undefined;
  }

  push(record: unknown, at: LinePosition): void {
    this.position = at;
    // Most lines open no section and drop their copy at once: it is refilled for the next line.
    const statsBefore = this.nested ? this.stats : this.spareStats ? copyStatsInto(this.spareStats, this.stats) : (this.spareStats = copyStats(this.stats));
    this.handle(record, at, statsBefore);
  }

  malformed(at: LinePosition, reason: string): void {
    this.position = at;
    const statsBefore = copyStats(this.stats);
    this.stats.malformedLines += 1;
    this.malformedPositions.push({ line: at.line, reason });
    this.addEvent(
      { type: "notice", kind: "warning", title: `Line ${at.line} of the session file could not be read (${escapeInline(reason)}); it is left out.` },
      undefined,
      at,
      statsBefore,
    );
  }

  finish(): void {
    for (const item of this.queue) this.finalizeItem(item);
    this.queue.length = 0;
    if (!this.nested) this.emitUnusedSubagents();
  }

  checkpoint(): ReaderCheckpoint | undefined {
    return this.lastCheckpoint;
  }

  /** Told where the next line starts, after each line; cheap: one stats clone per new front item. */
  lineDone(next: LinePosition): void {
    const nextOffset = next.offset;
    const nextLine = next.line;
    if (this.nested) return;
    const front = this.queue[0];
    if (!front) {
      this.lastCheckpoint = { offset: nextOffset, line: nextLine, stats: copyStats(this.stats) };
      return;
    }
    // Resuming at the front item is only exact if no later line went into an already-emitted one.
    if (this.maxClosedOffset < front.start.offset && this.lastCheckpoint?.offset !== front.start.offset) {
      this.lastCheckpoint = { offset: front.start.offset, line: front.start.line, stats: copyStats(front.statsBefore) };
    }
  }

  private handle(record: unknown, at: LinePosition, statsBefore: SessionStats): void {
    if (!isRecord(record)) {
      this.malformed(at, "not a JSON object");
      return;
    }
    const type = record.type;
    this.noteMetadata(record);
    if (type === "summary") return noteTitle(this.stats, record.summary, 1);
    if (type === "ai-title") return noteTitle(this.stats, record.aiTitle, 2);
    if (type === "custom-title") return noteTitle(this.stats, record.customTitle, 3);
    if (type === "system") return this.handleSystem(record, at, statsBefore);
    if (type === "progress" && !this.nested) return this.handleAgentProgress(record, at, statsBefore);
    if (type !== "user" && type !== "assistant") return; // snapshots, hooks, queue: not conversation
    if (record.isSidechain === true && !this.nested) return this.handleSidechain(record, at, statsBefore);
    const message = record.message;
    if (!isRecord(message)) {
      this.malformed(at, `${String(type)} record without a message object`);
      return;
    }
    if (!("content" in message)) {
      this.malformed(at, `${String(type)} message without content`);
      return;
    }
    if (type === "assistant") this.handleAssistant(record, message, at, statsBefore);
    else this.handleUser(record, message, at, statsBefore);
  }

  private noteMetadata(record: Record<string, unknown>): void {
    const stats = this.stats;
    if (this.nested) return;
    if (typeof record.sessionId === "string" && stats.sessionId === null) stats.sessionId = record.sessionId;
    if (typeof record.cwd === "string" && stats.cwd === null) stats.cwd = record.cwd;
    if (typeof record.gitBranch === "string" && record.gitBranch && stats.gitBranch === null) stats.gitBranch = record.gitBranch;
    if (typeof record.version === "string") stats.agentVersion = record.version;
    if (record.type === "user" || record.type === "assistant" || record.type === "system") noteTimestamp(stats, record.timestamp);
  }

  private handleSystem(record: Record<string, unknown>, at: LinePosition, statsBefore: SessionStats): void {
    const subtype = record.subtype;
    const timestamp = stringOr(record.timestamp);
    if (subtype === "compact_boundary") {
      const meta = isRecord(record.compactMetadata) ? record.compactMetadata : {};
      const detail = [
        typeof meta.trigger === "string" ? `${meta.trigger} trigger` : "",
        typeof meta.preTokens === "number" ? `${formatCount(meta.preTokens)} tokens before` : "",
      ].filter(Boolean).join(", ");
      this.closeAll();
      this.addEvent({ type: "notice", kind: "info", title: `Conversation compacted${detail ? ` (${detail})` : ""}` }, timestamp, at, statsBefore);
      return;
    }
    if (subtype === "api_error" || subtype === "error" || subtype === "api_refusal" || subtype === "model_refusal_fallback") {
      const error = isRecord(record.error) ? record.error : {};
      const detail = stringOr(error.message) ?? stringOr(record.apiRefusalExplanation) ?? stringOr(record.content) ?? "";
      this.addEvent({ type: "notice", kind: "warning", title: `System: ${String(subtype).replace(/_/g, " ")}`, body: detail ? containProse(detail) : "" }, timestamp, at, statsBefore);
      return;
    }
    if (subtype === "local_command" && typeof record.content === "string") {
      this.addCommandText(record.content, timestamp, at, statsBefore);
    }
    // turn_duration, stop_hook_summary, session_start, informational: bookkeeping, left out.
  }

  private handleAssistant(record: Record<string, unknown>, message: Record<string, unknown>, at: LinePosition, statsBefore: SessionStats): void {
    noteModel(this.stats, message.model);
    const messageId = stringOr(message.id);
    let item = messageId ? this.queue.find((open) => open.messageId === messageId) : undefined;
    const parts = this.assistantParts(message.content, record.isApiErrorMessage === true);
    if (!item) {
      const model = stringOr(message.model);
      item = this.openItem(
        { kind: "assistant", timestamp: stringOr(record.timestamp), model: model && !model.startsWith("<") ? model : undefined, parts: [] },
        at,
        statsBefore,
      );
      if (messageId) item.messageId = messageId;
    }
    item.lastOffset = at.offset;
    if (item.section.kind === "assistant") item.section.parts.push(...parts);
    for (const part of parts) {
      if (part.type !== "tool") continue;
      item.calls.push(part.call);
      item.pendingCalls.add(part.call.id);
      this.calls.set(part.call.id, { call: part.call, item });
      this.stats.toolCalls += 1;
    }
    this.addUsage(item, message.usage);
  }

  // Claude Code repeats the usage on every line of a split message; the last line has the final
  // count. Taking the largest per field (not the sum) avoids double counting.
  private addUsage(item: OpenItem, raw: unknown): void {
    if (!isRecord(raw)) return;
    const next: Usage = {
      input: numberOr(raw.input_tokens),
      output: numberOr(raw.output_tokens),
      cacheCreation: numberOr(raw.cache_creation_input_tokens),
      cacheRead: numberOr(raw.cache_read_input_tokens),
    };
    const previous = item.usage ?? { input: 0, output: 0, cacheCreation: 0, cacheRead: 0 };
    const merged: Usage = {
      input: Math.max(previous.input, next.input),
      output: Math.max(previous.output, next.output),
      cacheCreation: Math.max(previous.cacheCreation, next.cacheCreation),
      cacheRead: Math.max(previous.cacheRead, next.cacheRead),
    };
    const tokens = this.stats.tokens;
    tokens.input += merged.input - previous.input;
    tokens.output += merged.output - previous.output;
    tokens.cacheCreation += merged.cacheCreation - previous.cacheCreation;
    tokens.cacheRead += merged.cacheRead - previous.cacheRead;
    item.usage = merged;
  }

  private assistantParts(content: unknown, isApiError: boolean): Part[] {
    const blocks = typeof content === "string" ? [{ type: "text", text: content }] : Array.isArray(content) ? content : [];
    const parts: Part[] = [];
    for (const block of blocks) {
      if (!isRecord(block)) continue;
      if (block.type === "text" && typeof block.text === "string") {
        if (!block.text) continue;
        parts.push(isApiError ? { type: "notice", kind: "warning", title: "API error", body: containProse(block.text) } : { type: "text", text: block.text });
      } else if (block.type === "thinking") parts.push({ type: "thinking", text: stringOr(block.thinking) ?? "" });
      else if (block.type === "redacted_thinking") parts.push({ type: "thinking", text: "" });
      else if (block.type === "tool_use") {
        const id = stringOr(block.id) ?? `unnamed-call-${this.stats.toolCalls + 1}`;
        parts.push({ type: "tool", call: { id, name: stringOr(block.name) ?? "tool", input: block.input, subagents: [] } });
      } else if (block.type === "image") {
        const image = imageOf(block);
        if (image) parts.push({ type: "image", ...image });
      } else if (block.type === "fallback") {
        const from = isRecord(block.from) ? stringOr(block.from.model) : undefined;
        const to = isRecord(block.to) ? stringOr(block.to.model) : undefined;
        parts.push({ type: "notice", kind: "note", title: `Model fallback${from ? ` from ${inlineCode(from)}` : ""}${to ? ` to ${inlineCode(to)}` : ""}` });
      } else {
        parts.push({ type: "notice", kind: "note", title: `Unrecognised ${inlineCode(String(block.type))} block`, body: codeBlock(JSON.stringify(block, null, 2), "json") });
      }
    }
    return parts;
  }

  private handleUser(record: Record<string, unknown>, message: Record<string, unknown>, at: LinePosition, statsBefore: SessionStats): void {
    const timestamp = stringOr(record.timestamp);
    const blocks = typeof message.content === "string" ? [{ type: "text", text: message.content }] : Array.isArray(message.content) ? message.content : [];
    const promptParts: Part[] = [];
    let sawResult = false;
    for (const block of blocks) {
      if (typeof block === "string") {
        promptParts.push({ type: "text", text: block });
        continue;
      }
      if (!isRecord(block)) continue;
      if (block.type === "tool_result") {
        sawResult = true;
        this.attachResult(block, record, at, statsBefore, timestamp);
      } else if (block.type === "text" && typeof block.text === "string") promptParts.push({ type: "text", text: block.text });
      else if (block.type === "image") {
        const image = imageOf(block);
        if (image) promptParts.push({ type: "image", ...image });
      }
    }
    if (promptParts.length === 0) return;
    const text = promptParts.map((part) => (part.type === "text" ? part.text : "")).join("\n");

    if (record.isCompactSummary === true) {
      this.closeAll();
      this.addEvent({ type: "notice", kind: "abstract", title: "Summary the compacted conversation continues from", body: containProse(text), folded: true }, timestamp, at, statsBefore);
      return;
    }
    if (record.isMeta === true || record.isVisibleInTranscriptOnly === true) {
      // Claude Code 2.1 sends the caveat as a meta line, wrapped in its tag.
      if (/^\s*(<local-command-caveat>\s*)?Caveat: The messages below were generated by the user/.test(text)) return;
      const title = this.stats.lastCommand ? `Prompt expanded from ${inlineCode(this.stats.lastCommand)} (added by Claude Code, not typed)` : "Context added by Claude Code (not typed by the user)";
      this.stats.lastCommand = null;
      this.addEvent({ type: "notice", kind: "note", title, body: containProse(text), folded: true }, timestamp, at, statsBefore);
      return;
    }
    if (this.addCommandText(text, timestamp, at, statsBefore)) return;
    if (sawResult) {
      // Text that rides along with tool results is Claude Code's, e.g. an interruption marker.
      this.addEvent({ type: "notice", kind: "note", title: "Added to the tool results", body: containProse(text) }, timestamp, at, statsBefore);
      return;
    }
    if (this.nested) {
      this.openItem({ kind: "user", timestamp, parts: promptParts }, at, statsBefore);
      return;
    }
    this.stats.lastCommand = null;
    this.closeAll();
    this.stats.turns += 1;
    noteFirstPrompt(this.stats, text);
    this.openItem({ kind: "user", timestamp, parts: promptParts }, at, statsBefore);
  }

  /** Slash commands, their output, `!` shell lines, hooks and interruptions: shown for what they are. */
  private addCommandText(text: string, timestamp: string | undefined, at: LinePosition, statsBefore: SessionStats): boolean {
    const trimmed = text.trim();
    const tag = (name: string): string | undefined => new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(trimmed)?.[1];
    const commandName = tag("command-name");
    if (commandName !== undefined) {
      const args = tag("command-args")?.trim();
      const command = `${commandName.trim()}${args ? ` ${args}` : ""}`;
      this.stats.lastCommand = commandName.trim();
      if (this.nested) {
        this.addEvent({ type: "notice", kind: "example", title: `Slash command ${inlineCode(command)}` }, timestamp, at, statsBefore);
        return true;
      }
      // Running a command is the user's turn, as typing a prompt is: it opens a `## user` section.
      this.closeAll();
      this.stats.turns += 1;
      noteFirstCommand(this.stats, command);
      this.openItem({ kind: "user", timestamp, parts: [{ type: "text", text: inlineCode(command) }] }, at, statsBefore);
      return true;
    }
    const stdout = tag("local-command-stdout") ?? tag("local-command-stderr");
    if (stdout !== undefined) {
      this.addEvent({ type: "notice", kind: "example", title: "Command output", body: stdout.trim() ? codeBlock(stdout) : "*(empty)*" }, timestamp, at, statsBefore);
      return true;
    }
    const bashInput = tag("bash-input");
    if (bashInput !== undefined) {
      this.addEvent({ type: "notice", kind: "example", title: "Shell command run by the user (`!` mode)", body: codeBlock(bashInput, "sh") }, timestamp, at, statsBefore);
      return true;
    }
    if (/^<bash-(stdout|stderr)>/.test(trimmed)) {
      const output = [tag("bash-stdout"), tag("bash-stderr")].filter((part) => part).join("\n");
      this.addEvent({ type: "notice", kind: "example", title: "Shell output", body: output ? codeBlock(output) : "*(empty)*" }, timestamp, at, statsBefore);
      return true;
    }
    if (/^<local-command-caveat>/.test(trimmed) || /^Caveat: The messages below were generated by the user/.test(trimmed)) return true;
    if (/^<(user-prompt-submit-hook|system-reminder|task-notification)>/.test(trimmed)) {
      this.addEvent({ type: "notice", kind: "note", title: "Added by a hook or by Claude Code (not typed by the user)", body: containProse(trimmed), folded: true }, timestamp, at, statsBefore);
      return true;
    }
    if (/^\[Request interrupted by user/.test(trimmed)) {
      this.addEvent({ type: "notice", kind: "note", title: "Interrupted by the user" }, timestamp, at, statsBefore);
      return true;
    }
    return false;
  }

  private attachResult(block: Record<string, unknown>, record: Record<string, unknown>, at: LinePosition, statsBefore: SessionStats, timestamp: string | undefined): void {
    const result = resultOf(block);
    const id = stringOr(block.tool_use_id);
    const entry = id ? this.calls.get(id) : undefined;
    if (!entry || entry.call.result) {
      // A result whose call is unknown or already answered still reaches the note.
      const call: ToolCall = { id: id ?? "unknown", name: "Result for an earlier or unknown call", input: id ? { tool_use_id: id } : undefined, result, subagents: [] };
      this.addEvent({ type: "tool", call }, timestamp, at, statsBefore);
      return;
    }
    entry.call.result = result;
    entry.item.pendingCalls.delete(entry.call.id);
    entry.item.lastOffset = at.offset;
    const toolUseResult = isRecord(record.toolUseResult) ? record.toolUseResult : {};
    const agentId = stringOr(record.agentId) ?? stringOr(toolUseResult.agentId);
    if (agentId && SUBAGENT_TOOLS.has(entry.call.name)) this.linkAgent(entry.call, entry.item, agentId);
    this.calls.delete(entry.call.id);
  }

  private linkAgent(call: ToolCall, item: OpenItem, agentId: string): void {
    this.callsByAgent.set(agentId, call);
    const thread = this.threadsByAgent.get(agentId);
    if (thread) {
      thread.call = call;
      return;
    }
    const lines = this.options.subagent(agentId);
    if (!lines || this.stats.linkedSubagents.includes(agentId)) return;
    this.stats.linkedSubagents.push(agentId);
    call.subagents.push(this.readSubagentFile(`agent ${agentId}`, lines));
    item.lastOffset = Math.max(item.lastOffset, this.position.offset);
  }

  private readSubagentFile(label: string, lines: Iterable<string>): SubagentTranscript {
    const sections: Section[] = [];
    const reader = new ClaudeSessionReader(this.options, (section) => sections.push(section), true);
    let line = 0;
    for (const text of lines) {
      line += 1;
      if (!text.trim()) continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        reader.malformed({ line, offset: 0 }, "invalid JSON in the subagent file");
        continue;
      }
      reader.push(record, { line, offset: 0 });
    }
    reader.finish();
    return { label, sections };
  }

  private emitUnusedSubagents(): void {
    // Subagent files no call pointed at are kept, at the end, rather than dropped.
    for (const agentId of this.options.subagentIds()) {
      if (this.stats.linkedSubagents.includes(agentId)) continue;
      const lines = this.options.subagent(agentId);
      if (!lines) continue;
      const transcript = this.readSubagentFile(`agent ${agentId} (not linked to a call)`, lines);
      this.sink({ kind: "event", part: { type: "tool", call: { id: agentId, name: "Subagent", input: undefined, subagents: [transcript], result: { text: "", isError: false, images: [] } } } });
    }
  }

  /**
   * Claude Code 2.1 streams a running subagent's messages as `progress` lines of type
   * `agent_progress` (`data.message`, `data.agentId`, `parentToolUseID` = the Task call). When the
   * subagent's own file is there it is the fuller record and these are skipped; without it, they
   * are the only record of the subagent's work, rendered under its call like a sidechain.
   */
  private handleAgentProgress(record: Record<string, unknown>, at: LinePosition, statsBefore: SessionStats): void {
    const data = isRecord(record.data) ? record.data : undefined;
    if (!data || data.type !== "agent_progress" || !isRecord(data.message)) return;
    const agentId = stringOr(data.agentId);
    if (!agentId || this.options.subagent(agentId) !== undefined) return;
    const message = data.message;
    const uuid = stringOr(message.uuid);
    let thread = this.threadsByAgent.get(agentId);
    if (thread && uuid && thread.uuids.includes(uuid)) return; // the same message reported again
    if (!thread) {
      const sections: Section[] = [];
      thread = { reader: new ClaudeSessionReader(this.options, (section) => sections.push(section), true), sections, uuids: [], agentId, firstTimestamp: stringOr(message.timestamp) };
      this.threadsByAgent.set(agentId, thread);
      const parent = stringOr(record.parentToolUseID);
      const entry = parent ? this.calls.get(parent) : undefined;
      if (entry) {
        thread.call = entry.call;
        thread.owner = entry.item;
        entry.item.threads.push(thread);
      } else if (!this.linkThread(thread, undefined, agentId)) {
        const holder = this.openItem({ kind: "event", timestamp: stringOr(record.timestamp), part: { type: "notice", kind: "note", title: "" } }, at, statsBefore);
        thread.owner = holder;
        holder.threads.push(thread);
      }
    }
    if (uuid) thread.uuids.push(uuid);
    const before = thread.reader.stats.toolCalls;
    thread.reader.push({ ...message, isSidechain: true }, at);
    // The calls count toward the session's; the tokens do not (progress lines repeat partial usage).
    this.stats.toolCalls += thread.reader.stats.toolCalls - before;
    if (thread.owner) thread.owner.lastOffset = at.offset;
  }

  private handleSidechain(record: Record<string, unknown>, at: LinePosition, statsBefore: SessionStats): void {
    const parent = stringOr(record.parentUuid);
    const agentId = stringOr(record.agentId);
    let thread = (parent ? this.threadsByUuid.get(parent) : undefined) ?? (agentId ? this.threadsByAgent.get(agentId) : undefined);
    if (!thread) {
      const sections: Section[] = [];
      thread = { reader: new ClaudeSessionReader(this.options, (section) => sections.push(section), true), sections, uuids: [], firstTimestamp: stringOr(record.timestamp) };
      const prompt = record.type === "user" && isRecord(record.message) ? promptText(record.message.content) : undefined;
      const owner = this.linkThread(thread, prompt, agentId);
      if (!owner) {
        // A sidechain with nothing open to hang under: keep it in the flow on its own.
        const holder = this.openItem({ kind: "event", timestamp: stringOr(record.timestamp), part: { type: "notice", kind: "note", title: "" } }, at, statsBefore);
        thread.owner = holder;
        holder.threads.push(thread);
      }
    }
    if (agentId && !thread.agentId) {
      thread.agentId = agentId;
      this.threadsByAgent.set(agentId, thread);
      const call = this.callsByAgent.get(agentId);
      if (call && !thread.call) thread.call = call;
    }
    const uuid = stringOr(record.uuid);
    if (uuid) {
      thread.uuids.push(uuid);
      this.threadsByUuid.set(uuid, thread);
    }
    noteTimestamp(this.stats, record.timestamp);
    if (isRecord(record.message)) noteModel(this.stats, record.message.model);
    const before = this.stats.toolCalls;
    const tokensBefore = { ...thread.reader.stats.tokens };
    const callsBefore = thread.reader.stats.toolCalls;
    thread.reader.push(record, at);
    // Subagent work counts toward the session's totals.
    this.stats.toolCalls = before + (thread.reader.stats.toolCalls - callsBefore);
    for (const key of ["input", "output", "cacheCreation", "cacheRead"] as const) {
      this.stats.tokens[key] += thread.reader.stats.tokens[key] - tokensBefore[key];
    }
    if (thread.owner) thread.owner.lastOffset = at.offset;
  }

  private linkThread(thread: SidechainThread, prompt: string | undefined, agentId: string | undefined): OpenItem | undefined {
    const agentCall = agentId ? this.callsByAgent.get(agentId) : undefined;
    for (let index = this.queue.length - 1; index >= 0; index -= 1) {
      const item = this.queue[index] as OpenItem;
      const match = item.calls.find(
        (call) =>
          SUBAGENT_TOOLS.has(call.name) &&
          (call === agentCall || (prompt !== undefined && isRecord(call.input) && typeof call.input.prompt === "string" && call.input.prompt.trim() === prompt.trim())) &&
          !item.threads.some((other) => other.call === call),
      );
      if (match) {
        thread.call = match;
        thread.owner = item;
        item.threads.push(thread);
        return item;
      }
    }
    const last = [...this.queue].reverse().find((item) => item.section.kind !== "event" || item.threads.length > 0);
    if (last) {
      thread.owner = last;
      last.threads.push(thread);
    }
    return last;
  }

  private openItem(section: Section, at: LinePosition, statsBefore: SessionStats): OpenItem {
    // The item keeps the copy: the next line must not refill it.
    if (statsBefore === this.spareStats) this.spareStats = undefined;
    const item: OpenItem = { section, start: at, statsBefore, lastOffset: at.offset, pendingCalls: new Set(), calls: [], threads: [] };
    this.queue.push(item);
    this.drain();
    return item;
  }

  private addEvent(part: Part, timestamp: string | undefined, at: LinePosition, statsBefore: SessionStats): void {
    this.openItem({ kind: "event", timestamp, part }, at, statsBefore);
  }

  /** Emit, in order, every item that nothing later can change. The newest item stays open. */
  private drain(): void {
    while (this.queue.length > 1) {
      const front = this.queue[0] as OpenItem;
      if (front.pendingCalls.size > 0) return;
      this.queue.shift();
      this.finalizeItem(front);
    }
  }

  private closeAll(): void {
    while (this.queue.length > 0) this.finalizeItem(this.queue.shift() as OpenItem);
  }

  private finalizeItem(item: OpenItem): void {
    this.maxClosedOffset = Math.max(this.maxClosedOffset, item.lastOffset);
    for (const call of item.calls) this.calls.delete(call.id);
    const loose: SidechainThread[] = [];
    for (const thread of item.threads) {
      thread.reader.finish();
      for (const uuid of thread.uuids) this.threadsByUuid.delete(uuid);
      if (thread.agentId) this.threadsByAgent.delete(thread.agentId);
      const transcript = { label: threadLabel(thread), sections: thread.sections };
      if (thread.call) thread.call.subagents.push(transcript);
      else loose.push(thread);
    }
    const subagentCalls = item.calls.filter((call) => SUBAGENT_TOOLS.has(call.name));
    for (const thread of loose) {
      const transcript = { label: threadLabel(thread), sections: thread.sections };
      // One Task call in the message: the sidechain can only be its. Otherwise keep it beside.
      const only = subagentCalls.length === 1 ? subagentCalls[0] : undefined;
      if (only) only.subagents.push(transcript);
      else this.pushLooseThread(item, transcript);
    }
    for (const [agentId, call] of this.callsByAgent) if (item.calls.includes(call)) this.callsByAgent.delete(agentId);
    if (item.section.kind === "event" && item.section.part.type === "notice" && item.section.part.title === "" && item.threads.length === 0) return;
    this.sink(item.section);
  }

  private pushLooseThread(item: OpenItem, transcript: SubagentTranscript): void {
    const call: ToolCall = { id: "sidechain", name: "Subagent", input: undefined, subagents: [transcript], result: { text: "", isError: false, images: [] } };
    if (item.section.kind === "event") item.section.part = { type: "tool", call };
    else item.section.parts.push({ type: "tool", call });
  }
}

function threadLabel(thread: SidechainThread): string {
  const description = thread.call && isRecord(thread.call.input) ? stringOr(thread.call.input.description) : undefined;
  return description ?? (thread.agentId ? `agent ${thread.agentId}` : "sidechain");
}

function promptText(content: unknown): string | undefined {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return undefined;
  const texts = content.filter(isRecord).filter((block) => block.type === "text").map((block) => String(block.text ?? ""));
  return texts.length ? texts.join("\n") : undefined;
}

function resultOf(block: Record<string, unknown>): ToolResult {
  const images: ToolResult["images"] = [];
  const texts: string[] = [];
  const content = block.content;
  if (typeof content === "string") texts.push(content);
  else if (Array.isArray(content)) {
    for (const item of content) {
      if (typeof item === "string") texts.push(item);
      else if (isRecord(item) && item.type === "text" && typeof item.text === "string") texts.push(item.text);
      else if (isRecord(item) && item.type === "image") {
        const image = imageOf(item);
        if (image) images.push(image);
      } else if (item !== undefined) texts.push(JSON.stringify(item));
    }
  } else if (content !== undefined && content !== null) texts.push(JSON.stringify(content));
  return { text: texts.join("\n"), isError: block.is_error === true, images };
}

function imageOf(block: Record<string, unknown>): { mediaType: string; data: string } | undefined {
  const source = isRecord(block.source) ? block.source : undefined;
  if (!source) return undefined;
  return { mediaType: stringOr(source.media_type) ?? "", data: stringOr(source.data) ?? "" };
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function numberOr(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}
