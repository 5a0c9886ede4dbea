// The structural check every exported note must pass, read with a real CommonMark + GFM renderer
// (markdown-it), the way Obsidian's reader would see it.
import matter from "gray-matter";
import MarkdownIt from "markdown-it";

const renderer = new MarkdownIt({ html: true });

/** What is wrong with a note's structure; empty when it is sound. */
export function structuralProblems(note: string): string[] {
  const problems: string[] = [];
  if (/\u001b/.test(note)) problems.push("a terminal escape (ESC) is in the note");
  if (!note.startsWith("---\n")) problems.push("no YAML frontmatter at the top");
  let body = note;
  try {
    const parsed = matter(note);
    if (typeof parsed.data !== "object" || parsed.data === null || Object.keys(parsed.data).length === 0) problems.push("the frontmatter is empty");
    body = parsed.content;
  } catch (error) {
    problems.push(`the frontmatter is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const lines = body.split("\n");
  const tokens = renderer.parse(body, {});
  let lastRole: string | undefined;
  let titles = 0;
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index];
    if (!token) continue;
    if (token.type === "html_block" || token.type === "html_inline") problems.push(`raw HTML at body line ${(token.map?.[0] ?? 0) + 1}: ${token.content.trim().slice(0, 60)}`);
    if (token.type === "inline") for (const child of token.children ?? []) if (child.type === "html_inline") problems.push(`inline HTML: ${child.content.slice(0, 60)}`);
    if (token.type === "heading_open" && token.level === 0) {
      const text = tokens[index + 1]?.content ?? "";
      if (token.tag === "h1") titles += 1;
      if (token.tag === "h2") {
        if (text !== "user" && text !== "assistant") problems.push(`a ## heading that is not a turn: "${text.slice(0, 60)}"`);
        // Two prompts in a row are two user turns; two assistant headings in a row split one turn.
        else if (text === "assistant" && lastRole === "assistant") problems.push(`two ## assistant headings in one turn (body line ${(token.map?.[0] ?? 0) + 1})`);
        lastRole = text;
      }
    }
    if (token.type === "fence" && token.map) {
      const closing = (lines[token.map[1] - 1] ?? "").replace(/^(\s*>)+ ?/, "").trim();
      const fence = token.markup;
      if (!(closing.startsWith(fence[0] as string) && closing.replace(new RegExp(`^\\${fence[0]}+`), "") === "" && closing.length >= fence.length)) {
        problems.push(`a code fence opened at body line ${token.map[0] + 1} is never closed`);
      } else if (token.content.trim() === "") problems.push(`an empty code block at body line ${token.map[0] + 1}`);
    }
  }
  if (titles !== 1) problems.push(`${titles} # titles instead of one`);
  return problems;
}
