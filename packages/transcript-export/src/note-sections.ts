import { createHash } from "node:crypto";
import { callout, isEmpty, joinDocs, trimDoc, writeDoc, type Doc } from "./callout-doc.js";
import { codeBlockParts, containProse, escapeInline, formatCount, inlineCode } from "./markdown.js";
import type { ResolvedRenderOptions } from "./render-options.js";

// The agent-neutral shape every reader produces. Readers decide what a record means; this file
// decides how it looks.

export type Part =
  | { type: "text"; text: string }
  | { type: "thinking"; text: string }
  | { type: "image"; mediaType: string; data: string }
  | { type: "tool"; call: ToolCall }
  | { type: "notice"; kind: string; title: string; body?: string; folded?: boolean };

export interface ToolResult {
  text: string;
  isError: boolean;
  images: { mediaType: string; data: string }[];
}

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
  result?: ToolResult;
  subagents: SubagentTranscript[];
}

export interface SubagentTranscript {
  label: string;
  sections: Section[];
}

export type Section =
  | { kind: "user"; timestamp?: string; parts: Part[] }
  | { kind: "assistant"; timestamp?: string; model?: string; parts: Part[] }
  | { kind: "event"; timestamp?: string; part: Part };

export interface RenderContext {
  options: ResolvedRenderOptions;
  /** Headings at depth 0 are the note's `##` sections; nested transcripts use bold labels. */
  depth: number;
  /**
   * Whose turn the note is in (depth 0): an assistant turn is everything between two user
   * prompts, under one `## assistant` heading however many messages and tool calls it holds.
   * Updated as sections are rendered; a resumed export starts from the value it saved.
   */
  turn?: TurnState;
}

export interface TurnState {
  role: "user" | "assistant" | null;
}

/**
 * A section as Markdown: returned whole, or, with `emit`, handed on in pieces as it is written
 * (an export without redaction writes them straight to the note).
 */
export function renderSection(section: Section, context: RenderContext, emit?: (text: string) => void): string {
  return writeDoc(sectionDoc(section, context), emit);
}

function sectionDoc(section: Section, context: RenderContext): Doc {
  if (section.kind === "event") {
    const body = renderPart(section.part, context);
    return isEmpty(body) ? "" : [body, "\n\n"];
  }
  const stamp = section.timestamp ? `*${escapeInline(section.timestamp)}*` : "";
  const model = section.kind === "assistant" && section.model ? ` · ${inlineCode(section.model)}` : "";
  const parts = section.parts.map((part) => renderPart(part, context));
  if (context.depth === 0) {
    const continues = section.kind === "assistant" && context.turn?.role === "assistant";
    if (context.turn) context.turn.role = section.kind;
    if (continues) {
      const joined = joinDocs(parts, "\n\n");
      return joined.length ? [joined, "\n\n"] : "";
    }
    const heading = `## ${section.kind}\n\n${stamp}${stamp ? model : model.replace(/^ · /, "")}`;
    return [joinDocs([heading.trimEnd(), ...parts], "\n\n"), "\n\n"];
  }
  const label = `**${section.kind === "user" ? "subagent prompt" : "subagent"}**${stamp ? ` · ${stamp}` : ""}${model}`;
  return [joinDocs([label, ...parts], "\n\n"), "\n\n"];
}

function renderPart(part: Part, context: RenderContext): Doc {
  const { options } = context;
  switch (part.type) {
    case "text":
      return containProse(part.text);
    case "thinking":
      if (!options.includeThinking) return "";
      if (!part.text.trim()) return "*Thinking: empty (not recorded in the session file).*";
      return callout("quote", "Thinking", containProse(part.text), true);
    case "image":
      return renderImage(part.mediaType, part.data, options);
    case "notice":
      return callout(part.kind, part.title, part.body ?? "", part.folded ?? false);
    case "tool":
      return renderToolCall(part.call, context);
  }
}

const IMAGE_EXTENSIONS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/gif": "gif",
  "image/webp": "webp",
};

function renderImage(mediaType: string, data: string, options: ResolvedRenderOptions): string {
  const extension = IMAGE_EXTENSIONS[mediaType];
  const compact = data.replace(/\s+/g, "");
  if (!extension || compact.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    return `*Image (${escapeInline(mediaType || "unknown type")}): data not recorded or not decodable.*`;
  }
  const bytes = Buffer.from(compact, "base64");
  // Named by content so that the same image is written once and re-runs give the same bytes.
  const fileName = `image-${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.${extension}`;
  options.onAsset(fileName, bytes);
  return `![image](${fileName})`;
}

/**
 * A tool call as one folded callout: its title says what was done (`Tool: Bash — Run the tests`),
 * its body holds the input, any subagent conversation, and the result.
 */
function renderToolCall(call: ToolCall, context: RenderContext): Doc {
  const { title, body } = describeCall(call);
  const blocks: Doc[] = [...body];
  for (const subagent of call.subagents) {
    const inner = trimDoc(subagent.sections.map((section) => sectionDoc(section, { ...context, depth: context.depth + 1, turn: undefined })));
    blocks.push(callout("example", `Subagent conversation: ${escapeInline(subagent.label)}`, isEmpty(inner) ? "*(no messages)*" : inner, true));
  }
  blocks.push(renderResult(call, context.options));
  const failed = call.result?.isError === true;
  return callout(failed ? "failure" : "example", `${title}${failed ? " (error)" : ""}`, joinDocs(blocks, "\n\n"), true);
}

function describeCall(call: ToolCall): { title: string; body: Doc[] } {
  const input = isRecord(call.input) ? call.input : {};
  const name = call.name || "tool";
  const title = `Tool: ${escapeInline(name)}`;
  const text = (key: string): string | undefined => (typeof input[key] === "string" ? (input[key] as string) : undefined);
  const path = text("file_path") ?? text("path") ?? text("notebook_path") ?? text("absolute_path");
  const shellCommand = shellCommandOf(name, input);
  if (shellCommand !== undefined) {
    const description = text("description");
    // Without a description (Codex, Gemini), the command's first line says what ran.
    const firstLine = shellCommand.trim().split("\n")[0] ?? "";
    const summary = description ? ` — ${escapeInline(description)}` : firstLine ? ` ${inlineCode(firstLine.length > 80 ? `${firstLine.slice(0, 79)}…` : firstLine)}` : "";
    return { title: `${title}${summary}`, body: [codeBlockParts(shellCommand, "sh")] };
  }
  // Claude Code's Edit/MultiEdit and Gemini CLI's replace: old and new text, shown as a diff.
  if ((name === "Edit" || name === "MultiEdit" || name === "replace" || name === "edit") && path !== undefined) {
    const edits = name === "MultiEdit" && Array.isArray(input.edits) ? input.edits : [input];
    const diff = edits
      .filter(isRecord)
      .map((edit) => unifiedDiff(String(edit.old_string ?? ""), String(edit.new_string ?? "")))
      .join("\n");
    return { title: `${title} ${inlineCode(path)}`, body: [codeBlockParts(diff, "diff")] };
  }
  // Claude Code's Write and Gemini CLI's write_file: the file as written, highlighted by its type.
  if ((name === "Write" || name === "write_file") && path !== undefined) {
    return { title: `${title} ${inlineCode(path)}`, body: [codeBlockParts(text("content") ?? "", languageOf(path))] };
  }
  if ((name === "Read" || name === "read_file") && path !== undefined) {
    const range = [input.offset !== undefined ? `from line ${String(input.offset)}` : "", input.limit !== undefined ? `${String(input.limit)} lines` : ""]
      .filter(Boolean)
      .join(", ");
    return { title: `${title} ${inlineCode(path)}${range ? ` (${escapeInline(range)})` : ""}`, body: [] };
  }
  if ((name === "Task" || name === "Agent") && typeof input.prompt === "string") {
    const kind = text("subagent_type");
    const description = text("description");
    return { title: `${title}${kind ? ` ${inlineCode(kind)}` : ""}${description ? ` — ${escapeInline(description)}` : ""}`, body: [`**Prompt**\n\n${containProse(input.prompt)}`] };
  }
  if (name === "apply_patch" && typeof call.input === "string") {
    return { title, body: [codeBlockParts(call.input, "diff")] };
  }
  if (name === "TodoWrite" && Array.isArray(input.todos)) {
    const marks: Record<string, string> = { completed: "x", in_progress: "/", pending: " " };
    const items = input.todos.map((todo) =>
      isRecord(todo) ? `- [${marks[String(todo.status)] ?? " "}] ${escapeInline(String(todo.content ?? ""))}` : `- ${escapeInline(JSON.stringify(todo))}`,
    );
    return { title, body: [items.join("\n")] };
  }
  if (call.input === undefined || (isRecord(call.input) && Object.keys(call.input).length === 0)) return { title, body: [] };
  const entries = isRecord(call.input) ? Object.entries(call.input) : [];
  const flat = entries.length > 0 && entries.length <= 6 && entries.every(([, value]) => ["number", "boolean"].includes(typeof value) || (typeof value === "string" && value.length <= 200 && !value.includes("\n")));
  if (flat) return { title, body: [entries.map(([key, value]) => `${escapeInline(key)}: ${inlineCode(String(value))}`).join("  \n")] };
  const rendered = typeof call.input === "string" ? call.input : JSON.stringify(call.input, null, 2);
  return { title, body: [codeBlockParts(rendered, typeof call.input === "string" ? "" : "json")] };
}

function shellCommandOf(name: string, input: Record<string, unknown>): string | undefined {
  const command = input.command ?? input.cmd;
  const shellTool = /^(bash|shell|exec_command|local_shell|run_shell_command|shell_command)$/i.test(name);
  if (!shellTool) return undefined;
  if (typeof command === "string") return command;
  if (Array.isArray(command) && command.every((item) => typeof item === "string")) {
    // Codex wraps commands as ["bash", "-lc", "<script>"]; the script is what a reader wants.
    const wrapped = command.length === 3 && /sh$/.test(command[0] as string) && command[1] === "-lc";
    return wrapped ? (command[2] as string) : command.map(quoteShellWord).join(" ");
  }
  return undefined;
}

function quoteShellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

function renderResult(call: ToolCall, options: ResolvedRenderOptions): Doc {
  const result = call.result;
  if (!result) return "*No result recorded for this call.*";
  const label = result.isError ? "**Error**" : "**Result**";
  const images = result.images.map((image) => renderImage(image.mediaType, image.data, options));
  const blocks: Doc[] = [];
  if (result.text.length === 0) blocks.push(`${label}: *(empty)*`);
  else {
    const size = result.text.length > options.foldResultsOver ? ` (${formatCount(result.text.length)} chars)` : "";
    blocks.push([`${label}${size}\n\n`, codeBlockParts(result.text)]);
  }
  // Every block and image link has text: joined as `join("\n\n")` joins them.
  return joinDocs([...blocks, ...images], "\n\n");
}

function unifiedDiff(oldText: string, newText: string): string {
  const oldLines = oldText === "" ? [] : oldText.split("\n");
  const newLines = newText === "" ? [] : newText.split("\n");
  let start = 0;
  while (start < oldLines.length && start < newLines.length && oldLines[start] === newLines[start]) start += 1;
  let endOld = oldLines.length;
  let endNew = newLines.length;
  while (endOld > start && endNew > start && oldLines[endOld - 1] === newLines[endNew - 1]) {
    endOld -= 1;
    endNew -= 1;
  }
  // Unchanged lines around the change are kept as context so the diff reads in place.
  return [
    ...oldLines.slice(0, start).map((line) => ` ${line}`),
    ...oldLines.slice(start, endOld).map((line) => `-${line}`),
    ...newLines.slice(start, endNew).map((line) => `+${line}`),
    ...oldLines.slice(endOld).map((line) => ` ${line}`),
  ].join("\n");
}

const LANGUAGES: Record<string, string> = {
  ts: "ts", tsx: "tsx", js: "js", mjs: "js", cjs: "js", jsx: "jsx", json: "json", md: "markdown", py: "python",
  rs: "rust", go: "go", sh: "sh", bash: "sh", yml: "yaml", yaml: "yaml", html: "html", css: "css", toml: "toml",
  rb: "ruby", java: "java", sql: "sql",
};

function languageOf(path: string): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? "";
  return LANGUAGES[extension] ?? "";
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
