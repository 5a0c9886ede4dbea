// The scan: one literal pass, then each rule only where it can start. Some internals are exported
// for redaction's checks (redact-text.ts), which rerun rules the scan's way; the package's API is index.ts.
import { foldFormatCharacters, formatCharacterAt, FORMAT_UNIT } from "./format-characters.js";
import { isSearchable, LiteralPass, type LiteralSpec } from "./literal-pass.js";
import type { Follow, RunBreak } from "./rule-anchors.js";
import { engineForm } from "./rule-engine-form.js";
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
  /** Rule pattern runs: sticky attempts at a start literal (in windows too), windows, and whole-text scans. */
  ruleRuns?: number;
  /** Rules redaction ran again alone, over the redacted text, because a marker shrank one of their windows. */
  ruleChecks?: number;
  /** Characters redaction scanned around markers to decide whether the whole redacted text needs another scan. */
  regionChars?: number;
  /** Literal hits of the first scan that redaction carried into the redacted text, instead of a second literal pass. */
  replayedHits?: number;
  /** Rule runs of redaction's check near markers: sticky attempts at carried starts, and window or zone pieces scanned; and at the places a match that read through a secret passed over. */
  checkRuns?: number;
  /** Characters redaction compared to tell that such a place reads as the one before it. */
  comparedChars?: number;
}

const REDACTION_MARKER = /\[REDACTED:[a-z0-9-]{1,64}\]/g;

/** Unicode category Cf, exactly (the scanner uses the table in `format-characters.ts`). */
export const FORMAT_CHARACTERS_EXACT = /\p{Cf}/u;
/**
 * The same set as {@link FORMAT_CHARACTERS_EXACT} (Unicode 15 category Cf) spelled as UTF-16 code
 * units, for tools that want a plain regex.
 */
export const FORMAT_CHARACTER =
  /[\u00AD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB]|\uD804[\uDCBD\uDCCD]|\uD80D[\uDC30-\uDC3F]|\uD82F[\uDCA0-\uDCA3]|\uD834[\uDD73-\uDD7A]|\uDB40[\uDC01\uDC20-\uDC7F]/;

export function redactionMarker(rule: string): string {
  return `[REDACTED:${rule}]`;
}

/**
 * `anchored` (default): one pass over the text finds every rule keyword and every literal a
 * rule's matches start with; each rule then runs only where one of its literals starts.
 * `whole`: every rule whose keyword occurs scans the whole text with its own regex (the plain
 * strategy, slower; tests check that both find exactly the same).
 */
export type ScanStrategy = "auto" | "whole";

/**
 * Every secret span in `text`, sorted by start; spans wholly inside another are dropped. Spans
 * inside an existing redaction marker are ignored, so redacting twice changes nothing. A rule
 * runs only when one of its keywords occurs (ASCII case ignored), whatever the strategy.
 *
 * A redaction marker (`[REDACTED:rule-id]`) is opaque: the rule name inside it is no keyword, opens
 * no window and starts no match (a match may still start at its `[`, or run across it). So an
 * already redacted text, whose markers name rules full of keywords, rescans at the cost of text
 * without them, and whatever the strategy.
 */
export function findSecrets(text: string, userPatterns: readonly UserPattern[], stats?: ScanStats, strategy: ScanStrategy = "auto", record?: ScanRecord): Finding[] {
  try {
    return findAllSecrets(text, userPatterns, stats, strategy, record);
  } finally {
    // The cached value is a slice of the text: keep none once the scan is done.
    lastVerdict.rule = undefined;
    lastVerdict.secret = "";
    lastVerdict.before = "";
  }
}

/** The windows each windowed rule scanned, for redaction to tell which rules a marker can affect. */
export type WindowLists = Array<{ readonly rule: TokenRule; readonly windows: ReadonlyArray<readonly [number, number]> }>;

/** What a scan saw of the text as a whole, for redaction to judge its redacted text by. */
export interface ScanRecord {
  /** The merged windows each windowed rule scanned, one list per rule, each sorted by start. */
  readonly windows: WindowLists;
  /** Per rule (index in the rules): a keyword of it occurs; set by a scan of text with no format character. */
  gated?: Uint8Array;
  /** The private-key keyword occurs (so the PEM block finder ran). */
  privateKey?: boolean;
  /**
   * Set to an empty log by a caller that will check a rewrite of the text (redaction): the literal
   * pass appends every start-literal and window-keyword hit, in text order. Those literals are
   * never muted, so this is every occurrence outside the markers.
   */
  hits?: HitLog;
  /** The markers the literal pass passed over (`start, end` pairs): set when `hits` is complete. */
  markers?: readonly number[];
  /** Set to an empty log by redaction: the scan appends every match of a rule's regex, kept or refused. */
  matches?: MatchLog;
}

/**
 * `position, literal id` pairs in a typed array that doubles as it fills: a flood of literals
 * (`s.s.s.…`, half a million hits a megabyte) kept as a plain array cost a scan half again, most
 * of it in the collector.
 */
export class HitLog {
  data = new Int32Array(1 << 12);
  /** Entries used: twice the hits. */
  length = 0;

  push(at: number, id: number): void {
    if (this.length + 2 > this.data.length) this.data = doubled(this.data);
    this.data[this.length++] = at;
    this.data[this.length++] = id;
  }
}

function doubled(data: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(data.length * 2);
  grown.set(data);
  return grown;
}

/** `rule index, start, end` of each match of a rule's regex, in the order the scan made them. */
export class MatchLog {
  data = new Int32Array(3 << 8);
  /** Entries used: three per match. */
  length = 0;

  push(rule: number, start: number, end: number): void {
    if (this.length + 3 > this.data.length) this.data = doubled(this.data);
    this.data[this.length++] = rule;
    this.data[this.length++] = start;
    this.data[this.length++] = end;
  }
}

/** Where {@link acceptMatch} logs the matches, while a scan that records them runs. */
let matchLog: MatchLog | undefined;

let ruleIndexes: { source: readonly TokenRule[]; indexes: Map<TokenRule, number> } | undefined;

export function ruleIndex(rule: TokenRule): number {
  if (ruleIndexes?.source !== TOKEN_RULES) {
    ruleIndexes = { source: TOKEN_RULES, indexes: new Map(TOKEN_RULES.map((each, index) => [each, index])) };
    lastIndexed.rule = undefined;
  }
  // A scan logs its matches a rule at a time, mostly: the last rule asked is the next one.
  if (rule === lastIndexed.rule) return lastIndexed.index;
  const index = ruleIndexes.indexes.get(rule) ?? -1;
  lastIndexed.rule = rule;
  lastIndexed.index = index;
  return index;
}

const lastIndexed: { rule: TokenRule | undefined; index: number } = { rule: undefined, index: -1 };

function findAllSecrets(text: string, userPatterns: readonly UserPattern[], stats: ScanStats | undefined, strategy: ScanStrategy, record: ScanRecord | undefined): Finding[] {
  const plain = findInPlainText(text, userPatterns, stats, strategy, record);
  if (plain !== undefined) return plain;
  // Scan the text with its format characters folded out, then map each span back onto the
  // original: a span covers every format character inside the token it found.
  const { folded, kept } = foldFormatCharacters(text);
  const foldedRecord: ScanRecord | undefined = record && { windows: [], ...(record.matches && { matches: new MatchLog() }) };
  const findings = findInPlainText(folded, userPatterns, stats, strategy, foldedRecord) as Finding[];
  for (const { rule, windows: list } of foldedRecord?.windows ?? []) record?.windows.push({ rule, windows: list.map(([start, end]): [number, number] => [kept[start] as number, end === 0 ? 0 : (kept[end - 1] as number) + 1]) });
  const folds = foldedRecord?.matches;
  if (folds !== undefined) {
    for (let i = 0; i < folds.length; i += 3) {
      const start = folds.data[i + 1] as number;
      const end = folds.data[i + 2] as number;
      record?.matches?.push(folds.data[i] as number, kept[start] as number, end === start ? (kept[start] as number) : (kept[end - 1] as number) + 1);
    }
  }
  return findings.map((finding) => ({
    ...finding,
    start: kept[finding.start] as number,
    end: (kept[finding.end - 1] as number) + 1,
  }));
}

/**
 * Findings in `text`, or undefined when it holds a format character (then it must be folded).
 * `gatedToo`: rules let in whatever the keywords of `text` (redaction's check of a region of a
 * text, whose rules the keywords of the whole text let in).
 */
export function findInPlainText(text: string, userPatterns: readonly UserPattern[], stats: ScanStats | undefined, strategy: ScanStrategy, record: ScanRecord | undefined, gatedToo?: Uint8Array): Finding[] | undefined {
  const outer = matchLog;
  matchLog = record?.matches;
  try {
    return scanPlainText(text, userPatterns, stats, strategy, record, gatedToo);
  } finally {
    matchLog = outer;
  }
}

function scanPlainText(text: string, userPatterns: readonly UserPattern[], stats: ScanStats | undefined, strategy: ScanStrategy, record: ScanRecord | undefined, gatedToo: Uint8Array | undefined): Finding[] | undefined {
  const engine = scanEngine();
  const recorded = strategy === "whole" ? undefined : record?.hits;
  const hits = strategy === "whole" ? keywordsOnly(engine, text) : literalPass(engine, text, gatedToo, recorded);
  if (hits === undefined) return undefined;
  if (stats) stats.scans++;
  const windowLists = record?.windows;
  const markers = hits.markers;
  const findings: Finding[] = [];
  for (const compiled of engine.rules) {
    if (hits.gated[compiled.index] === 0) continue;
    const rule = compiled.rule;
    if (rule.window !== undefined) {
      // A rule with a keyword the pass cannot look for gets its windows from its keyword regex.
      const whole = strategy === "whole" || engine.alwaysGated.includes(compiled.index);
      const windows = whole ? keywordWindows(rule, text, markers) : hits.windowsOf(compiled.index);
      windowLists?.push({ rule, windows });
      if (whole) for (const [start, end] of windows) collectWindow(rule, text, start, end, findings, rule.pattern, undefined, undefined, markers);
      else {
        if (stats?.ruleRuns !== undefined) stats.ruleRuns += windows.length;
        for (const [start, end] of windows) collectWindow(rule, text, start, end, findings, compiled.global, compiled.windowScan, stats, markers);
      }
    } else if (compiled.sticky === undefined || strategy === "whole") {
      if (stats?.ruleRuns !== undefined) stats.ruleRuns++;
      collectMatchesIn(rule, text, 0, findings, strategy === "whole" ? rule.pattern : compiled.global, markers);
    } else {
      // Run during the pass where the rule was already let in; the rest now, in text order.
      hits.flush(compiled.index);
      for (const finding of hits.found[compiled.index] ?? NO_FINDINGS) findings.push(finding);
    }
  }
  if (stats?.ruleRuns !== undefined) stats.ruleRuns += hits.runs;
  if (record) {
    record.gated = Uint8Array.from(hits.gated);
    record.privateKey = hits.privateKey;
    if (recorded !== undefined) record.markers = hits.markers;
  }
  if (hits.privateKey) {
    for (const span of findPrivateKeys(text)) {
      findings.push({ rule: PRIVATE_KEY_RULE.id, family: PRIVATE_KEY_RULE.family, description: PRIVATE_KEY_RULE.description, ...span });
    }
  }
  // Kept apart from the built-in findings so a user match inside a provider's own token (which
  // that provider's login may carry) is not swallowed by it.
  const userFindings: Finding[] = [];
  let lowered: string | undefined;
  const lower = (): string => (lowered ??= text.toLowerCase());
  for (const pattern of userPatterns) {
    if (pattern.scope === "name") continue;
    const description = `text matching the refuse pattern ${JSON.stringify(pattern.source)}`;
    for (const [start, end] of pattern.findSpans(text, lower)) userFindings.push({ rule: pattern.rule, family: "user", description, start, end });
  }
  const merged = [...dropContained(findings), ...dropContained(userFindings)].sort((a, b) => a.start - b.start || b.end - a.end);
  return hits.marker ? dropInsideMarkers(text, merged, stats) : merged;
}

/** One rule's own findings in `text` (entropy, allow and context checks applied), for tests. */
export function matchRule(rule: TokenRule, text: string): Finding[] {
  const findings: Finding[] = [];
  collectRuleMatches(rule, text, findings);
  return findings;
}

export function collectRuleMatches(rule: TokenRule, text: string, findings: Finding[], markers: readonly number[] = NO_MARKERS): void {
  if (rule.window === undefined) {
    collectMatchesIn(rule, text, 0, findings, rule.pattern, markers);
    return;
  }
  for (const [start, end] of keywordWindows(rule, text, markers)) collectWindow(rule, text, start, end, findings, rule.pattern, undefined, undefined, markers);
}

/** Merged windows around each occurrence of a windowed rule's keyword (none inside a marker), found by its keyword regex. */
export function keywordWindows(rule: TokenRule, text: string, markers: readonly number[]): Array<[number, number]> {
  const window = rule.window as NonNullable<TokenRule["window"]>;
  const keyword = keywordSearch(rule);
  keyword.lastIndex = 0;
  const windows: Array<[number, number]> = [];
  for (let hit = keyword.exec(text); hit !== null; hit = keyword.exec(text)) {
    const past = markerAround(markers, hit.index);
    if (past >= 0) keyword.lastIndex = past;
    else addWindow(windows, text.length, hit.index, hit[0].length, window);
  }
  return windows;
}

const NO_MARKERS: readonly number[] = [];
const NO_FINDINGS: readonly Finding[] = [];

/**
 * The end of the redaction marker whose inside holds `at` (past its `[`), or -1; `markers` holds
 * `start, end` pairs in text order.
 */
export function markerAround(markers: readonly number[], at: number): number {
  const low = firstMarkerEndingAfter(markers, at);
  if (low === markers.length >> 1) return -1;
  return (markers[2 * low] as number) < at ? (markers[2 * low + 1] as number) : -1;
}

/** The index of the first marker (`start, end` pairs in text order) that ends after `at`, or their count. */
export function firstMarkerEndingAfter(markers: readonly number[], at: number): number {
  let low = 0;
  let high = markers.length >> 1;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((markers[2 * middle + 1] as number) <= at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The end of the redaction marker starting at `at` (`[REDACTED:` found there), or -1. */
function markerEndAt(text: string, at: number): number {
  const from = at + MARKER_PREFIX.length;
  const limit = Math.min(text.length, from + 65);
  for (let i = from; i < limit; i++) {
    const code = text.charCodeAt(i);
    if (code === 93) return i > from ? i + 1 : -1;
    if (!((code >= 97 && code <= 122) || (code >= 48 && code <= 57) || code === 45)) return -1;
  }
  return -1;
}

/** `start, end` of every redaction marker in `text`, in order (the whole strategy's way). */
export function markerSpans(text: string): number[] {
  const spans: number[] = [];
  if (!text.includes(MARKER_PREFIX)) return spans;
  for (const marker of text.matchAll(REDACTION_MARKER)) spans.push(marker.index, marker.index + marker[0].length);
  return spans;
}

/**
 * Runs a rule (sticky) at each position where one of its start literals was found, in text
 * order, skipping positions inside its previous match: the same matches as its global regex
 * over the whole text, which would only fail at every other position.
 */

export interface CompiledRule {
  readonly rule: TokenRule;
  readonly index: number;
  /** The rule's pattern made sticky, when its start literals could be derived. */
  readonly sticky?: RegExp;
  /** The rule's pattern with its provably useless backtracking removed (rule-engine-form.ts). */
  readonly global: RegExp;
  /** A windowed rule's start-by-start scan, when a run break rules starts out (see {@link scanStarts}). */
  readonly windowScan?: StartScan;
}

/**
 * A break this short rules out only starts whose regex attempt fails within as many characters
 * anyway: then the global pattern over the window is cheaper than a sticky run per start.
 */
const MIN_BREAK_WORTH = 64;

interface StartScan {
  /** Global and zero-width: finds the next position where one of the rule's start literals occurs. */
  readonly starts: RegExp;
  /** The rule's pattern, sticky. */
  readonly sticky: RegExp;
  readonly runBreak: RunBreak;
}

/** What an occurrence of one literal means. */
export interface LiteralAction {
  readonly length: number;
  /** Rules this literal is a keyword of: a hit lets them run. */
  readonly gates: Int32Array;
  /** Rules whose matches may start where this literal does. */
  readonly anchors: Int32Array;
  /** Per anchor: what must follow the literal for that rule's match, when known. */
  readonly follows: ReadonlyArray<Follow | undefined>;
  /** Per anchor: that rule's refused preceding characters, when known. */
  readonly refusedBefore: ReadonlyArray<Uint8Array | undefined>;
  /** Windowed rules this literal is a keyword of, as `rule, keyword index` pairs. */
  readonly windows: Int32Array;
  readonly flags: number;
}

const PRIVATE_KEY_FLAG = 1;
const MARKER_FLAG = 2;

export interface ScanEngine {
  readonly rules: readonly CompiledRule[];
  /** Rules that run whatever the text (a keyword the pass cannot look for). */
  readonly alwaysGated: readonly number[];
  readonly pass: LiteralPass;
  /** Per literal id. */
  readonly actions: readonly LiteralAction[];
  /** The `whole` strategy's gate: the same "the keyword occurs, ASCII case ignored", by regex. */
  readonly keywordTests: ReadonlyArray<{ readonly test: RegExp; readonly action: LiteralAction }>;
  readonly scratch: ScanScratch;
  /**
   * No searchable literal but the marker's own `[REDACTED:` holds a bracket, and that one only
   * marks: so a literal pass over a rewritten text reports exactly the first pass's hits outside
   * the rewritten spans (a marker's edges are brackets, and its inside is passed over), and
   * redaction may replay them instead of passing again ({@link carryHits}).
   */
  readonly replayable: boolean;
  /** Per literal id: its length. */
  readonly literalLengths: Int32Array;
}

/**
 * A scan's per-rule tables, allocated once per engine and reset by {@link newHits} (no scan runs
 * inside another): a scan of a short text spent most of its time allocating them.
 */
interface ScanScratch {
  readonly gated: Uint8Array;
  readonly reach: Int32Array;
  readonly tried: Int32Array;
  readonly heldAt: Int32Array;
  readonly heldKeyword: Int32Array;
  readonly heldLength: Int32Array;
  readonly keywordReach: Int32Array;
  /**
   * Per literal id: its rules were let in during this scan. A keyword that also opens windows
   * hears of every occurrence, and a flood of one (`token`, which lets in dozens of rules) set
   * the same flags again at each.
   */
  readonly opened: Uint8Array;
}

function newScratch(count: number, literals: number): ScanScratch {
  const table = (): Int32Array => new Int32Array(count);
  return { gated: new Uint8Array(count), reach: table(), tried: table(), heldAt: table(), heldKeyword: table(), heldLength: table(), keywordReach: table(), opened: new Uint8Array(literals) };
}

export interface PassHits {
  readonly gated: Uint8Array;
  /**
   * Per rule: positions where one of its start literals occurs and the rule was not let in yet
   * (no keyword seen so far), in text order; run by `flush`. Per-rule lists here and below are
   * made on first use: a scan of a short text allocated three lists for each of 203 rules, half
   * of its cost.
   */
  readonly anchorHits: Array<number[] | undefined>;
  /**
   * Per anchored rule: where its last match ended. A rule runs (sticky) at each start position
   * in text order, skipping those inside its previous match: the same matches as its global
   * regex over the whole text, which would only fail at every other position.
   */
  readonly reach: Int32Array;
  /** Per anchored rule: its findings so far, in text order. */
  readonly found: Array<Finding[] | undefined>;
  /** Pattern runs so far. */
  runs: number;
  /** Runs a rule at its waiting positions, in order (once it is let in, or at the end). */
  flush(index: number): void;
  /** Runs a rule at `at` unless that lies inside its previous match. */
  runAt(index: number, at: number): void;
  /**
   * A windowed rule's keyword `keyword` (its index in the rule's list) occurs at `at`, in text
   * order: builds the windows {@link collectRuleMatches} would build from its keyword regex, as
   * the hits come, holding one hit per rule: at one position the first keyword of the rule's
   * list wins, and a hit inside the previous one is skipped, as the regex's leftmost-first,
   * non-overlapping search does. A flood of keywords costs no list of its hits.
   */
  keywordAt(index: number, at: number, keyword: number, length: number): void;
  /** A windowed rule's merged windows, once the pass is done. */
  windowsOf(index: number): Array<[number, number]>;
  privateKey: boolean;
  marker: boolean;
  /** `start, end` of every redaction marker, in text order: opaque to the rules. */
  readonly markers: number[];
}

const PRIVATE_KEY_KEYWORD = "private key";
export const MARKER_PREFIX = "[REDACTED:";

let engineCache: { source: readonly TokenRule[]; engine: ScanEngine } | undefined;

export function scanEngine(): ScanEngine {
  if (engineCache?.source !== TOKEN_RULES) engineCache = { source: TOKEN_RULES, engine: buildEngine(TOKEN_RULES) };
  return engineCache.engine;
}

function buildEngine(source: readonly TokenRule[]): ScanEngine {
  interface Draft {
    text: string;
    ignoreCase: boolean;
    gates: number[];
    anchors: number[];
    follows: Array<Follow | undefined>;
    refusedBefore: Array<Uint8Array | undefined>;
    windows: number[];
    flags: number;
  }
  const drafts = new Map<string, Draft>();
  const literal = (text: string, ignoreCase: boolean): Draft => {
    const key = `${ignoreCase ? "i" : "s"}${text}`;
    let found = drafts.get(key);
    if (found === undefined) {
      found = { text, ignoreCase, gates: [], anchors: [], follows: [], refusedBefore: [], windows: [], flags: 0 };
      drafts.set(key, found);
    }
    return found;
  };
  const rules: CompiledRule[] = [];
  const alwaysGated: number[] = [];
  source.forEach((rule, index) => {
    const keywords = rule.keywords.map((keyword) => keyword.toLowerCase());
    if (keywords.length === 0 || !keywords.every(isSearchable)) alwaysGated.push(index);
    keywords.forEach((keyword, position) => {
      if (!isSearchable(keyword)) return;
      const entry = literal(keyword, true);
      entry.gates.push(index);
      if (rule.window !== undefined) entry.windows.push(index, position);
    });
    const { anchors, global, runBreak, windowStarts } = engineForm(rule);
    if (anchors === undefined) {
      if (rule.window !== undefined && runBreak !== undefined && runBreak.within >= MIN_BREAK_WORTH && windowStarts !== undefined) {
        // Zero-width, so a search leaves `lastIndex` at the start it found and allocates nothing.
        const starts = new RegExp(`(?=${windowStarts.prefixes.map(escapeRegExp).join("|")})`, windowStarts.ignoreCase ? "gi" : "g");
        const sticky = new RegExp(global.source, global.flags.replace("g", "") + "y");
        rules.push({ rule, index, global, windowScan: { starts, sticky, runBreak } });
      } else rules.push({ rule, index, global });
      return;
    }
    anchors.prefixes.forEach((prefix, n) => {
      const entry = literal(prefix, anchors.ignoreCase);
      entry.anchors.push(index);
      entry.follows.push(anchors.follows[n]);
      entry.refusedBefore.push(anchors.refusedBefore);
    });
    const sticky = new RegExp(global.source, global.flags.replace("g", "") + "y");
    rules.push({ rule, index, sticky, global });
  });
  literal(PRIVATE_KEY_KEYWORD, true).flags |= PRIVATE_KEY_FLAG;
  literal(MARKER_PREFIX, false).flags |= MARKER_FLAG;

  const specs: LiteralSpec[] = [];
  const actions: LiteralAction[] = [];
  const keywordTests: Array<{ test: RegExp; action: LiteralAction }> = [];
  for (const draft of drafts.values()) {
    const action: LiteralAction = {
      length: draft.text.length,
      gates: Int32Array.from(draft.gates),
      anchors: Int32Array.from(draft.anchors),
      follows: draft.follows,
      refusedBefore: draft.refusedBefore,
      windows: Int32Array.from(draft.windows),
      flags: draft.flags,
    };
    specs.push({ text: draft.text, ignoreCase: draft.ignoreCase, id: actions.length });
    actions.push(action);
    if (action.gates.length > 0 || action.flags !== 0) keywordTests.push({ test: new RegExp(escapeRegExp(draft.text), draft.ignoreCase ? "gi" : "g"), action });
  }
  const replayable = alwaysGated.length === 0 && specs.every((spec) => onlyMarks(spec, actions[spec.id] as LiteralAction));
  const literalLengths = Int32Array.from(actions, (action) => action.length);
  return { rules, alwaysGated, pass: new LiteralPass(specs), actions, keywordTests, scratch: newScratch(rules.length, actions.length), replayable, literalLengths };
}

/** A literal that no marker can complete or cut: no bracket in it, or the marker prefix itself, which lets in, starts and opens nothing. */
function onlyMarks(spec: LiteralSpec, action: LiteralAction): boolean {
  if (!/[[\]]/.test(spec.text)) return true;
  return spec.text === MARKER_PREFIX && !spec.ignoreCase && action.gates.length === 0 && action.anchors.length === 0 && action.windows.length === 0;
}

function escapeRegExp(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
}

export function newHits(engine: ScanEngine, text: string): PassHits {
  const count = engine.rules.length;
  // The engine's tables, reset. Per windowed rule, `heldAt`, `heldKeyword` and `heldLength` are the
  // hit held back (written before they are read) and `keywordReach` where the last hit taken ends.
  const { gated, reach, tried, heldAt, heldKeyword, heldLength, keywordReach } = engine.scratch;
  gated.fill(0);
  for (const index of engine.alwaysGated) gated[index] = 1;
  reach.fill(0);
  tried.fill(-1);
  heldAt.fill(-1);
  keywordReach.fill(0);
  const anchorHits = new Array<number[] | undefined>(count).fill(undefined);
  const windows = new Array<Array<[number, number]> | undefined>(count).fill(undefined);
  const found = new Array<Finding[] | undefined>(count).fill(undefined);
  const take = (index: number): void => {
    const at = heldAt[index] as number;
    if (at < 0 || at < (keywordReach[index] as number)) return;
    const length = heldLength[index] as number;
    keywordReach[index] = at + length;
    addWindow((windows[index] ??= []), text.length, at, length, (engine.rules[index] as CompiledRule).rule.window as { before: number; after: number });
  };
  const hits: PassHits = {
    gated,
    anchorHits,
    keywordAt(index, at, keyword, length) {
      if (heldAt[index] === at) {
        if (keyword < (heldKeyword[index] as number)) {
          heldKeyword[index] = keyword;
          heldLength[index] = length;
        }
        return;
      }
      take(index);
      heldAt[index] = at;
      heldKeyword[index] = keyword;
      heldLength[index] = length;
    },
    windowsOf(index) {
      take(index);
      heldAt[index] = -1;
      return windows[index] ?? [];
    },
    reach,
    found,
    runs: 0,
    privateKey: false,
    marker: false,
    markers: [],
    runAt(index, at) {
      if (at < (reach[index] as number) || tried[index] === at) return;
      tried[index] = at;
      const compiled = engine.rules[index] as CompiledRule;
      const sticky = compiled.sticky as RegExp;
      sticky.lastIndex = at;
      hits.runs++;
      const match = sticky.exec(text);
      if (match === null) return;
      reach[index] = match.index + match[0].length;
      acceptMatch(compiled.rule, text, match, 0, (found[index] ??= []));
    },
    flush(index) {
      const waiting = anchorHits[index];
      if (waiting === undefined) return;
      anchorHits[index] = undefined;
      for (const at of waiting) hits.runAt(index, at);
    },
  };
  return hits;
}

function applyFlags(hits: PassHits, flags: number): void {
  if ((flags & PRIVATE_KEY_FLAG) !== 0) hits.privateKey = true;
  if ((flags & MARKER_FLAG) !== 0) hits.marker = true;
}

/** Gating only, by one regex test per keyword (the `whole` strategy); undefined on a format character. */
function keywordsOnly(engine: ScanEngine, text: string): PassHits | undefined {
  for (let i = 0; i < text.length; i++) if (FORMAT_UNIT[text.charCodeAt(i)] !== 0 && formatCharacterAt(text, i) > 0) return undefined;
  const hits = newHits(engine, text);
  for (const bound of markerSpans(text)) hits.markers.push(bound);
  for (const { test, action } of engine.keywordTests) {
    if (!occursOutsideMarkers(test, text, hits.markers)) continue;
    for (const index of action.gates) hits.gated[index] = 1;
    applyFlags(hits, action.flags);
  }
  return hits;
}

/** `search` (global) finds an occurrence in `text` starting outside every marker's inside. */
function occursOutsideMarkers(search: RegExp, text: string, markers: readonly number[]): boolean {
  search.lastIndex = 0;
  for (let hit = search.exec(text); hit !== null; hit = search.exec(text)) {
    const past = markerAround(markers, hit.index);
    if (past < 0) return true;
    search.lastIndex = past;
  }
  return false;
}

/** `text` has at least `follow.min` characters of `follow.table` from `from` on. */
export function runHolds(text: string, from: number, follow: Follow): boolean {
  const end = from + follow.min;
  if (end > text.length) return false;
  const table = follow.table;
  for (let i = from; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || table[code] === 0) return false;
  }
  return true;
}

/** The one pass over the text (see {@link LiteralPass}); undefined when it meets a format character. */
function literalPass(engine: ScanEngine, text: string, gatedToo: Uint8Array | undefined, recorded?: HitLog): PassHits | undefined {
  const hits = newHits(engine, text);
  const { gated, anchorHits, reach } = hits;
  if (gatedToo) for (let index = 0; index < gated.length; index++) if (gatedToo[index] === 1) gated[index] = 1;
  const actions = engine.actions;
  const pass = engine.pass;
  const opened = engine.scratch.opened;
  opened.fill(0);
  const complete = pass.scan(text, (at, id) => {
    const action = actions[id] as LiteralAction;
    if ((action.flags & MARKER_FLAG) !== 0) {
      // The rule name inside is not read: no keyword, window or start there.
      const end = markerEndAt(text, at);
      if (end > 0) {
        hits.markers.push(at, end);
        pass.skipTo(end);
      }
    }
    if (opened[id] === 0) {
      opened[id] = 1;
      const gates = action.gates;
      for (let g = 0; g < gates.length; g++) gated[gates[g] as number] = 1;
    }
    const anchors = action.anchors;
    const windows = action.windows;
    if (recorded !== undefined && (anchors.length > 0 || windows.length > 0)) recorded.push(at, id);
    for (let a = 0; a < anchors.length; a++) {
      const index = anchors[a] as number;
      if (at < (reach[index] as number)) continue;
      // Cheap refusals first: the character before (a leading lookbehind) and the run after.
      const refused = action.refusedBefore[a];
      if (refused !== undefined && at > 0) {
        const before = text.charCodeAt(at - 1);
        if (before < 128 && refused[before] === 1) continue;
      }
      const follow = action.follows[a];
      if (follow !== undefined && !runHolds(text, at + action.length, follow)) continue;
      if (gated[index] === 1) {
        hits.flush(index);
        hits.runAt(index, at);
      } else {
        const list = (anchorHits[index] ??= []);
        if (list.length === 0 || list[list.length - 1] !== at) list.push(at);
      }
    }
    for (let w = 0; w < windows.length; w += 2) hits.keywordAt(windows[w] as number, at, windows[w + 1] as number, action.length);
    if (action.flags !== 0) applyFlags(hits, action.flags);
    // A keyword that only lets rules run has done its job once; every marker must be passed over.
    return anchors.length === 0 && windows.length === 0 && (action.flags & MARKER_FLAG) === 0;
  });
  return complete ? hits : undefined;
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
export function collectWindow(rule: TokenRule, text: string, start: number, end: number, findings: Finding[], pattern = rule.pattern, scan?: StartScan, stats?: ScanStats, markers: readonly number[] = NO_MARKERS): void {
  const found: Finding[] = [];
  if (scan === undefined || !holdsLongRun(text, start, end, scan.runBreak)) collectMatchesIn(rule, text.slice(start, end), start, found, pattern, markers);
  else {
    const attempts = scanStarts(rule, text.slice(start, end), start, found, scan, markers);
    if (stats?.ruleRuns !== undefined) stats.ruleRuns += attempts;
  }
  for (const finding of found) {
    if (touchesCutEdge(text, start, end, finding)) continue;
    findings.push(finding);
  }
}

/** A finding (in `text`'s positions) of a scan of `text[start, end)` touches an edge the cut made where the text runs on: not trusted. */
export function touchesCutEdge(text: string, start: number, end: number, finding: { readonly start: number; readonly end: number }): boolean {
  return (start > 0 && finding.start === start && !leftEdgeHolds(text, start)) || (end < text.length && finding.end === end && !rightEdgeHolds(text, end));
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

/** `text[start, end)` has a run of more than `within` table characters (where starts are ruled out). */
function holdsLongRun(text: string, start: number, end: number, { table, within }: RunBreak): boolean {
  let run = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code < 128 && table[code] === 1) {
      if (++run > within) return true;
    } else run = 0;
  }
  return false;
}

/**
 * The matches the global pattern finds in `text`, found by running it (sticky) only where one of
 * its start literals occurs, leftmost first, each search resuming after the previous match. A
 * start inside a run of more than `within` characters of the break's class is passed over with no
 * regex attempt: every match has a character outside the class that close (rule-anchors.ts,
 * `deriveRunBreak`). Each character of such a run is read once for all the starts inside it, and
 * the search for starts resumes `within` before the run's end.
 */
function scanStarts(rule: TokenRule, text: string, offset: number, findings: Finding[], scan: StartScan, markers: readonly number[]): number {
  const { starts, sticky } = scan;
  const { table, within } = scan.runBreak;
  // text[runFrom, runTo) is all table characters, with runFrom at or before the current start.
  let runTo = 0;
  let attempts = 0;
  starts.lastIndex = 0;
  while (starts.test(text)) {
    const at = starts.lastIndex;
    const past = markerAround(markers, at + offset);
    if (past >= 0) {
      starts.lastIndex = past - offset;
      continue;
    }
    runTo = runEnd(text, Math.max(runTo, at), Math.min(text.length, at + within + 1), table);
    if (runTo > at + within) {
      // Every start up to `within` before the run's end is ruled out by it: read the run to its
      // end (once, as `runTo` only grows) and search on from there, not from the next character.
      runTo = runEnd(text, runTo, text.length, table);
      starts.lastIndex = Math.max(at + 1, runTo - within);
      continue;
    }
    starts.lastIndex = at + 1;
    sticky.lastIndex = at;
    attempts++;
    const match = sticky.exec(text);
    if (match === null) continue;
    acceptMatch(rule, text, match, offset, findings);
    if (match[0].length > 0) starts.lastIndex = at + match[0].length;
  }
  return attempts;
}

/** Where the run of `table` characters from `from` ends, read no farther than `to`. */
function runEnd(text: string, from: number, to: number, table: Uint8Array): number {
  let at = from;
  while (at < to) {
    const code = text.charCodeAt(at);
    if (code >= 128 || table[code] === 0) break;
    at++;
  }
  return at;
}

/** A match starting inside a redaction marker is passed over: the search resumes at its end. */
function collectMatchesIn(rule: TokenRule, text: string, offset: number, findings: Finding[], pattern = rule.pattern, markers: readonly number[] = NO_MARKERS): void {
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const past = markers.length === 0 ? -1 : markerAround(markers, match.index + offset);
    if (past >= 0) pattern.lastIndex = past - offset;
    else acceptMatch(rule, text, match, offset, findings);
  }
}

/**
 * A rule's entropy and allow checks depend on the secret alone: a text repeating one value (a
 * flood of `password = "hunter2x"`) pays for them once per run of copies, not once per copy.
 * One entry: distinct values (a list of keys) cost a string comparison, not a table.
 */
/** How far before a match an `allow` that reads the name sees. */
export const ALLOW_READS_BEFORE = 32;
export const lastVerdict: { rule: TokenRule | undefined; secret: string; before: string; refused: boolean } = { rule: undefined, secret: "", before: "", refused: false };

/** Records a match of `rule` in `text` (found at `offset` in the scanned text) unless a check refuses it. */
export function acceptMatch(rule: TokenRule, text: string, match: RegExpExecArray, offset: number, findings: Finding[]): void {
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
  if (matchLog !== undefined) matchLog.push(ruleIndex(rule), match.index + offset, match.index + offset + match[0].length);
  if (rule.notAfter?.test(text.slice(Math.max(0, match.index - 32), match.index))) return;
  // A marker is opaque: what a rule finds around one was judged, before redaction, with the
  // token it replaced (`-p [REDACTED:docker-hub-pat]#0` was `-p dckr_pat_…#0`, the Docker rule's).
  const secret = text.slice(start, end);
  if (secret.includes(MARKER_PREFIX)) return;
  if (rule.minEntropy !== undefined || rule.allow !== undefined) {
    // The name before the secret, for an `allow` that reads it (a UUID is a secret under some names
    // only), and what precedes the match: a keyword rule's match starts at its keyword (`Token` of `nextPageToken`).
    const before = rule.allow !== undefined && rule.allow.length > 1 ? text.slice(Math.max(0, match.index - ALLOW_READS_BEFORE), start) : "";
    if (lastVerdict.rule !== rule || lastVerdict.secret !== secret || lastVerdict.before !== before) {
      lastVerdict.rule = rule;
      lastVerdict.secret = secret;
      lastVerdict.before = before;
      lastVerdict.refused = (rule.minEntropy !== undefined && shannonEntropy(secret) <= rule.minEntropy) || rule.allow?.(secret, before) === true;
    }
    if (lastVerdict.refused) return;
  }
  findings.push({ rule: rule.id, family: rule.family, description: rule.description, start: start + offset, end: end + offset });
}

/** On one span, a provider's rule names the secret better than a keyword-context rule. */
const byGeneric = (finding: Finding): number => (finding.family === "generic" ? 1 : 0);

function dropContained(findings: Finding[]): Finding[] {
  findings.sort((a, b) => a.start - b.start || b.end - a.end || byGeneric(a) - byGeneric(b));
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
