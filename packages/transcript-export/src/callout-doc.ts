// Callouts nest (a Task call holds a subagent conversation, which holds that subagent's calls), and
// quoting a finished callout's text inside the next one copied every line of it once per level:
// a subagent's tool output was built three times over. Here a section is built as a small tree
// instead — text, and bodies still to be quoted — and written out once, each line getting the `> `
// prefix of the depth it ends up at. The bytes are the same as quoting level by level (the
// differential tests compare them with the old renderer), with one string built per section.

/** Markdown still to be written: text, a callout body to be quoted one level deeper, or a run of both. */
export type Doc = string | Quoted | Doc[];

/** A callout's body: every line of it is quoted (`> `, or `>` for an empty line) once more than its surroundings. */
export class Quoted {
  constructor(readonly body: Doc) {}
}

/**
 * An Obsidian callout (`> [!kind]- title` folds it): every body line is quoted so that a fence
 * inside stays inside. Obsidian renders Markdown in callouts, which it does not inside HTML
 * `<details>`; other renderers show a plain block quote.
 */
export function callout(kind: string, title: string, body: Doc = "", folded = false): Doc {
  const head = `> [!${kind}]${folded ? "-" : ""} ${title}`;
  return isEmpty(body) ? head : [head, "\n", new Quoted(body)];
}

/** Whether `doc` writes nothing. A Quoted is never empty: callout makes one only for a body with text. */
export function isEmpty(doc: Doc): boolean {
  if (typeof doc === "string") return doc.length === 0;
  if (doc instanceof Quoted) return false;
  for (const item of doc) if (!isEmpty(item)) return false;
  return true;
}

/** The non-empty docs with `separator` between them (as `filter(Boolean).join(separator)` on strings). */
export function joinDocs(docs: Doc[], separator: string): Doc[] {
  const out: Doc[] = [];
  for (const doc of docs) {
    if (isEmpty(doc)) continue;
    if (out.length > 0) out.push(separator);
    out.push(doc);
  }
  return out;
}

/** `String.prototype.trim` of what `doc` writes, done on the tree. */
export function trimDoc(doc: Doc): Doc {
  const items = flatten(doc, []);
  let first = 0;
  while (first < items.length) {
    const item = items[first] as string | Quoted;
    if (item instanceof Quoted) break; // a quoted line starts with `>`
    const trimmed = item.trimStart();
    if (trimmed) {
      items[first] = trimmed;
      break;
    }
    first += 1;
  }
  let last = items.length - 1;
  while (last >= first) {
    const item = items[last] as string | Quoted;
    if (item instanceof Quoted) {
      // A quoted last line is `> text` or `>`: trimming stops at its `>`, inside that line.
      items[last] = new Quoted(trimLineEnd(item.body));
      break;
    }
    const trimmed = item.trimEnd();
    if (trimmed) {
      items[last] = trimmed;
      break;
    }
    last -= 1;
  }
  return items.slice(first, last + 1);
}

/** Whitespace at the end of the last line only (a quoted body's lines are split at `\n` alone). */
function trimLineEnd(doc: Doc): Doc {
  const items = flatten(doc, []);
  let last = items.length - 1;
  while (last >= 0) {
    const item = items[last] as string | Quoted;
    if (item instanceof Quoted) {
      items[last] = new Quoted(trimLineEnd(item.body));
      break;
    }
    const trimmed = item.replace(/[^\S\n]+$/, "");
    if (trimmed) {
      items[last] = trimmed;
      break;
    }
    last -= 1;
  }
  return items.slice(0, last + 1);
}

function flatten(doc: Doc, into: (string | Quoted)[]): (string | Quoted)[] {
  if (typeof doc === "string" || doc instanceof Quoted) into.push(doc);
  else for (const item of doc) flatten(item, into);
  return into;
}

/** Per depth: `> ` repeated (a line with text), the same without its last space (an empty line), and the patterns for both. */
interface Prefix {
  full: string;
  empty: string;
  newlineFull: string;
  newlineEmpty: string;
  emptyLine: RegExp;
}
const PREFIXES: Prefix[] = [];
function prefixAt(depth: number): Prefix {
  for (let next = PREFIXES.length; next <= depth; next += 1) {
    const full = "> ".repeat(next);
    PREFIXES.push({ full, empty: full.slice(0, -1), newlineFull: `\n${full}`, newlineEmpty: `\n${full.slice(0, -1)}`, emptyLine: new RegExp(`\n${full}(?=\n|$)`, "g") });
  }
  return PREFIXES[depth] as Prefix;
}

/** Text larger than this is handed on by itself rather than joined to what precedes it first. */
const PIECE_BYTES = 16 * 1024;

interface Writer {
  /** Written text not yet handed on (all of it, when there is nowhere to hand it). */
  out: string;
  depth: number;
  /** Nothing written on the current line yet (its prefix depends on whether it stays empty). */
  lineStart: boolean;
  emit: ((text: string) => void) | undefined;
}

/**
 * The Markdown `doc` stands for, every line quoted once for each callout it is in: returned whole,
 * or, with `emit`, handed on in pieces as it is made (so a long section is never one string).
 */
export function writeDoc(doc: Doc, emit?: (text: string) => void): string {
  const writer: Writer = { out: "", depth: 0, lineStart: true, emit };
  write(doc, writer);
  if (!emit) return writer.out;
  if (writer.out) emit(writer.out);
  return "";
}

function write(doc: Doc, writer: Writer): void {
  if (typeof doc === "string") {
    if (doc.length > 0) append(writer.depth === 0 ? doc : quoteText(doc, writer), writer, doc.charCodeAt(doc.length - 1) === 10);
    return;
  }
  if (doc instanceof Quoted) {
    // A body starts on a line of its own (after its callout's head) and is never empty.
    writer.depth += 1;
    writer.lineStart = true;
    write(doc.body, writer);
    // A body ending in a newline ends in an empty quoted line, as `"a\n".split("\n")` has two lines.
    if (writer.lineStart) append(prefixAt(writer.depth).empty, writer, false);
    writer.depth -= 1;
    return;
  }
  for (const item of doc) write(item, writer);
}

function append(text: string, writer: Writer, endsLine: boolean): void {
  writer.lineStart = endsLine;
  const emit = writer.emit;
  if (!emit) {
    writer.out += text;
    return;
  }
  if (text.length >= PIECE_BYTES) {
    if (writer.out) emit(writer.out);
    writer.out = "";
    emit(text);
    return;
  }
  writer.out += text;
  if (writer.out.length >= PIECE_BYTES) {
    emit(writer.out);
    writer.out = "";
  }
}

/**
 * `text` with every line that starts in it quoted at the writer's depth: `> ` before a line with
 * text, `>` alone on an empty one. A line already begun is continued as is, and a final newline
 * leaves the next line to whatever comes next. Whole-string replaces, not a loop over lines.
 */
function quoteText(text: string, writer: Writer): string {
  const prefix = prefixAt(writer.depth);
  const endsLine = text.charCodeAt(text.length - 1) === 10;
  const core = endsLine ? text.slice(0, -1) : text;
  const multiline = core.includes("\n");
  let quoted = multiline ? core.replaceAll("\n", prefix.newlineFull) : core;
  // An empty line inside (or at the end of) the text: `\n> ` followed by the next newline or the end.
  if (multiline && (core.includes("\n\n") || core.charCodeAt(core.length - 1) === 10)) quoted = quoted.replace(prefix.emptyLine, prefix.newlineEmpty);
  if (writer.lineStart) quoted = (core.length === 0 || core.charCodeAt(0) === 10 ? prefix.empty : prefix.full) + quoted;
  return endsLine ? `${quoted}\n` : quoted;
}
