import { RE2JS } from "re2js";

import { PolicyError } from "./policy-error.js";
import { deriveAnchors } from "./rule-anchors.js";

/**
 * User refuse patterns ("employer-shape filter"): globs or regexes over env names and values.
 *
 * Syntax of one entry:
 *   - `/body/flags` is a regular expression (flags from `imsu`); anything else is a glob where
 *     `*` is any run of non-space characters and `?` one non-space character; globs ignore case.
 *   - an optional `name:` or `value:` prefix limits the entry to env names or to values/text.
 *
 * Every pattern runs on RE2 (re2js, pure JavaScript): matching is linear in the text by
 * construction, whatever the pattern, so no shape check or clock is needed to keep a pattern
 * from hanging sbx. What RE2 cannot express (backreferences, lookarounds) is refused at load,
 * naming the pattern and why.
 */
export interface UserPattern {
  /** The entry as the user wrote it (config, not secret), for reasons and errors. */
  readonly source: string;
  /** Stable rule id, e.g. `user-pattern-2`: goes into redaction markers, so it is not the pattern. */
  readonly rule: string;
  readonly scope: "any" | "name" | "value";
  /** Whole-name test for env names. */
  matchesName(name: string): boolean;
  /**
   * Every match span in `text`, in order, not overlapping. `lower()` gives `text.toLowerCase()`
   * (computed once by the caller, and only when a pattern asks for it): a literal that must occur
   * lets most texts skip the engine.
   */
  findSpans(text: string, lower: () => string): Array<[number, number]>;
}

export const MAX_PATTERN_LENGTH = 256;

/** The only characters outside ASCII whose lower case holds ASCII (`İ` → `i̇`, Kelvin sign → `k`). */
const LOWERS_INTO_ASCII = /[\u0130\u212A]/;

const HINT = "Fix or remove it in SANDBOX_REFUSE_PATTERNS or the sbx config file.";
const RE2_HINT =
  "sbx runs refuse patterns with RE2, which matches in linear time and so has no backreferences or lookarounds: match the text itself, e.g. /key=[a-z]+/ instead of /(?<=key=)[a-z]+/.";

function badPattern(label: string, source: string, why: string, hint = HINT, cause?: unknown): PolicyError {
  return new PolicyError("SBX_POLICY_BAD_PATTERN", `Refuse pattern ${label}${JSON.stringify(source)}${label ? ")" : ""} ${why}.`, { hint, cause });
}

export function compileUserPatterns(sources: readonly string[]): UserPattern[] {
  return sources.map((source, index) => compileUserPattern(source, `user-pattern-${index + 1}`, sources.length > 1 ? index + 1 : undefined));
}

/** `position`: the entry's 1-based place in the list, named in errors when there are several. */
export function compileUserPattern(source: string, rule: string, position?: number): UserPattern {
  const label = position === undefined ? "" : `${position} (`;
  if (source.length === 0) throw badPattern(label, source, "is empty");
  if (source.length > MAX_PATTERN_LENGTH) {
    throw badPattern(label, source.slice(0, 40) + "…", `is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  let scope: UserPattern["scope"] = "any";
  let body = source;
  const scoped = /^(name|value):/.exec(body);
  if (scoped) {
    scope = scoped[1] as "name" | "value";
    body = body.slice(scoped[0].length);
  }
  const regexLiteral = /^\/(.*)\/([a-z]*)$/s.exec(body);
  const compiled = regexLiteral ? compileRegex(label, source, regexLiteral[1] as string, regexLiteral[2] as string) : compileGlob(label, source, body);
  return { source, rule, scope, ...compiled };
}

type Compiled = Pick<UserPattern, "matchesName" | "findSpans">;

function compileGlob(label: string, source: string, glob: string): Compiled {
  const core = glob.replace(/^\*+/, "").replace(/\*+$/, "");
  if (core.replace(/[*?]/g, "").length === 0) throw badPattern(label, source, "matches everything");
  const translate = (text: string, star: string, one: string): string =>
    [...text].map((char) => (char === "*" ? star : char === "?" ? one : RE2JS.quote(char))).join("");
  const name = RE2JS.compile(`^(?:${translate(glob, "(?s:.*)", "(?s:.)")})$`, RE2JS.CASE_INSENSITIVE);
  const value = RE2JS.compile(translate(core, "\\S*", "\\S"), RE2JS.CASE_INSENSITIVE);
  // The longest literal piece must occur (lower-cased) for the glob to match anywhere.
  const literal = core
    .toLowerCase()
    .split(/[*?]/)
    .reduce((longest, piece) => (piece.length > longest.length ? piece : longest), "");
  const widenLeft = glob.startsWith("*");
  const widenRight = glob.endsWith("*");
  // Most globs are `prefix*` or `*.domain`: a plain literal once the outer stars are gone, found
  // with indexOf on the lower-cased text (when lower-casing kept every offset).
  const pureLiteral = !/[*?]/.test(core);
  // Most texts lack the literal: a case-blind regex test says so without lower-casing the text.
  // Only U+0130 and U+212A lower-case into ASCII, so with neither present the test is exact for
  // an ASCII literal; otherwise the lower-cased text decides.
  const quoted = literal.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  const ascii = /^[\x00-\x7f]*$/.test(literal);
  const mayHold = ascii ? new RegExp(quoted, "i") : undefined;
  const mayHoldAll = ascii ? new RegExp(quoted, "gi") : undefined;
  return {
    matchesName: (candidate) => name.testExact(candidate),
    findSpans(text, lowerOf) {
      if (mayHold !== undefined && !LOWERS_INTO_ASCII.test(text)) {
        // Lower-casing moves no offset and makes no ASCII here: the case-blind search is the same
        // (and finding none is the answer, with no test walking the text first).
        if (pureLiteral) return widen(regexSpans(mayHoldAll as RegExp, text));
        if (!mayHold.test(text)) return [];
      }
      const lower = lowerOf();
      if (!lower.includes(literal)) return [];
      return widen(pureLiteral && lower.length === text.length ? literalSpans(lower, literal) : allSpans(value, text));
      // A glob's leading/trailing `*` is not searched for (every position would start a match);
      // the found span is widened over the adjoining non-space run instead.
      function widen(spans: Array<[number, number]>): Array<[number, number]> {
        return spans.map(([start, end]) => [widenLeft ? widenOverNonSpace(text, start, -1) : start, widenRight ? widenOverNonSpace(text, end, 1) : end]);
      }
    },
  };
}

function compileRegex(label: string, source: string, body: string, flags: string): Compiled {
  if (!/^[imsu]*$/.test(flags) || new Set(flags).size !== flags.length) {
    throw badPattern(label, source, `has unsupported flags "${flags}"`, "Use only the flags i, m, s and u.");
  }
  const unsupported = unsupportedSyntax(body);
  if (unsupported) throw badPattern(label, source, `uses ${unsupported}, which the linear-time engine (RE2) cannot run`, RE2_HINT);
  let engineFlags = 0;
  if (flags.includes("i")) engineFlags |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes("m")) engineFlags |= RE2JS.MULTILINE;
  if (flags.includes("s")) engineFlags |= RE2JS.DOTALL;
  let value: RE2JS;
  let name: RE2JS;
  try {
    const translated = RE2JS.translateRegExp(body);
    value = RE2JS.compile(translated, engineFlags);
    name = RE2JS.compile(`^(?:${translated})$`, engineFlags);
  } catch (error) {
    throw badPattern(label, source, "is not a valid regular expression", `${HINT} (${(error as Error).message.split("\n")[0]})`, error);
  }
  if (value.test("")) throw badPattern(label, source, "matches the empty string");
  const starts = startLiterals(body, flags);
  return {
    matchesName: (candidate) => name.test(candidate),
    findSpans: (text) => (starts === undefined ? allSpans(value, text) : spansFromStarts(value, text, starts)),
  };
}

/** Where a pattern's matches can start, found by a JavaScript regex search (see {@link startLiterals}). */
interface StartLiterals {
  /** Global: the next occurrence of one of the literals every match starts with. */
  readonly search: RegExp;
  /**
   * How far before an occurrence found a match may start: a Kelvin sign or long s (the search
   * finds the character alone) may sit anywhere inside the literal it stands in.
   */
  readonly backOff: number;
  /** The pattern looks at no character outside its match (no `^`, `$`, `\b`…). */
  readonly contextFree: boolean;
}

/**
 * The literals every match starts with (`acmetok_` for `/acmetok_[a-z0-9]{8,64}/`), so that a text
 * without one skips the engine and the engine starts its search at one; undefined when the
 * pattern's starts cannot be pinned down. The body is read as a JavaScript regex, and only the
 * syntax both dialects share is accepted (see {@link deriveAnchors}).
 */
function startLiterals(body: string, flags: string): StartLiterals | undefined {
  let anchors;
  try {
    anchors = deriveAnchors(new RegExp(body, flags.replace("i", "") === flags ? "" : "i"));
  } catch {
    return undefined;
  }
  if (anchors === undefined || flags.includes("m") || flags.includes("s") || flags.includes("u")) return undefined;
  const literals = anchors.prefixes.map((prefix) => prefix.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")).join("|");
  const contextFree = !hasContextAssertion(body);
  // RE2 folds case by Unicode, where `k` also matches the Kelvin sign and `s` the long s: the
  // search stops at either, and the engine looks from as far back as the literal it may stand in.
  if (!anchors.ignoreCase) return { search: new RegExp(literals, "g"), backOff: 0, contextFree };
  const longest = Math.max(...anchors.prefixes.map((prefix) => prefix.length));
  return { search: new RegExp(`${literals}|[\\u017F\\u212A]`, "gi"), backOff: longest - 1, contextFree };
}

/**
 * Walks a pattern's body outside character classes, in order: `visit` sees each escape (at its
 * `\`, the escaped character is `body[at + 1]`) and each other character, and the first value it
 * returns that is not undefined ends the walk.
 */
function walkOutsideClasses<T>(body: string, visit: (char: string, at: number) => T | undefined): T | undefined {
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const char = body[i] as string;
    if (char === "\\") {
      const found = inClass ? undefined : visit(char, i);
      if (found !== undefined) return found;
      i++;
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      continue;
    }
    if (char === "[") {
      inClass = true;
      if (body[i + 1] === "]") i++;
      continue;
    }
    const found = visit(char, i);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** `^`, `$` or an escape that looks at a neighbour (`\b`, `\B`, `\A`, `\z`…), outside character classes. */
function hasContextAssertion(body: string): boolean {
  return walkOutsideClasses(body, (char, at) => ((char === "\\" ? /[bBAzZG]/.test(body[at + 1] ?? "") : char === "^" || char === "$") ? true : undefined)) === true;
}

/** The first position from `from` on where a match may start, or -1. */
function nextStart(text: string, from: number, starts: StartLiterals): number {
  starts.search.lastIndex = from;
  const hit = starts.search.exec(text);
  return hit === null ? -1 : Math.max(from, hit.index - starts.backOff);
}

/**
 * What {@link allSpans} returns, with each search started where a match may start: the engine
 * does not walk the text before the first start literal (1 MB of source with one `acmetok_` near
 * its end: the DFA's 1 MB walk becomes a walk of what follows the literal), nor between a match
 * and the next literal.
 */
function spansFromStarts(pattern: RE2JS, text: string, starts: StartLiterals): Array<[number, number]> {
  const first = nextStart(text, 0, starts);
  if (first < 0) return [];
  // No match starts before `first`: unless the pattern looks past its match, the text from
  // there on has one exactly when the whole text does.
  if (!pattern.test(starts.contextFree ? text.slice(first) : text)) return [];
  const spans: Array<[number, number]> = [];
  const matcher = pattern.matcher(text);
  let from = first;
  while (from >= 0 && from <= text.length && matcher.find(from)) {
    const start = matcher.start();
    const end = matcher.end();
    if (end > start) spans.push([start, end]);
    from = nextStart(text, end > start ? end : end + 1, starts);
  }
  return spans;
}

/** Backreferences and lookarounds, found by a walk that skips escapes and character classes. */
function unsupportedSyntax(body: string): string | undefined {
  return walkOutsideClasses(body, (char, at) => {
    if (char === "\\") {
      const next = body[at + 1] ?? "";
      if (/[1-9]/.test(next)) return `a backreference (\\${next})`;
      if (next === "k" && body[at + 2] === "<") return "a backreference (\\k<…>)";
      return undefined;
    }
    if (char !== "(" || body[at + 1] !== "?") return undefined;
    const kind = body.slice(at + 2, at + 4);
    if (kind.startsWith("=") || kind.startsWith("!")) return "a lookahead";
    if (kind === "<=" || kind === "<!") return "a lookbehind";
    return undefined;
  });
}

/**
 * Every leftmost-first match, in order. The DFA answers "is there any?" first, in one pass: most
 * texts hold no employer pattern and never pay for the span-finding engine.
 */
function allSpans(pattern: RE2JS, text: string): Array<[number, number]> {
  if (!pattern.test(text)) return [];
  const spans: Array<[number, number]> = [];
  const matcher = pattern.matcher(text);
  let from = 0;
  while (from <= text.length && matcher.find(from)) {
    const start = matcher.start();
    const end = matcher.end();
    if (end > start) spans.push([start, end]);
    from = end > start ? end : end + 1;
  }
  return spans;
}

function regexSpans(pattern: RegExp, text: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) spans.push([match.index, match.index + match[0].length]);
  return spans;
}

function literalSpans(lower: string, literal: string): Array<[number, number]> {
  const spans: Array<[number, number]> = [];
  for (let at = lower.indexOf(literal); at !== -1; at = lower.indexOf(literal, at + literal.length)) spans.push([at, at + literal.length]);
  return spans;
}

const MAX_WIDEN = 256;

function widenOverNonSpace(text: string, from: number, step: -1 | 1): number {
  let at = from;
  const limit = step < 0 ? Math.max(0, from - MAX_WIDEN) : Math.min(text.length, from + MAX_WIDEN);
  if (step < 0) while (at > limit && !isSpace(text.charCodeAt(at - 1))) at--;
  else while (at < limit && !isSpace(text.charCodeAt(at))) at++;
  return at;
}

function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13) || code === 0xa0 || code === 0x2028 || code === 0x2029;
}
