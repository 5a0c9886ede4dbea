import { findOccurrences } from "./find-occurrences.js";
import { keywordFilter } from "./keyword-filter.js";
import { shannonEntropy } from "./shannon-entropy.js";
import { findPrivateKeys, PRIVATE_KEY_RULE, TOKEN_RULES, type TokenFamily, type TokenRule } from "./token-rules.js";
import type { UserPattern } from "./user-patterns.js";

/** One secret found in text: `start`/`end` delimit the span to redact (end exclusive). */
export interface Finding {
  /** Rule id, e.g. `github-pat`, `private-key` or `user-pattern-1`. */
  readonly rule: string;
  /** Token family for built-in rules (`github`, `anthropic`, …); `user` for user patterns. */
  readonly family: TokenFamily | "user";
  /** What was found, for reasons: never the secret itself. */
  readonly description: string;
  readonly start: number;
  readonly end: number;
}

/** Work counters, so tests can assert that the cost follows the text, not the secrets in it. */
export interface ScanStats {
  /** Whole-text scans (rule passes over the text). */
  scans: number;
  /** Finding-against-marker comparisons. */
  markerChecks: number;
  /** Whole-text rewrites by redaction. */
  rewrites: number;
}

const REDACTION_MARKER = /\[REDACTED:[a-z0-9-]{1,64}\]/g;

/**
 * Unicode format characters (category Cf: zero-width joiners and non-joiners, soft hyphens,
 * BOMs, bidi marks, tags…) render as nothing, so a token with one inside looks whole to a reader
 * and to whatever they paste it into. They are folded out before scanning.
 */
export const FORMAT_CHARACTERS_EXACT = /\p{Cf}/u;
/**
 * The same set as {@link FORMAT_CHARACTERS_EXACT} (Unicode 15 category Cf) spelled as UTF-16 code
 * units: a non-Unicode class scans several times faster, and most texts hold none of them.
 */
export const FORMAT_CHARACTER =
  /[\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]|\uD804[\uDCBD\uDCCD]|\uD80D[\uDC30-\uDC3F]|\uD82F[\uDCA0-\uDCA3]|\uD834[\uDD73-\uDD7A]|\uDB40[\uDC01\uDC20-\uDC7F]/;
const FORMAT_CHARACTERS = /\p{Cf}/gu;

/** Shorter findings (user globs can match a few characters) are redacted only where found. */
const MIN_SECRET_TO_REDACT_EVERYWHERE = 8;
/** Redaction rescans only when a marker may have completed a token boundary; this bounds it. */
const MAX_REDACTION_PASSES = 3;

export function redactionMarker(rule: string): string {
  return `[REDACTED:${rule}]`;
}

/**
 * Every secret span in `text`, sorted by start; spans wholly inside another are dropped. Spans
 * inside an existing redaction marker are ignored, so redacting twice changes nothing. One pass
 * per rule whose keyword occurs, whatever the number of secrets.
 */
export function findSecrets(text: string, userPatterns: readonly UserPattern[], stats?: ScanStats, strategy: ScanStrategy = "auto"): Finding[] {
  if (!FORMAT_CHARACTER.test(text)) return findInPlainText(text, userPatterns, stats, strategy);
  // Scan the text with its format characters folded out, then map each span back onto the
  // original: a span covers every format character inside the token it found.
  const kept: number[] = [];
  let folded = "";
  let cursor = 0;
  for (const match of text.matchAll(FORMAT_CHARACTERS)) {
    for (let i = cursor; i < match.index; i++) kept.push(i);
    folded += text.slice(cursor, match.index);
    cursor = match.index + match[0].length;
  }
  for (let i = cursor; i < text.length; i++) kept.push(i);
  folded += text.slice(cursor);
  return findInPlainText(folded, userPatterns, stats, strategy).map((finding) => ({
    ...finding,
    start: kept[finding.start] as number,
    end: (kept[finding.end - 1] as number) + 1,
  }));
}

/** `whole`: every candidate rule scans the whole text (what the keyword windows must agree with). */
export type ScanStrategy = "auto" | "whole";

function findInPlainText(text: string, userPatterns: readonly UserPattern[], stats: ScanStats | undefined, strategy: ScanStrategy): Finding[] {
  if (stats) stats.scans++;
  const filter = keywordFilter(text);
  const findings: Finding[] = [];
  const candidates = TOKEN_RULES.filter((rule) => rule.keywords.some((keyword) => filter.mayContain(keyword)));
  if (text.length >= LARGE_TEXT && strategy === "auto") collectAroundKeywords(candidates, text, findings);
  else for (const rule of candidates) collectRuleMatches(rule, text, findings);
  if (filter.mayContain("private key")) {
    for (const span of findPrivateKeys(text)) {
      findings.push({ rule: PRIVATE_KEY_RULE.id, family: PRIVATE_KEY_RULE.family, description: PRIVATE_KEY_RULE.description, ...span });
    }
  }
  // Kept apart from the built-in findings so a user match inside a provider's own token (which
  // that provider's login may carry) is not swallowed by it.
  const userFindings: Finding[] = [];
  const lower = userPatterns.length > 0 ? text.toLowerCase() : "";
  for (const pattern of userPatterns) {
    if (pattern.scope === "name") continue;
    const description = `text matching the refuse pattern ${JSON.stringify(pattern.source)}`;
    for (const [start, end] of pattern.findSpans(text, lower)) userFindings.push({ rule: pattern.rule, family: "user", description, start, end });
  }
  const merged = [...dropContained(findings), ...dropContained(userFindings)].sort((a, b) => a.start - b.start || b.end - a.end);
  return dropInsideMarkers(text, merged, stats);
}

/** One rule's own findings in `text` (entropy, allow and context checks applied), for tests. */
export function matchRule(rule: TokenRule, text: string): Finding[] {
  const findings: Finding[] = [];
  collectRuleMatches(rule, text, findings);
  return findings;
}

function collectRuleMatches(rule: TokenRule, text: string, findings: Finding[]): void {
  if (rule.window === undefined) {
    collectMatchesIn(rule, text, 0, findings);
    return;
  }
  // Merged windows around each keyword occurrence, each scanned once.
  const keyword = keywordSearch(rule);
  keyword.lastIndex = 0;
  const windows: Array<[number, number]> = [];
  for (let hit = keyword.exec(text); hit !== null; hit = keyword.exec(text)) addWindow(windows, text.length, hit.index, hit[0].length, rule.window);
  for (const [start, end] of windows) collectWindow(rule, text, start, end, findings);
}

/** Large texts: one keyword pass for every rule, then each rule only in windows around its keywords. */
const LARGE_TEXT = 64 * 1024;
/** Where a keyword may sit in its token, and how long a token may run after it. */
const DEFAULT_WINDOW = { before: 24, after: 1100 } as const;
/** Rules whose tokens may run longer than {@link DEFAULT_WINDOW}: always scanned whole. */
const LONG_TOKEN_RULES = new Set([
  "jwt",
  "flyio-access-token",
  "1password-service-account-token",
  "aws-session-token",
  "aws-session-token-value",
  "private-key-base64",
  "aws-bedrock-short-lived-key",
  "gcp-oauth-access-token",
]);

let keywordIndex: { search: RegExp; rulesOf: Map<string, TokenRule[]> } | undefined;

function allKeywords(): NonNullable<typeof keywordIndex> {
  if (keywordIndex === undefined) {
    const rulesOf = new Map<string, TokenRule[]>();
    for (const rule of TOKEN_RULES) for (const keyword of rule.keywords) rulesOf.set(keyword, [...(rulesOf.get(keyword) ?? []), rule]);
    const keywords = [...rulesOf.keys()].sort((a, b) => b.length - a.length);
    // Each keyword also stands for the shorter keywords that are its prefixes (they start at the
    // same place, and the search reports only the longest).
    const own = new Map(rulesOf);
    for (const keyword of keywords) {
      const rules = new Set<TokenRule>();
      for (const [other, otherRules] of own) if (keyword.startsWith(other)) for (const rule of otherRules) rules.add(rule);
      rulesOf.set(keyword, [...rules]);
    }
    const search = new RegExp(keywords.map((keyword) => keyword.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")).join("|"), "gi");
    keywordIndex = { search, rulesOf };
  }
  return keywordIndex;
}

function collectAroundKeywords(candidates: readonly TokenRule[], text: string, findings: Finding[]): void {
  const windows = new Map<TokenRule, Array<[number, number]>>();
  for (const rule of candidates) {
    if (LONG_TOKEN_RULES.has(rule.id)) collectMatchesIn(rule, text, 0, findings);
    else windows.set(rule, []);
  }
  const { search, rulesOf } = allKeywords();
  search.lastIndex = 0;
  for (let hit = search.exec(text); hit !== null; hit = search.exec(text)) {
    // The longest keyword at this position stands for its prefixes too; keywords starting inside
    // it are found by resuming one character later.
    const found = hit[0].toLowerCase();
    for (const rule of rulesOf.get(found) ?? []) {
      const list = windows.get(rule);
      if (list) addWindow(list, text.length, hit.index, found.length, rule.window ?? DEFAULT_WINDOW);
    }
    search.lastIndex = hit.index + 1;
  }
  for (const [rule, list] of windows) for (const [start, end] of list) collectWindow(rule, text, start, end, findings);
}

function addWindow(windows: Array<[number, number]>, textLength: number, at: number, length: number, extent: { readonly before: number; readonly after: number }): void {
  const start = Math.max(0, at - extent.before);
  const end = Math.min(textLength, at + length + extent.after);
  const last = windows[windows.length - 1];
  if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
  else windows.push([start, end]);
}

/**
 * Scans one window. A match touching a cut edge of the window is not trusted: the boundary
 * guards (`(?<![A-Za-z0-9_])`, `(?![…])`) see the cut as a boundary, so it may be part of a longer
 * run the full text would not match. A real token lies inside the window by its extent.
 */
function collectWindow(rule: TokenRule, text: string, start: number, end: number, findings: Finding[]): void {
  const found: Finding[] = [];
  collectMatchesIn(rule, text.slice(start, end), start, found);
  for (const finding of found) {
    if (start > 0 && finding.start === start && !leftEdgeHolds(text, start)) continue;
    if (end < text.length && finding.end === end && !rightEdgeHolds(text, end)) continue;
    findings.push(finding);
  }
}

function leftEdgeHolds(text: string, at: number): boolean {
  return !/[A-Za-z0-9_+/=.-]/.test(text[at - 1] as string);
}

function rightEdgeHolds(text: string, at: number): boolean {
  return !/[A-Za-z0-9_+/=.-]/.test(text[at] as string);
}

const keywordSearches = new WeakMap<TokenRule, RegExp>();

function keywordSearch(rule: TokenRule): RegExp {
  let search = keywordSearches.get(rule);
  if (search === undefined) {
    search = new RegExp(rule.keywords.map((keyword) => keyword.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")).join("|"), "gi");
    keywordSearches.set(rule, search);
  }
  return search;
}

function collectMatchesIn(rule: TokenRule, text: string, offset: number, findings: Finding[]): void {
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    // The first capture group that took part is the secret (a rule may offer several forms).
    const groups = match.indices ?? [];
    let span = groups[0] ?? [match.index, match.index + match[0].length];
    for (let group = 1; group < groups.length; group++) {
      const candidate = groups[group];
      if (candidate !== undefined) {
        span = candidate;
        break;
      }
    }
    const [start, end] = span;
    if (rule.notAfter?.test(text.slice(Math.max(0, match.index - 32), match.index))) continue;
    const secret = text.slice(start, end);
    if (rule.minEntropy !== undefined && shannonEntropy(secret) <= rule.minEntropy) continue;
    if (rule.allow?.(secret)) continue;
    findings.push({ rule: rule.id, family: rule.family, description: rule.description, start: start + offset, end: end + offset });
  }
}

function dropContained(findings: Finding[]): Finding[] {
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Finding[] = [];
  let reach = -1;
  for (const finding of findings) {
    if (finding.end <= reach) continue;
    kept.push(finding);
    reach = finding.end;
  }
  return kept;
}

/** Both lists sorted by start: one merge walk, so 30 000 markers cost 30 000 steps, not 30 000². */
function dropInsideMarkers(text: string, findings: Finding[], stats: ScanStats | undefined): Finding[] {
  if (findings.length === 0 || !text.includes("[REDACTED:")) return findings;
  const markers = [...text.matchAll(REDACTION_MARKER)].map((m) => [m.index, m.index + m[0].length] as const);
  const kept: Finding[] = [];
  let next = 0;
  for (const finding of findings) {
    // Markers ending before this finding starts cannot hold it, nor any later finding.
    while (next < markers.length && (markers[next] as readonly [number, number])[1] <= finding.start) {
      next++;
      if (stats) stats.markerChecks++;
    }
    if (stats) stats.markerChecks++;
    const marker = markers[next];
    if (marker !== undefined && finding.start >= marker[0] && finding.end <= marker[1]) continue;
    kept.push(finding);
  }
  return kept;
}

/**
 * `text` with every secret replaced by `[REDACTED:<rule>]`: one scan collects every span, every
 * other copy of a secret it found is located in the same linear pass (a copy glued to a letter,
 * `ask-proj-…`, escapes the boundary rules, and a scanner miss must not leak it), then one rewrite.
 */
export function redactText(text: string, userPatterns: readonly UserPattern[], stats?: ScanStats): string {
  let redacted = text;
  for (let pass = 0; pass < MAX_REDACTION_PASSES; pass++) {
    const findings = findSecrets(redacted, userPatterns, stats);
    if (findings.length === 0) break;
    const secrets = new Map<string, string>();
    for (const finding of findings) {
      const secret = redacted.slice(finding.start, finding.end);
      if (secret.length >= MIN_SECRET_TO_REDACT_EVERYWHERE && !secrets.has(secret)) secrets.set(secret, finding.rule);
    }
    const copies = findOccurrences(redacted, secrets).map(([start, end, rule]) => ({ rule, start, end }));
    const spans = [...findings, ...copies].sort((a, b) => a.start - b.start || b.end - a.end);
    const marksBoundary = spans.some((span) => isTokenChar(redacted.charCodeAt(span.start - 1)) || isTokenChar(redacted.charCodeAt(span.end)));
    redacted = rewrite(redacted, spans);
    if (stats) stats.rewrites++;
    // A marker can complete a token boundary that the secret it replaced was blocking
    // (`…ABSK…=hvs.…` → `…ABSK…=[REDACTED:…]`): only then is one more scan needed.
    if (!marksBoundary) break;
  }
  return redacted;
}

function isTokenChar(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 43 || code === 45 || code === 47 || code === 61 || code === 95 || code === 46;
}

/** Replaces each (merged) span with a marker naming the rule that fired first in it. */
function rewrite(text: string, spans: ReadonlyArray<{ rule: string; start: number; end: number }>): string {
  const parts: string[] = [];
  let cursor = 0;
  let index = 0;
  while (index < spans.length) {
    const first = spans[index] as { rule: string; start: number; end: number };
    let end = first.end;
    index++;
    while (index < spans.length && (spans[index] as { start: number }).start < end) {
      end = Math.max(end, (spans[index] as { end: number }).end);
      index++;
    }
    parts.push(text.slice(cursor, first.start), redactionMarker(first.rule));
    cursor = end;
  }
  parts.push(text.slice(cursor));
  return parts.join("");
}

/** Replaces each (merged) finding span with a marker naming the rule that fired first in it. */
export function redactFindings(text: string, findings: readonly Finding[]): string {
  return rewrite(text, findings);
}
