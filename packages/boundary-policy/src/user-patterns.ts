import { PolicyError } from "./policy-error.js";

/**
 * User refuse patterns ("employer-shape filter"): globs or regexes over env names and values.
 *
 * Syntax of one entry:
 *   - `/body/flags` is a regular expression (flags from `imsu`); anything else is a glob where
 *     `*` is any run of non-space characters and `?` one non-space character; globs ignore case.
 *   - an optional `name:` or `value:` prefix limits the entry to env names or to values/text.
 *
 * Catastrophic backtracking cannot be ruled out by running a pattern, so it is ruled out by
 * shape: backreferences, nested or alternating repeats, and lookarounds holding repeats are
 * rejected at load; unbounded repeats are bounded to {@link MAX_REPEAT}; and the compiled pattern
 * must then scan adversarial probe strings within a time budget, or it is rejected by name.
 */
export interface UserPattern {
  /** The entry as the user wrote it (config, not secret), for reasons and errors. */
  readonly source: string;
  /** Stable rule id, e.g. `user-pattern-2`: goes into redaction markers, so it is not the pattern. */
  readonly rule: string;
  readonly scope: "any" | "name" | "value";
  /** Whole-name test for env names. */
  readonly name: RegExp;
  /** Global search for spans in values and free text. */
  readonly value: RegExp;
  /**
   * A glob's leading/trailing `*` is not searched for (a leading unbounded run makes every
   * position a start); the found span is widened over the adjoining non-space run instead.
   */
  readonly widen: { readonly left: boolean; readonly right: boolean };
}

export const MAX_PATTERN_LENGTH = 256;
export const MAX_REPEAT = 128;
const MAX_EXPLICIT_REPEAT = 1024;
const MAX_GLOB_STARS = 3;
const PROBE_LENGTH = 20_000;
const PROBE_BUDGET_MS = 8;
const PROBE_SIZES = [16, 32, 64, 128, 256, 512, 1024, 4096, PROBE_LENGTH];
const MAX_VARIABLE_REPEATS = 4;

function badPattern(source: string, why: string, hint?: string, cause?: unknown): PolicyError {
  return new PolicyError("SBX_POLICY_BAD_PATTERN", `Refuse pattern ${JSON.stringify(source)} ${why}.`, {
    hint: hint ?? "Fix or remove it in SANDBOX_REFUSE_PATTERNS or the sbx config file.",
    cause,
  });
}

export function compileUserPatterns(sources: readonly string[]): UserPattern[] {
  return sources.map((source, index) => compileUserPattern(source, `user-pattern-${index + 1}`));
}

export function compileUserPattern(source: string, rule: string): UserPattern {
  if (source.length === 0) throw badPattern(source, "is empty");
  if (source.length > MAX_PATTERN_LENGTH) {
    throw badPattern(source.slice(0, 40) + "…", `is longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  let scope: UserPattern["scope"] = "any";
  let body = source;
  const scoped = /^(name|value):/.exec(body);
  if (scoped) {
    scope = scoped[1] as "name" | "value";
    body = body.slice(scoped[0].length);
  }
  const regexLiteral = /^\/(.*)\/([a-z]*)$/s.exec(body);
  const compiled = regexLiteral
    ? { ...compileRegex(source, regexLiteral[1] as string, regexLiteral[2] as string), widen: { left: false, right: false } }
    : compileGlob(source, body);
  probeForBacktracking(source, compiled.value, body);
  return { source, rule, scope, ...compiled };
}

function compileGlob(source: string, glob: string): { name: RegExp; value: RegExp; widen: UserPattern["widen"] } {
  const stars = glob.split("*").length - 1;
  if (stars > MAX_GLOB_STARS) throw badPattern(source, `has more than ${MAX_GLOB_STARS} wildcards`);
  const core = glob.replace(/^\*+/, "").replace(/\*+$/, "");
  if (core.replace(/[*?]/g, "").length === 0) throw badPattern(source, "matches everything");
  const translate = (text: string, star: string, one: string): string =>
    [...text].map((char) => (char === "*" ? star : char === "?" ? one : char.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&"))).join("");
  return {
    name: new RegExp(`^(?:${translate(glob, `.{0,${MAX_REPEAT}}`, ".")})$`, "i"),
    value: new RegExp(translate(core, `[^\\s]{0,${MAX_REPEAT}}`, "[^\\s]"), "gi"),
    widen: { left: glob.startsWith("*"), right: glob.endsWith("*") },
  };
}

function compileRegex(source: string, body: string, flags: string): { name: RegExp; value: RegExp } {
  if (!/^[imsu]*$/.test(flags) || new Set(flags).size !== flags.length) {
    throw badPattern(source, `has unsupported flags "${flags}"`, "Use only the flags i, m, s and u.");
  }
  const bounded = boundRepeats(source, body);
  let value: RegExp;
  try {
    value = new RegExp(bounded, `${flags}g`);
  } catch (error) {
    throw badPattern(source, "is not a valid regular expression", undefined, error);
  }
  if (value.test("")) throw badPattern(source, "matches the empty string");
  return { name: new RegExp(bounded, flags), value };
}

interface GroupFrame {
  lookaround: boolean;
  repeats: boolean;
  alternates: boolean;
}

/**
 * A one-pass walk over the regex source: rejects the shapes that backtrack catastrophically and
 * rewrites `*`, `+` and `{n,}` to bounded repeats. Returns the rewritten source.
 */
function boundRepeats(source: string, body: string): string {
  const stack: GroupFrame[] = [{ lookaround: false, repeats: false, alternates: false }];
  let out = "";
  // What the next quantifier would apply to.
  let lastAtom: "none" | "simple" | { repeats: boolean; alternates: boolean } = "none";
  let variableRepeats = 0;
  let i = 0;
  const top = (): GroupFrame => stack[stack.length - 1] as GroupFrame;

  while (i < body.length) {
    const char = body[i] as string;
    if (char === "\\") {
      const next = body[i + 1];
      if (next === undefined) throw badPattern(source, "ends with a lone backslash");
      if (/[1-9]/.test(next) || (next === "k" && body[i + 2] === "<")) {
        throw badPattern(source, "uses a backreference", "Backreferences can take exponential time; rewrite without them.");
      }
      let end = i + 2;
      if ((next === "p" || next === "P" || next === "u") && body[end] === "{") {
        const close = body.indexOf("}", end);
        end = close === -1 ? body.length : close + 1;
      }
      out += body.slice(i, end);
      i = end;
      lastAtom = "simple";
      continue;
    }
    if (char === "[") {
      let end = i + 1;
      if (body[end] === "^") end++;
      if (body[end] === "]") end++;
      while (end < body.length && body[end] !== "]") end += body[end] === "\\" ? 2 : 1;
      if (end >= body.length) throw badPattern(source, "has an unclosed character class");
      out += body.slice(i, end + 1);
      i = end + 1;
      lastAtom = "simple";
      continue;
    }
    if (char === "(") {
      const lookaround = /^\(\?<?[=!]/.test(body.slice(i, i + 4));
      stack.push({ lookaround, repeats: false, alternates: false });
      const opener = /^\(\?(?:<?[=!]|:|<[A-Za-z_$][A-Za-z0-9_$]*>)?/.exec(body.slice(i))?.[0] ?? "(";
      out += opener;
      i += opener.length;
      lastAtom = "none";
      continue;
    }
    if (char === ")") {
      if (stack.length === 1) throw badPattern(source, "has an unbalanced parenthesis");
      const frame = stack.pop() as GroupFrame;
      if (frame.lookaround && frame.repeats) {
        throw badPattern(source, "repeats inside a lookaround", "Lookarounds over repeats can backtrack badly; use a plain match.");
      }
      if (frame.repeats) top().repeats = true;
      out += ")";
      i++;
      lastAtom = frame.lookaround ? "simple" : { repeats: frame.repeats, alternates: frame.alternates };
      continue;
    }
    if (char === "|") {
      top().alternates = true;
      out += "|";
      i++;
      lastAtom = "none";
      continue;
    }
    const quantifier = /^(?:[*+?]|\{(\d+)(,(\d*))?\})\??/.exec(body.slice(i));
    if (quantifier && (char !== "{" || quantifier[1] !== undefined)) {
      if (lastAtom === "none") throw badPattern(source, "has a quantifier with nothing to repeat");
      const token = quantifier[0];
      const lazy = token.length > 1 && token.endsWith("?") && token !== "?" ? "?" : "";
      let min: number;
      let max: number | undefined;
      if (token.startsWith("*")) [min, max] = [0, undefined];
      else if (token.startsWith("+")) [min, max] = [1, undefined];
      else if (token.startsWith("?")) [min, max] = [0, 1];
      else {
        min = Number(quantifier[1]);
        max = quantifier[2] === undefined ? min : quantifier[3] === "" ? undefined : Number(quantifier[3]);
      }
      if (max !== undefined && max > MAX_EXPLICIT_REPEAT) {
        throw badPattern(source, `repeats more than ${MAX_EXPLICIT_REPEAT} times`);
      }
      const repeats = max === undefined || max > 1;
      if (repeats && typeof lastAtom === "object" && (lastAtom.repeats || lastAtom.alternates)) {
        throw badPattern(
          source,
          lastAtom.repeats ? "nests a repeat inside a repeat" : "repeats a group of alternatives",
          "Nested repeats can take exponential time; use a character class such as [ab]+ instead.",
        );
      }
      if (repeats) top().repeats = true;
      if (max === undefined || max > min) variableRepeats++;
      if (variableRepeats > MAX_VARIABLE_REPEATS) throw badPattern(source, `has more than ${MAX_VARIABLE_REPEATS} variable repeats`);
      out += max === undefined ? `{${min},${min + MAX_REPEAT}}${lazy}` : token;
      i += token.length;
      lastAtom = "none";
      continue;
    }
    out += char;
    i++;
    lastAtom = "simple";
  }
  if (stack.length !== 1) throw badPattern(source, "has an unclosed group");
  return out;
}

/**
 * Scans inputs built from the pattern's own characters and from common runs, with a clock. Sizes
 * double so a polynomial blow-up (degree at most {@link MAX_VARIABLE_REPEATS}) shows on a
 * short probe before a long one could hang.
 */
function probeForBacktracking(source: string, pattern: RegExp, body: string): void {
  const literals = [...new Set(body.replace(/\\[dws]/gi, "").replace(/[\\^$.*+?()[\]{}|]/g, ""))].join("");
  const seeds = ["a", "0", " ", "-", "aA0", "a@", "a.", literals, literals + " "].filter((seed) => seed.length > 0);
  for (const size of PROBE_SIZES) {
    const budget = 1 + (PROBE_BUDGET_MS * size) / PROBE_LENGTH;
    for (const seed of seeds) {
      const probe = seed.repeat(Math.ceil(size / seed.length)).slice(0, size);
      // The clock is noisy (JIT tiers, GC): only a pattern slow on every try is rejected.
      let elapsed = timeScan(pattern, probe);
      for (let retry = 0; elapsed > budget && retry < 4; retry++) elapsed = Math.min(elapsed, timeScan(pattern, probe));
      if (elapsed > budget) throw slowPattern(source);
    }
  }
}

function slowPattern(source: string): PolicyError {
  return new PolicyError(
    "SBX_POLICY_SLOW_PATTERN",
    `Refuse pattern ${JSON.stringify(source)} is too slow to scan with (it backtracks).`,
    { hint: "Anchor it on a literal prefix and use fewer, bounded repeats such as {1,64}." },
  );
}

function timeScan(pattern: RegExp, text: string): number {
  const started = performance.now();
  pattern.lastIndex = 0;
  let budget = 10_000;
  for (let match = pattern.exec(text); match !== null && budget-- > 0; match = pattern.exec(text)) {
    if (match[0].length === 0) pattern.lastIndex++;
    if (performance.now() - started > PROBE_BUDGET_MS * 4) break;
  }
  pattern.lastIndex = 0;
  return performance.now() - started;
}
