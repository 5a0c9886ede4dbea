/**
 * What a rule's regular expression says about where its matches can start, derived from the
 * pattern's own source so that a new rule needs no extra field: the literal strings every match
 * begins with (`ghp_` for `ghp_[0-9A-Za-z]{36,255}`, `akia`/`asia`/`a3t`… for the AWS key id),
 * and the characters a leading negative lookbehind refuses just before a match.
 *
 * The scanner looks for these literals in one pass over the text and runs the rule (sticky) only
 * where one starts, instead of letting the regex engine try every position. A pattern whose
 * starts cannot be pinned down (a leading character class, `.`, `\d`…) gets no anchor and is
 * scanned whole, as before. The derivation is conservative: every match of the pattern starts
 * with one of the returned literals, or the function returns undefined.
 */
export interface RuleAnchors {
  /** Literals (lower-cased when `ignoreCase`) every match starts with; each at least 2 long. */
  readonly prefixes: readonly string[];
  /** The pattern has the `i` flag: prefixes are compared ignoring ASCII case. */
  readonly ignoreCase: boolean;
  /**
   * Char codes (< 128) a leading `(?<![…])` refuses right before a match, or undefined. Checked
   * before running the pattern, so a prefix inside a word costs a table look-up, not a regex call.
   */
  readonly refusedBefore?: Uint8Array;
  /**
   * Per prefix (same order), what every match starting with it has right after it, when known:
   * at least `min` characters of `table` (char codes < 128). A hit whose next characters fail it
   * cannot start a match, so the pattern is not run there.
   */
  readonly follows: ReadonlyArray<Follow | undefined>;
}

export interface Follow {
  readonly table: Uint8Array;
  readonly min: number;
}

/** A string every match of a piece starts with; `done` when the piece's match is exactly it. */
interface Prefix {
  s: string;
  done: boolean;
  /** Set on a prefix that ends because a character-class run follows it. */
  follow?: Follow;
}
/** `null`: nothing known about how the piece's matches start. */
type Prefixes = Prefix[] | null;

const MAX_PREFIX = 16;
const MAX_SET = 64;
const MAX_CLASS = 6;
const MIN_PREFIX = 2;
const MAX_LITERALS = 16;
/** A follow check looks at no more characters than this. */
const MAX_FOLLOW = 64;

class Unsupported extends Error {}

export function deriveAnchors(pattern: RegExp): RuleAnchors | undefined {
  const ignoreCase = pattern.flags.includes("i");
  if (pattern.flags.includes("u") || pattern.flags.includes("v") || pattern.flags.includes("m") || pattern.flags.includes("s")) return undefined;
  try {
    const parser = new Parser(pattern.source, ignoreCase);
    const result = parser.alternation();
    if (parser.at < pattern.source.length) return undefined;
    if (result === null) return undefined;
    // Only printable ASCII is searched for: a prefix is cut before anything else (still a prefix),
    // and before a bracket, which a redaction marker's could complete or cut (`process.env["`):
    // redact replays a pass whose literals hold none.
    const printable = result.map((p) => /^[\x20-\x5a\x5c\x5e-\x7e]*/.exec(p.s)?.[0] ?? "");
    const prefixes = fewest(printable);
    if (prefixes === undefined) return undefined;
    const follows = prefixes.map((prefix) => followOf(prefix, result, printable));
    const refusedBefore = leadingLookbehind(pattern.source, ignoreCase);
    return refusedBefore ? { prefixes, ignoreCase, refusedBefore, follows } : { prefixes, ignoreCase, follows };
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/**
 * A prefix's follow holds only when the prefix stands for itself alone: it came out of the parse
 * uncut, from one path, and no other prefix (whose matches it now also finds) starts with it.
 */
function followOf(prefix: string, result: readonly Prefix[], printable: readonly string[]): Follow | undefined {
  const sources = result.filter((_, i) => (printable[i] as string).startsWith(prefix));
  if (sources.length !== 1) return undefined;
  const [source] = sources as [Prefix];
  return source.s === prefix ? source.follow : undefined;
}

/**
 * The set without literals that start with another one (that one is found there anyway), cut
 * shorter while it has more than {@link MAX_LITERALS}; undefined if one is under {@link MIN_PREFIX}.
 */
function fewest(prefixes: readonly string[]): string[] | undefined {
  // Without the literals another one starts before any is cut: `sqlcmd.exe` is found at `sqlcmd`,
  // and cutting both to fit would cut every literal of the set.
  let set = withoutLonger(prefixes);
  for (let length = MAX_PREFIX; set.length > MAX_LITERALS && length > MIN_PREFIX; length--) set = withoutLonger(set.map((p) => p.slice(0, length - 1)));
  if (set.length === 0 || set.length > MAX_LITERALS || set.some((p) => p.length < MIN_PREFIX)) return undefined;
  return set;
}

function withoutLonger(prefixes: readonly string[]): string[] {
  const set = [...new Set(prefixes)];
  return set.filter((p) => !set.some((other) => other !== p && p.startsWith(other)));
}

/** Minimal parser for the regex subset the rules use; anything else throws {@link Unsupported}. */
class Parser {
  at = 0;
  /** The ASCII table of the class atom just parsed, when it has one. */
  private lastClass: Uint8Array | undefined;
  /** The minimum count of the quantifier just parsed (1 without one). */
  private lastMin = 1;
  constructor(
    private readonly source: string,
    private readonly ignoreCase: boolean,
  ) {}

  alternation(): Prefixes {
    let result: Prefixes = this.sequence();
    while (this.source[this.at] === "|") {
      this.at++;
      const next = this.sequence();
      result = result === null || next === null ? null : [...result, ...next];
    }
    return result === null ? null : cap(result);
  }

  private sequence(): Prefixes {
    let result: Prefix[] = [{ s: "", done: true }];
    let known = true;
    while (this.at < this.source.length && this.source[this.at] !== "|" && this.source[this.at] !== ")") {
      // Only a class atom's own table (a group's atom may have parsed classes inside it).
      const classAtom = this.source[this.at] === "[" || /^\\[dw]/.test(this.source.slice(this.at, this.at + 2));
      this.lastClass = undefined;
      let item = this.atom();
      const run = classAtom ? this.lastClass : undefined;
      item = this.quantified(item);
      if (!known) continue;
      if (!result.some((p) => p.done)) {
        known = false;
        continue;
      }
      const follow = item === null && run !== undefined && this.lastMin >= 1 ? { table: run, min: Math.min(this.lastMin, MAX_FOLLOW) } : undefined;
      result = concat(result, item, follow);
    }
    return result;
  }

  private quantified(item: Prefixes): Prefixes {
    this.lastMin = 1;
    const quantifier = readQuantifier(this.source, this.at);
    if (!quantifier) return item;
    const { min, max } = quantifier;
    this.at = quantifier.at;
    if (this.source[this.at] === "?") this.at++; // lazy: same set of matches
    this.lastMin = min;
    if (min === 1 && max === 1) return item;
    if (min === 0) return item === null ? null : [...item, { s: "", done: true }];
    return item === null ? null : item.map((p) => ({ s: p.s, done: false }));
  }

  private atom(): Prefixes {
    const char = this.source[this.at] as string;
    if (char === "(") return this.group();
    if (char === "[") return this.characterClass();
    if (char === "\\") return this.escape();
    this.at++;
    if (char === ".") return null;
    if (char === "^" || char === "$") return [{ s: "", done: true }];
    if (char === "*" || char === "+" || char === "?" || char === "]" || char === "}") throw new Unsupported();
    return this.literal(char);
  }

  private literal(char: string): Prefixes {
    return [{ s: this.ignoreCase ? char.toLowerCase() : char, done: true }];
  }

  private group(): Prefixes {
    const head = /^\((\?(?::|<?[=!]|<[A-Za-z_$][A-Za-z0-9_$]*>))?/.exec(this.source.slice(this.at)) as RegExpExecArray;
    this.at += head[0].length;
    const kind = head[1] ?? "";
    const inner = this.alternation();
    if (this.source[this.at] !== ")") throw new Unsupported();
    this.at++;
    // Lookarounds consume nothing: they restrict where a match starts, not what it starts with.
    if (/^\?<?[=!]$/.test(kind)) return [{ s: "", done: true }];
    return inner;
  }

  /** Reads `\uXXXX` or `\xXX` at the cursor: the character it stands for. */
  private hexEscape(kind: "u" | "x"): string {
    const hex = new RegExp(`^\\\\${kind}([0-9A-Fa-f]{${kind === "u" ? 4 : 2}})`).exec(this.source.slice(this.at));
    if (!hex) throw new Unsupported();
    this.at += hex[0].length;
    return String.fromCharCode(parseInt(hex[1] as string, 16));
  }

  private escape(): Prefixes {
    const next = this.source[this.at + 1];
    if (next === undefined) throw new Unsupported();
    if (next === "u" || next === "x") {
      return this.literal(this.hexEscape(next));
    }
    this.at += 2;
    if (next === "b" || next === "B") return [{ s: "", done: true }];
    if (/[dDwWsS]/.test(next)) {
      if (next === "d" || next === "w") this.lastClass = escapeTable(next);
      return null;
    }
    const controls: Record<string, string> = { n: "\n", r: "\r", t: "\t", v: "\v", f: "\f" };
    if (controls[next] !== undefined) return this.literal(controls[next]);
    // Any other letter or digit escape (backreferences, `\p{…}`, `\k<…>`, `\c`, and what other
    // dialects give a meaning, such as RE2's `\z`) is not a plain character: give up.
    if (/[A-Za-z0-9]/.test(next)) throw new Unsupported();
    return this.literal(next);
  }

  private characterClass(): Prefixes {
    this.at++;
    const negated = this.source[this.at] === "^";
    if (negated) this.at++;
    const members = new Set<string>();
    let large = false;
    let table: Uint8Array | undefined = new Uint8Array(128);
    while (this.at < this.source.length && this.source[this.at] !== "]") {
      const escape = this.source[this.at] === "\\" ? this.source[this.at + 1] : undefined;
      const low = this.classChar();
      if (low === null) {
        large = true;
        if (table !== undefined && (escape === "d" || escape === "w")) {
          const own = escapeTable(escape);
          for (let code = 0; code < 128; code++) if (own[code] === 1) table[code] = 1;
        } else table = undefined;
        continue;
      }
      if (this.source[this.at] === "-" && this.source[this.at + 1] !== "]" && this.at + 1 < this.source.length) {
        this.at++;
        const high = this.classChar();
        if (high === null) throw new Unsupported();
        const from = low.charCodeAt(0);
        const to = high.charCodeAt(0);
        if (to < from) throw new Unsupported();
        if (table !== undefined) {
          if (to >= 128) table = undefined;
          else table.fill(1, from, to + 1);
        }
        if (to - from >= MAX_CLASS) large = true;
        else for (let code = from; code <= to; code++) members.add(String.fromCharCode(code));
        continue;
      }
      members.add(low);
      if (table !== undefined) {
        if (low.charCodeAt(0) >= 128) table = undefined;
        else table[low.charCodeAt(0)] = 1;
      }
    }
    if (this.source[this.at] !== "]") throw new Unsupported();
    this.at++;
    if (!negated && table !== undefined) this.lastClass = this.ignoreCase ? bothCases(table) : table;
    if (negated || large) return null;
    const folded = new Set([...members].map((m) => (this.ignoreCase ? m.toLowerCase() : m)));
    if (folded.size === 0 || folded.size > MAX_CLASS) return null;
    return [...folded].map((s) => ({ s, done: true }));
  }

  /** One class member; null for a class escape (`\d`, `\s`, `\w`…). */
  private classChar(): string | null {
    const char = this.source[this.at] as string;
    if (char !== "\\") {
      this.at++;
      return char;
    }
    const next = this.source[this.at + 1];
    if (next === undefined) throw new Unsupported();
    if (next === "u" || next === "x") {
      return this.hexEscape(next);
    }
    this.at += 2;
    if (/[dDwWsS]/.test(next)) return null;
    const controls: Record<string, string> = { n: "\n", r: "\r", t: "\t", v: "\v", f: "\f" };
    if (controls[next] !== undefined) return controls[next];
    if (/[A-Za-z0-9]/.test(next)) throw new Unsupported();
    return next;
  }
}

function escapeTable(escape: "d" | "w"): Uint8Array {
  const table = new Uint8Array(128);
  table.fill(1, 48, 58);
  if (escape === "w") {
    table.fill(1, 65, 91);
    table.fill(1, 97, 123);
    table[95] = 1;
  }
  return table;
}

/** What a class matches under the `i` flag (without `u`: ASCII letters fold only to ASCII). */
function bothCases(table: Uint8Array): Uint8Array {
  const out = Uint8Array.from(table);
  for (let code = 65; code <= 90; code++) if (table[code] === 1 || table[code + 32] === 1) out[code] = out[code + 32] = 1;
  return out;
}

function concat(left: Prefix[], right: Prefixes, follow?: Follow): Prefix[] {
  const out: Prefix[] = [];
  for (const p of left) {
    if (!p.done) out.push(p);
    else if (right === null) out.push(follow === undefined ? { s: p.s, done: false } : { s: p.s, done: false, follow });
    else for (const q of right) out.push(q.follow === undefined ? { s: p.s + q.s, done: q.done } : { s: p.s + q.s, done: q.done, follow: q.follow });
  }
  return cap(out);
}

/** Keeps the set small and the strings short; cutting a prefix short keeps it true. */
function cap(prefixes: Prefix[]): Prefix[] {
  let out = prefixes.map((p) => (p.s.length >= MAX_PREFIX ? { s: p.s.slice(0, MAX_PREFIX), done: false } : p));
  if (out.length > MAX_SET) out = out.map((p) => ({ s: p.s, done: false }));
  const seen = new Map<string, Prefix>();
  for (const p of out) {
    const key = `${p.done ? 1 : 0}${p.s}`;
    const known = seen.get(key);
    // The same string by two paths: neither path's follow holds for both.
    if (known === undefined) seen.set(key, p);
    else if (known.follow !== p.follow) seen.set(key, { s: p.s, done: p.done });
  }
  out = [...seen.values()];
  if (out.length > MAX_SET) {
    // Still too many: shorten all to a common length until the set fits (each stays a true prefix).
    for (let length = MAX_PREFIX - 1; length >= 0 && out.length > MAX_SET; length--) {
      out = [...new Set(out.map((p) => p.s.slice(0, length)))].map((s) => ({ s, done: false }));
    }
  }
  return out;
}

/**
 * The class of a negative lookbehind that opens the pattern (`(?<![A-Za-z0-9_])ghp_…`), as a
 * table of refused preceding char codes; undefined when the pattern does not open with one.
 */
function leadingLookbehind(source: string, ignoreCase: boolean): Uint8Array | undefined {
  const head = /^\(\?<!\[((?:[^\]\\]|\\.)+)\]\)/.exec(source);
  if (!head) return undefined;
  // The rest of the pattern must be one alternative: a top-level `|` would make the lookbehind
  // belong to its first branch only.
  if (hasTopLevelBar(source)) return undefined;
  const body = head[1] as string;
  if (body.startsWith("^")) return undefined;
  return classBodyTable(body, ignoreCase);
}

/**
 * The char codes a (non-negated) character class body holds (`A-Za-z0-9_`, `./$`), both cases
 * under `i`; undefined when it holds a class escape (`\d`, `\w`…) or a character past ASCII.
 */
export function classBodyTable(body: string, ignoreCase: boolean): Uint8Array | undefined {
  const refused = new Uint8Array(128);
  let at = 0;
  const next = (): number | undefined => {
    let char = body[at++] as string;
    if (char === "\\") {
      char = body[at++] as string;
      if (/[dDwWsSbBpPuxck0-9]/.test(char)) return undefined;
      char = { n: "\n", r: "\r", t: "\t", v: "\v", f: "\f" }[char] ?? char;
    }
    return char.charCodeAt(0);
  };
  while (at < body.length) {
    const low = next();
    if (low === undefined) return undefined;
    let high = low;
    if (body[at] === "-" && at + 1 < body.length) {
      at++;
      const end = next();
      if (end === undefined) return undefined;
      high = end;
    }
    if (high >= 128 || high < low) return undefined;
    for (let code = low; code <= high; code++) {
      refused[code] = 1;
      if (ignoreCase) {
        const char = String.fromCharCode(code);
        refused[char.toLowerCase().charCodeAt(0)] = 1;
        refused[char.toUpperCase().charCodeAt(0)] = 1;
      }
    }
  }
  return refused;
}

function hasTopLevelBar(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === "\\") {
      i++;
      continue;
    }
    if (inClass) {
      if (char === "]") inClass = false;
      continue;
    }
    if (char === "[") inClass = true;
    else if (char === "(") depth++;
    else if (char === ")") depth--;
    else if (char === "|" && depth === 0) return true;
  }
  return false;
}

/**
 * The same pattern with each `(CLASS{m,n})` capture that a lookahead closes made atomic:
 * `(?=(CLASS{m,n}))\N(?=…)`. Sound when giving characters back can never help, which is checked
 * per run: after a shorter run the next character is in CLASS, and a positive lookahead that
 * needs a character outside CLASS (or the end), or a negative one that refuses every character
 * of CLASS, then fails there too. The greedy run is tried first either way, so the matches and
 * capture spans are the same; what goes is the backtracking (up to `n` steps per start) on a
 * long run that does not end as the lookahead wants (`password=password=…`).
 */
export function atomicRuns(pattern: RegExp): RegExp {
  const source = pattern.source;
  if (/[msuv]/.test(pattern.flags) || /\\[1-9k]/.test(source)) return pattern;
  const caseFlag = pattern.flags.includes("i") ? "i" : "";
  const RUN = /^\((\[(?:[^\]\\]|\\[^A-Za-z0-9]|\\[dw])+\])\{(\d+),(\d+)\}\)\(\?(=|!)((?:[^()[\]\\]|\\.|\[(?:[^\]\\]|\\.)+\])+)\)/;
  let out = "";
  let group = 0;
  let changed = false;
  for (let i = 0; i < source.length; i++) {
    const char = source[i] as string;
    if (char === "\\") {
      out += source.slice(i, i + 2);
      i++;
      continue;
    }
    if (char === "[") {
      const end = classEnd(source, i);
      out += source.slice(i, end);
      i = end - 1;
      continue;
    }
    if (char === "(" && (source[i + 1] !== "?" || /^\(\?<[A-Za-z_$]/.test(source.slice(i)))) {
      group++;
      const run = RUN.exec(source.slice(i));
      if (run && runIsAtomic(run[1] as string, run[4] as "=" | "!", run[5] as string, caseFlag)) {
        out += `(?=(${run[1]}{${run[2]},${run[3]}}))\\${group}(?${run[4]}${run[5]})`;
        i += run[0].length - 1;
        changed = true;
        continue;
      }
    }
    out += char;
  }
  return changed ? new RegExp(out, pattern.flags) : pattern;
}

function classEnd(source: string, at: number): number {
  let i = at + 1;
  if (source[i] === "^") i++;
  if (source[i] === "]") i++;
  while (i < source.length && source[i] !== "]") i += source[i] === "\\" ? 2 : 1;
  return i + 1;
}

function runIsAtomic(runClass: string, kind: "=" | "!", body: string, caseFlag: string): boolean {
  // The run's class must hold only ASCII (it does when spelled in ASCII without `\s`, `\W`, …).
  if (runClass.startsWith("[^") || /[^\x20-\x7e]/.test(runClass)) return false;
  const alternatives = splitAlternatives(body);
  if (alternatives === undefined) return false;
  // Each alternative consumes exactly one character, or is the end of the text.
  if (!alternatives.every((alt) => alt === "$" || /^(?:\[(?:[^\]\\]|\\.)+\]|\\[^A-Za-z0-9]|\\[sdwSDW]|[^\\$^.|])$/.test(alt))) return false;
  if (kind === "!" && alternatives.includes("$")) return false;
  const inRun = new RegExp(`^${runClass}$`, caseFlag);
  const next = new RegExp(`^(?:${body})`, caseFlag);
  for (let code = 0; code < 128; code++) {
    const char = String.fromCharCode(code);
    if (!inRun.test(char)) continue;
    if (kind === "=" ? next.test(char) : !next.test(char)) return false;
  }
  return true;
}

function splitAlternatives(body: string): string[] | undefined {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < body.length; i++) {
    const char = body[i] as string;
    if (char === "\\") {
      current += body.slice(i, i + 2);
      i++;
    } else if (char === "[") {
      const end = classEnd(body, i);
      current += body.slice(i, end);
      i = end - 1;
    } else if (char === "|") {
      parts.push(current);
      current = "";
    } else if (char === "(" || char === ")") return undefined;
    else current += char;
  }
  parts.push(current);
  return parts;
}

/**
 * Where a start can be ruled out without running the pattern: every match starting at `s` has a
 * character outside `table` (char codes < 128; any other character counts as outside) at some
 * offset up to `within` from `s`, or the text ends there. So a start inside a run of more than
 * `within` table characters cannot match, and a flood (`password=password=…`, one run to the
 * end) costs one look-up per start instead of a regex attempt that reads up to `within`
 * characters. `table` is the class of the pattern's longest bounded run, whose upper bound is what
 * made those attempts long.
 */
export interface RunBreak {
  readonly table: Uint8Array;
  readonly within: number;
}

/** Nothing bounds this far ahead: such a break would be no use. */
const MAX_BREAK = 4096;
/** How many of a pattern's run classes are tried as the break's class. */
const MAX_BREAK_CLASSES = 8;

/** The {@link RunBreak} of a pattern, or undefined when none can be proven (unsupported syntax too). */
export function deriveRunBreak(pattern: RegExp): RunBreak | undefined {
  if (/[msuv]/.test(pattern.flags)) return undefined;
  const ignoreCase = pattern.flags.includes("i");
  try {
    const runs = new BreakParser(pattern.source, ignoreCase, undefined);
    runs.alternation();
    if (runs.at < pattern.source.length) return undefined;
    // The longest runs first: theirs is the bound that makes an attempt long.
    for (const { table } of runs.runs.sort((a, b) => b.max - a.max).slice(0, MAX_BREAK_CLASSES)) {
      const parser = new BreakParser(pattern.source, ignoreCase, table);
      const node = parser.alternation();
      if (node.witness !== undefined && node.witness <= MAX_BREAK) return { table, within: node.witness };
    }
    return undefined;
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}

/**
 * A piece of pattern: its longest match, and `witness`, when known: an offset from the piece's
 * start up to which every match of it meets a character outside the table (or the text's end).
 */
interface BreakNode {
  readonly max: number;
  readonly witness: number | undefined;
}

/**
 * A second small parser over the same regex subset, for {@link deriveRunBreak}. With no table it
 * only finds the class of the longest bounded run; with one it computes the {@link BreakNode} of
 * the whole pattern. Anything it does not know throws {@link Unsupported}.
 */
class BreakParser {
  at = 0;
  /** Without a table: the classes of the pattern's bounded runs, each once, with its longest bound. */
  readonly runs: Array<{ table: Uint8Array; max: number }> = [];
  private group = 0;
  /** Per capture group: its longest match (for backreferences). */
  private readonly groupMax = new Map<number, number>();

  constructor(
    private readonly source: string,
    private readonly ignoreCase: boolean,
    private readonly table: Uint8Array | undefined,
  ) {}

  alternation(): BreakNode {
    let node = this.sequence();
    while (this.source[this.at] === "|") {
      this.at++;
      const next = this.sequence();
      node = { max: Math.max(node.max, next.max), witness: node.witness === undefined || next.witness === undefined ? undefined : Math.max(node.witness, next.witness) };
    }
    return node;
  }

  private sequence(): BreakNode {
    let max = 0;
    let witness: number | undefined;
    while (this.at < this.source.length && this.source[this.at] !== "|" && this.source[this.at] !== ")") {
      const item = this.quantified();
      if (witness === undefined && item.witness !== undefined) witness = max + item.witness;
      max += item.max;
    }
    return { max, witness };
  }

  private quantified(): BreakNode {
    const atom = this.atom();
    const quantifier = readQuantifier(this.source, this.at);
    const { min, max } = quantifier ?? { min: 1, max: 1 };
    if (quantifier) this.at = quantifier.at;
    if (min !== 1 || max !== 1) {
      if (this.source[this.at] === "?") this.at++; // lazy: the same set of matches
      if (atom.lookaround) throw new Unsupported();
      if (atom.set !== undefined && max !== Infinity && max > 1 && this.table === undefined) {
        const set = atom.set;
        const known = this.runs.find((run) => run.table.every((bit, code) => bit === set[code]));
        if (known === undefined) this.runs.push({ table: set, max });
        else known.max = Math.max(known.max, max);
      }
    }
    // Repeated, the piece's own witness holds for its first copy, when there is one.
    return { max: atom.max * max, witness: min >= 1 ? atom.witness : undefined };
  }

  /** One atom; `set` is the ASCII table of a single-character atom (class, escape, literal). */
  private atom(): BreakNode & { set?: Uint8Array; lookaround?: boolean } {
    const char = this.source[this.at] as string;
    if (char === "(") return this.groupAtom();
    if (char === "[") return this.charAtom(this.classSet());
    if (char === "\\") return this.escapeAtom();
    this.at++;
    if (char === "$") return { max: 0, witness: 0, lookaround: true };
    if (char === "^") return { max: 0, witness: undefined, lookaround: true };
    if (char === ".") return { max: 1, witness: undefined };
    if ("*+?{}]".includes(char)) throw new Unsupported();
    return this.charAtom(this.fold(setOf([char.charCodeAt(0)])));
  }

  /** A single-character atom: a witness when it can match no table character. */
  private charAtom(set: Uint8Array): BreakNode & { set: Uint8Array } {
    return { max: 1, witness: this.table !== undefined && disjoint(set, this.table) ? 0 : undefined, set };
  }

  private groupAtom(): BreakNode & { lookaround?: boolean } {
    const head = /^\((\?(?::|<?[=!]|<[A-Za-z_$][A-Za-z0-9_$]*>))?/.exec(this.source.slice(this.at)) as RegExpExecArray;
    this.at += head[0].length;
    const kind = head[1] ?? "";
    const capture = kind === "" || kind.startsWith("?<") && !/^\?<[=!]$/.test(kind);
    const number = capture ? ++this.group : 0;
    const inner = this.alternation();
    if (this.source[this.at] !== ")") throw new Unsupported();
    this.at++;
    if (capture) this.groupMax.set(number, inner.max);
    // A lookahead reads from where it stands; lookbehinds and negative lookaheads prove nothing.
    if (kind === "?=") return { max: 0, witness: inner.witness, lookaround: true };
    if (kind === "?!" || kind === "?<=" || kind === "?<!") return { max: 0, witness: undefined, lookaround: true };
    return inner;
  }

  private escapeAtom(): BreakNode & { set?: Uint8Array; lookaround?: boolean } {
    const next = this.source[this.at + 1];
    if (next === undefined) throw new Unsupported();
    if (/[1-9]/.test(next)) {
      this.at += 2;
      const max = this.groupMax.get(Number(next));
      if (max === undefined || /[0-9]/.test(this.source[this.at] ?? "")) throw new Unsupported();
      return { max, witness: undefined };
    }
    if (next === "b" || next === "B") {
      this.at += 2;
      return { max: 0, witness: undefined, lookaround: true };
    }
    return this.charAtom(this.escapeSet());
  }

  /** The ASCII members of the escape at the cursor (`\s` also matches non-ASCII, never a table code). */
  private escapeSet(): Uint8Array {
    const next = this.source[this.at + 1] as string;
    if (next === "u" || next === "x") {
      const hex = new RegExp(`^\\\\${next}([0-9A-Fa-f]{${next === "u" ? 4 : 2}})`).exec(this.source.slice(this.at));
      if (!hex) throw new Unsupported();
      this.at += hex[0].length;
      const code = parseInt(hex[1] as string, 16);
      return this.fold(code < 128 ? setOf([code]) : new Uint8Array(128));
    }
    this.at += 2;
    if (next === "d" || next === "w") return escapeTable(next);
    if (next === "s") return setOf([9, 10, 11, 12, 13, 32]);
    if (next === "D" || next === "W" || next === "S") return complement(next === "S" ? setOf([9, 10, 11, 12, 13, 32]) : escapeTable(next.toLowerCase() as "d" | "w"));
    const controls: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12 };
    if (controls[next] !== undefined) return setOf([controls[next]]);
    if (/[A-Za-z0-9]/.test(next)) throw new Unsupported();
    return this.fold(setOf([next.charCodeAt(0)]));
  }

  private classSet(): Uint8Array {
    this.at++;
    const negated = this.source[this.at] === "^";
    if (negated) this.at++;
    // `[]` and `[^]` mean nothing and everything in JavaScript: not in the subset.
    if (this.source[this.at] === "]") throw new Unsupported();
    const set = new Uint8Array(128);
    while (this.at < this.source.length && this.source[this.at] !== "]") {
      const low = this.classMember();
      if (typeof low !== "number") {
        for (let code = 0; code < 128; code++) if (low[code] === 1) set[code] = 1;
        continue;
      }
      if (this.source[this.at] === "-" && this.source[this.at + 1] !== "]" && this.at + 1 < this.source.length) {
        this.at++;
        const high = this.classMember();
        if (typeof high !== "number" || high < low) throw new Unsupported();
        set.fill(1, Math.min(low, 128), Math.min(high + 1, 128));
        continue;
      }
      if (low < 128) set[low] = 1;
    }
    if (this.source[this.at] !== "]") throw new Unsupported();
    this.at++;
    const folded = this.fold(set);
    return negated ? complement(folded) : folded;
  }

  /** A class member: a char code, or the table of a class escape. */
  private classMember(): number | Uint8Array {
    const char = this.source[this.at] as string;
    if (char !== "\\") {
      this.at++;
      return char.charCodeAt(0);
    }
    const next = this.source[this.at + 1];
    if (next === undefined || next === "b" || /[1-9]/.test(next)) throw new Unsupported();
    if (next === "u" || next === "x") {
      const hex = new RegExp(`^\\\\${next}([0-9A-Fa-f]{${next === "u" ? 4 : 2}})`).exec(this.source.slice(this.at));
      if (!hex) throw new Unsupported();
      this.at += hex[0].length;
      return parseInt(hex[1] as string, 16);
    }
    if (/[dDwWsS]/.test(next)) return this.escapeSet();
    this.at += 2;
    const controls: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12 };
    if (controls[next] !== undefined) return controls[next];
    if (/[A-Za-z0-9]/.test(next)) throw new Unsupported();
    return next.charCodeAt(0);
  }

  /** Under the `i` flag a letter matches both cases (without `u`, ASCII folds only to ASCII). */
  private fold(set: Uint8Array): Uint8Array {
    return this.ignoreCase ? bothCases(set) : set;
  }
}

function setOf(codes: readonly number[]): Uint8Array {
  const set = new Uint8Array(128);
  for (const code of codes) set[code] = 1;
  return set;
}

function complement(set: Uint8Array): Uint8Array {
  return set.map((bit) => 1 - bit);
}

function disjoint(a: Uint8Array, b: Uint8Array): boolean {
  for (let code = 0; code < 128; code++) if (a[code] === 1 && b[code] === 1) return false;
  return true;
}

/** The quantifier at `at` (`*`, `+`, `?`, `{n}`, `{n,}`, `{n,m}`), with where it ends; undefined if none. */
function readQuantifier(source: string, at: number): { min: number; max: number; at: number } | undefined {
  const next = source[at];
  if (next === "*") return { min: 0, max: Infinity, at: at + 1 };
  if (next === "+") return { min: 1, max: Infinity, at: at + 1 };
  if (next === "?") return { min: 0, max: 1, at: at + 1 };
  const braces = /^\{(\d+)(?:(,)(\d*))?\}/.exec(source.slice(at, at + 24));
  if (!braces) return undefined;
  const min = Number(braces[1]);
  return { min, max: braces[2] === undefined ? min : braces[3] === "" ? Infinity : Number(braces[3]), at: at + braces[0].length };
}
