// The section renderer as it was before nested callouts were quoted once at their final depth
// (commit 2a577a6: each callout quoted its finished body, so a subagent's tool result was quoted
// again at every level). Kept verbatim, with that commit's `callout`, as the reference the
// differential tests hold the current renderer to: the same sections must give the same bytes.
import { createHash } from "node:crypto";
import { codeBlock, containProse, escapeInline, formatCount, inlineCode } from "../markdown.js";
import { isRecord, type Part, type RenderContext, type Section, type ToolCall } from "../note-sections.js";
import type { ResolvedRenderOptions } from "../render-options.js";

export function referenceRenderSection(section: Section, context: RenderContext): string {
  if (section.kind === "event") {
    const body = renderPart(section.part, context);
    return body ? `${body}\n\n` : "";
  }
  const stamp = section.timestamp ? `*${escapeInline(section.timestamp)}*` : "";
  const model = section.kind === "assistant" && section.model ? ` · ${inlineCode(section.model)}` : "";
  const parts = section.parts.map((part) => renderPart(part, context)).filter(Boolean);
  if (context.depth === 0) {
    const continues = section.kind === "assistant" && context.turn?.role === "assistant";
    if (context.turn) context.turn.role = section.kind;
    if (continues) return parts.length ? `${parts.join("\n\n")}\n\n` : "";
    const heading = `## ${section.kind}\n\n${stamp}${stamp ? model : model.replace(/^ · /, "")}`;
    return `${[heading.trimEnd(), ...parts].join("\n\n")}\n\n`;
  }
  const label = `**${section.kind === "user" ? "subagent prompt" : "subagent"}**${stamp ? ` · ${stamp}` : ""}${model}`;
  return `${[label, ...parts].join("\n\n")}\n\n`;
}

function renderPart(part: Part, context: RenderContext): string {
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
function renderToolCall(call: ToolCall, context: RenderContext): string {
  const { title, body } = describeCall(call);
  const blocks = [...body];
  for (const subagent of call.subagents) {
    const inner = subagent.sections.map((section) => referenceRenderSection(section, { ...context, depth: context.depth + 1, turn: undefined })).join("");
    blocks.push(callout("example", `Subagent conversation: ${escapeInline(subagent.label)}`, inner.trim() || "*(no messages)*", true));
  }
  blocks.push(renderResult(call, context.options));
  const failed = call.result?.isError === true;
  return callout(failed ? "failure" : "example", `${title}${failed ? " (error)" : ""}`, blocks.filter(Boolean).join("\n\n"), true);
}

function describeCall(call: ToolCall): { title: string; body: string[] } {
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
    return { title: `${title}${summary}`, body: [codeBlock(shellCommand, "sh")] };
  }
  // Claude Code's Edit/MultiEdit and Gemini CLI's replace: old and new text, shown as a diff.
  if ((name === "Edit" || name === "MultiEdit" || name === "replace" || name === "edit") && path !== undefined) {
    const edits = name === "MultiEdit" && Array.isArray(input.edits) ? input.edits : [input];
    const diff = edits
      .filter(isRecord)
      .map((edit) => unifiedDiff(String(edit.old_string ?? ""), String(edit.new_string ?? "")))
      .join("\n");
    return { title: `${title} ${inlineCode(path)}`, body: [codeBlock(diff, "diff")] };
  }
  // Claude Code's Write and Gemini CLI's write_file: the file as written, highlighted by its type.
  if ((name === "Write" || name === "write_file") && path !== undefined) {
    return { title: `${title} ${inlineCode(path)}`, body: [codeBlock(text("content") ?? "", languageOf(path))] };
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
    return { title, body: [codeBlock(call.input, "diff")] };
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
  return { title, body: [codeBlock(rendered, typeof call.input === "string" ? "" : "json")] };
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
  const label = result.isError ? "**Error**" : "**Result**";
  const images = result.images.map((image) => renderImage(image.mediaType, image.data, options));
  const blocks: string[] = [];
  if (result.text.length === 0) blocks.push(`${label}: *(empty)*`);
  else {
    const size = result.text.length > options.foldResultsOver ? ` (${formatCount(result.text.length)} chars)` : "";
    blocks.push(`${label}${size}\n\n${codeBlock(result.text)}`);
  }
  return [...blocks, ...images].join("\n\n");
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

/**
 * An Obsidian callout (`> [!kind]- title` folds it): every body line is quoted so that a fence
 * inside stays inside. Obsidian renders Markdown in callouts, which it does not inside HTML
 * `<details>`; other renderers show a plain block quote.
 */
function callout(kind: string, title: string, body = "", folded = false): string {
  const head = `> [!${kind}]${folded ? "-" : ""} ${title}`;
  if (!body) return head;
  // One indexOf pass (twice as fast as split/map/join): callouts nest (a subagent's calls), so a
  // long result is quoted once per level.
  let quoted = "";
  for (let at = 0; ; ) {
    const newline = body.indexOf("\n", at);
    const line = newline < 0 ? body.slice(at) : body.slice(at, newline);
    quoted += line ? `> ${line}` : ">";
    if (newline < 0) break;
    quoted += "\n";
    at = newline + 1;
  }
  return `${head}\n${quoted}`;
}
