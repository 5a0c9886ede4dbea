// Everything that puts session text into the note goes through these functions, so that no
// session text (a stray fence, a `## user` line, a `</details>`, a `<script>`) can change the
// note's structure.

const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})/;

// CSI/OSC/other ESC sequences (colours from `/model`, cursor moves from a TUI) and the C0/C1
// controls a terminal acts on: they are noise in a note, and ESC is invisible in Obsidian.
const TERMINAL_ESCAPES = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u0080-\u009f]/g;

/** Text as a terminal would have shown it: escape sequences and control characters removed. */
// ESC (0x1b) is inside this class: one scan decides whether there is anything to strip.
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u0080-\u009f]/;

export function stripTerminalEscapes(text: string): string {
  return TERMINAL_CONTROL.test(text) ? text.replace(TERMINAL_ESCAPES, "") : text;
}

/** A fenced code block whose fence is longer than any backtick run inside `text`. */
export function codeBlock(text: string, language = ""): string {
  const [open, body, close] = codeBlockParts(text, language);
  return `${open}${body}${close}`;
}

/**
 * `codeBlock` as its opening fence line, body and closing fence line, for the note renderer: a
 * tool's output is then quoted into the note from the string it was read as, not first copied
 * into a block string that is copied again as it is quoted.
 */
export function codeBlockParts(text: string, language = ""): [open: string, body: string, close: string] {
  const clean = stripTerminalEscapes(text);
  const body = clean.endsWith("\n") ? clean.slice(0, -1) : clean;
  const fence = "`".repeat(Math.max(3, longestRun(body, "`") + 1));
  // A language word cannot contain backticks or spaces; anything else is dropped.
  const lang = /^[\w+#.-]{1,30}$/.test(language) ? language : "";
  return [`${fence}${lang}\n`, body, `\n${fence}`];
}

/** An inline code span that survives backticks inside `text` (one line only). */
export function inlineCode(text: string): string {
  const oneLine = stripTerminalEscapes(text.replace(/[\r\n]+/g, " "));
  const ticks = "`".repeat(longestRun(oneLine, "`") + 1);
  const pad = oneLine.startsWith("`") || oneLine.endsWith("`") || oneLine === "" ? " " : "";
  return `${ticks}${pad}${oneLine}${pad}${ticks}`;
}

/** Plain text for a single line of markup we generate (summaries, labels): no tags, no breaks. */
export function escapeInline(text: string): string {
  return escapeHtml(stripTerminalEscapes(text.replace(/[\r\n]+/g, " "))).replace(/([\\`])/g, "\\$1");
}

const HTML_ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

export function escapeHtml(text: string): string {
  // One pass, and none at all for the usual text with nothing to escape.
  return /[&<>]/.test(text) ? text.replace(/[&<>]/g, (char) => HTML_ENTITIES[char] as string) : text;
}

/**
 * Prose written by the user or the model: kept as Markdown, but contained. Headings are pushed
 * below the note's own `##` level, `<` outside code is escaped (so HTML, including a closing
 * `</details>`, renders as text), and an unclosed code fence is closed at the end.
 */
export function containProse(text: string): string {
  const lines = stripTerminalEscapes(text.replace(/\r\n?/g, "\n")).split("\n");
  const out: string[] = [];
  let openFence: { char: string; length: number; at: number } | undefined;
  for (const line of lines) {
    const fence = FENCE_LINE.exec(line);
    if (openFence) {
      if (fence?.[1] && fence[1][0] === openFence.char && fence[1].length >= openFence.length && line.trim() === fence[1]) {
        openFence = undefined;
      }
      out.push(line);
      continue;
    }
    if (fence?.[1]) {
      const info = line.slice(line.indexOf(fence[1]) + fence[1].length);
      // A backtick fence's info string may not contain backticks; such a line is not a fence.
      if (!(fence[1][0] === "`" && info.includes("`"))) {
        openFence = { char: fence[1][0] as string, length: fence[1].length, at: out.length };
        out.push(line);
        continue;
      }
    }
    out.push(escapeProseLine(line));
  }
  if (openFence) {
    // A fence left open (a summary cut mid-block): close it, unless nothing follows it, where
    // closing would only add an empty code block; then the stray fence line goes.
    if (out.slice(openFence.at + 1).every((line) => !line.trim())) out.splice(openFence.at);
    else out.push(openFence.char.repeat(openFence.length));
  }
  return out.join("\n").trim();
}

function escapeProseLine(line: string): string {
  const heading = /^ {0,3}(#{1,6})(\s|$)/.exec(line);
  let text = line;
  if (heading?.[1]) {
    const level = Math.min(6, heading[1].length + 3);
    text = "#".repeat(level) + line.slice(line.indexOf(heading[1]) + heading[1].length);
  }
  // Obsidian treats a lone `---` under text as a setext heading; that is harmless. What matters is
  // HTML: escape `<` everywhere outside inline code spans.
  let result = "";
  let i = 0;
  while (i < text.length) {
    const tick = text.indexOf("`", i);
    const end = tick < 0 ? text.length : tick;
    result += text.slice(i, end).replace(/</g, "&lt;");
    if (tick < 0) break;
    let run = 1;
    while (text[tick + run] === "`") run += 1;
    const marker = "`".repeat(run);
    let close = text.indexOf(marker, tick + run);
    while (close >= 0 && text[close + run] === "`") {
      let skip = close;
      while (text[skip] === "`") skip += 1;
      close = text.indexOf(marker, skip);
    }
    if (close < 0) {
      // An unmatched run is literal text, not a code span.
      result += marker;
      i = tick + run;
    } else {
      result += text.slice(tick, close + run);
      i = close + run;
    }
  }
  return result;
}

/** 12345 → "12,345", without Intl (toLocaleString was a visible cost per tool result). */
export function formatCount(value: number): string {
  return String(Math.trunc(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** The longest run of `char` in `text`, jumping from one occurrence to the next (no per-character loop). */
function longestRun(text: string, char: string): number {
  let best = 0;
  for (let at = text.indexOf(char); at >= 0; ) {
    let end = at + 1;
    while (text[end] === char) end += 1;
    if (end - at > best) best = end - at;
    at = text.indexOf(char, end);
  }
  return best;
}
