import { createHash } from "node:crypto";
import { callout, codeBlock, containProse, details, escapeInline, inlineCode } from "./markdown.js";
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
}

export function renderSection(section: Section, context: RenderContext): string {
  if (section.kind === "event") {
    const body = renderPart(section.part, context);
    return body ? `${body}\n\n` : "";
  }
  const stamp = section.timestamp ? `*${escapeInline(section.timestamp)}*` : "";
  const model = section.kind === "assistant" && section.model ? ` · ${inlineCode(section.model)}` : "";
  const heading =
    context.depth === 0
      ? `## ${section.kind}\n\n${stamp}${stamp ? model : model.replace(/^ · /, "")}`
      : `**${section.kind === "user" ? "subagent prompt" : "subagent"}**${stamp ? ` · ${stamp}` : ""}${model}`;
  const parts = section.parts.map((part) => renderPart(part, context)).filter(Boolean);
  return `${[heading.trimEnd(), ...parts].join("\n\n")}\n\n`;
}

function renderPart(part: Part, context: RenderContext): string {
  const { options } = context;
  switch (part.type) {
    case "text":
      return containProse(part.text);
    case "thinking":
      if (!options.includeThinking) return "";
      if (!part.text.trim()) return "*Thinking: empty (not recorded in the session file).*";
      return details("Thinking", containProse(part.text));
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

function renderToolCall(call: ToolCall, context: RenderContext): string {
  const blocks = [...describeCall(call, context.options)];
  for (const subagent of call.subagents) {
    const inner = subagent.sections.map((section) => renderSection(section, { ...context, depth: context.depth + 1 })).join("");
    blocks.push(details(`Subagent conversation: ${escapeInline(subagent.label)}`, inner.trim() || "*(no messages)*"));
  }
  blocks.push(renderResult(call, context.options));
  return blocks.filter(Boolean).join("\n\n");
}

function describeCall(call: ToolCall, options: ResolvedRenderOptions): string[] {
  const input = isRecord(call.input) ? call.input : {};
  const name = call.name || "tool";
  const title = `**${escapeInline(name)}**`;
  const text = (key: string): string | undefined => (typeof input[key] === "string" ? (input[key] as string) : undefined);
  const path = text("file_path") ?? text("path") ?? text("notebook_path");
  const shellCommand = shellCommandOf(name, input);
  if (shellCommand !== undefined) {
    const description = text("description");
    return [`${title}${description ? ` — ${escapeInline(description)}` : ""}`, codeBlock(shellCommand, "sh")];
  }
  if ((name === "Edit" || name === "MultiEdit") && path !== undefined) {
    const edits = name === "MultiEdit" && Array.isArray(input.edits) ? input.edits : [input];
    const diff = edits
      .filter(isRecord)
      .map((edit) => unifiedDiff(String(edit.old_string ?? ""), String(edit.new_string ?? "")))
      .join("\n");
    return [`${title} ${inlineCode(path)}`, fold(codeBlock(diff, "diff"), diff.length, "Diff", options)];
  }
  if (name === "Write" && path !== undefined) {
    const content = text("content") ?? "";
    return [`${title} ${inlineCode(path)}`, fold(codeBlock(content, languageOf(path)), content.length, "Content", options)];
  }
  if (name === "Read" && path !== undefined) {
    const range = [input.offset !== undefined ? `from line ${String(input.offset)}` : "", input.limit !== undefined ? `${String(input.limit)} lines` : ""]
      .filter(Boolean)
      .join(", ");
    return [`${title} ${inlineCode(path)}${range ? ` (${escapeInline(range)})` : ""}`];
  }
  if ((name === "Task" || name === "Agent") && typeof input.prompt === "string") {
    const kind = text("subagent_type");
    const description = text("description");
    const head = `${title}${kind ? ` ${inlineCode(kind)}` : ""}${description ? ` — ${escapeInline(description)}` : ""}`;
    return [head, details("Prompt", containProse(input.prompt))];
  }
  if (name === "apply_patch" && typeof call.input === "string") {
    return [title, fold(codeBlock(call.input, "diff"), call.input.length, "Patch", options)];
  }
  if (name === "TodoWrite" && Array.isArray(input.todos)) {
    const marks: Record<string, string> = { completed: "x", in_progress: "/", pending: " " };
    const items = input.todos.map((todo) =>
      isRecord(todo) ? `- [${marks[String(todo.status)] ?? " "}] ${escapeInline(String(todo.content ?? ""))}` : `- ${escapeInline(JSON.stringify(todo))}`,
    );
    return [title, items.join("\n")];
  }
  if (call.input === undefined || (isRecord(call.input) && Object.keys(call.input).length === 0)) return [title];
  const entries = isRecord(call.input) ? Object.entries(call.input) : [];
  const flat = entries.length > 0 && entries.length <= 6 && entries.every(([, value]) => ["number", "boolean"].includes(typeof value) || (typeof value === "string" && value.length <= 200 && !value.includes("\n")));
  if (flat) return [`${title} ${entries.map(([key, value]) => `${escapeInline(key)}: ${inlineCode(String(value))}`).join(" · ")}`];
  const rendered = typeof call.input === "string" ? call.input : JSON.stringify(call.input, null, 2);
  return [title, fold(codeBlock(rendered, typeof call.input === "string" ? "" : "json"), rendered.length, "Input", options)];
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

function renderResult(call: ToolCall, options: ResolvedRenderOptions): string {
  const result = call.result;
  if (!result) return "*No result recorded for this call.*";
  const label = result.isError ? "**Error**" : "Result";
  const images = result.images.map((image) => renderImage(image.mediaType, image.data, options));
  const blocks: string[] = [];
  if (result.text.length === 0) blocks.push(result.isError ? `${label}: *(empty)*` : "*Result: (empty)*");
  else if (result.text.length > options.foldResultsOver) {
    const summary = `${result.isError ? "Error" : "Result"} (${result.text.length.toLocaleString("en-US")} chars)`;
    blocks.push(`${result.isError ? "**Error:**\n\n" : ""}${details(summary, codeBlock(result.text))}`);
  } else blocks.push(`${label}:\n\n${codeBlock(result.text)}`);
  return [...blocks, ...images].join("\n\n");
}

function fold(block: string, length: number, summary: string, options: ResolvedRenderOptions): string {
  return length > options.foldResultsOver ? details(`${summary} (${length.toLocaleString("en-US")} chars)`, block) : block;
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
