import { findOccurrences } from "./find-occurrences.js";
import { foldFormatCharacters, formatCharacterAt, FORMAT_UNIT } from "./format-characters.js";
import { isSearchable, LiteralPass, type LiteralSpec } from "./literal-pass.js";
import { classBodyTable, type Follow, type RunBreak } from "./rule-anchors.js";
import { engineForm } from "./rule-engine-form.js";
import { matchReach } from "./match-reach.js";
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

/** Shorter findings (user globs can match a few characters) are redacted only where found. */
const MIN_SECRET_TO_REDACT_EVERYWHERE = 8;
/** Redaction rescans only when a marker may have completed a token boundary; this bounds it. */
const MAX_REDACTION_PASSES = 3;

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

function ruleIndex(rule: TokenRule): number {
  if (ruleIndexes?.source !== TOKEN_RULES) ruleIndexes = { source: TOKEN_RULES, indexes: new Map(TOKEN_RULES.map((each, index) => [each, index])) };
  return ruleIndexes.indexes.get(rule) ?? -1;
}

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
function findInPlainText(text: string, userPatterns: readonly UserPattern[], stats: ScanStats | undefined, strategy: ScanStrategy, record: ScanRecord | undefined, gatedToo?: Uint8Array): Finding[] | undefined {
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

function collectRuleMatches(rule: TokenRule, text: string, findings: Finding[], markers: readonly number[] = NO_MARKERS): void {
  if (rule.window === undefined) {
    collectMatchesIn(rule, text, 0, findings, rule.pattern, markers);
    return;
  }
  for (const [start, end] of keywordWindows(rule, text, markers)) collectWindow(rule, text, start, end, findings, rule.pattern, undefined, undefined, markers);
}

/** Merged windows around each occurrence of a windowed rule's keyword (none inside a marker), found by its keyword regex. */
function keywordWindows(rule: TokenRule, text: string, markers: readonly number[]): Array<[number, number]> {
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
function markerAround(markers: readonly number[], at: number): number {
  const low = firstMarkerEndingAfter(markers, at);
  if (low === markers.length >> 1) return -1;
  return (markers[2 * low] as number) < at ? (markers[2 * low + 1] as number) : -1;
}

/** The index of the first marker (`start, end` pairs in text order) that ends after `at`, or their count. */
function firstMarkerEndingAfter(markers: readonly number[], at: number): number {
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
function markerSpans(text: string): number[] {
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

interface CompiledRule {
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
interface LiteralAction {
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

interface ScanEngine {
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

interface PassHits {
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
const MARKER_PREFIX = "[REDACTED:";

let engineCache: { source: readonly TokenRule[]; engine: ScanEngine } | undefined;

function scanEngine(): ScanEngine {
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

function newHits(engine: ScanEngine, text: string): PassHits {
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
function runHolds(text: string, from: number, follow: Follow): boolean {
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
function collectWindow(rule: TokenRule, text: string, start: number, end: number, findings: Finding[], pattern = rule.pattern, scan?: StartScan, stats?: ScanStats, markers: readonly number[] = NO_MARKERS): void {
  const found: Finding[] = [];
  if (scan === undefined || !holdsLongRun(text, start, end, scan.runBreak)) collectMatchesIn(rule, text.slice(start, end), start, found, pattern, markers);
  else {
    const attempts = scanStarts(rule, text.slice(start, end), start, found, scan, markers);
    if (stats?.ruleRuns !== undefined) stats.ruleRuns += attempts;
  }
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
 * `deriveRunBreak`). Each character of such a run is read once for all the starts inside it.
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
    if (at >= runTo) runTo = at;
    const limit = Math.min(text.length, at + within + 1);
    while (runTo < limit) {
      const code = text.charCodeAt(runTo);
      if (code >= 128 || table[code] === 0) break;
      runTo++;
    }
    starts.lastIndex = at + 1;
    if (runTo > at + within) continue;
    sticky.lastIndex = at;
    attempts++;
    const match = sticky.exec(text);
    if (match === null) continue;
    acceptMatch(rule, text, match, offset, findings);
    if (match[0].length > 0) starts.lastIndex = at + match[0].length;
  }
  return attempts;
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
const ALLOW_READS_BEFORE = 32;
const lastVerdict: { rule: TokenRule | undefined; secret: string; before: string; refused: boolean } = { rule: undefined, secret: "", before: "", refused: false };

/** Records a match of `rule` in `text` (found at `offset` in the scanned text) unless a check refuses it. */
function acceptMatch(rule: TokenRule, text: string, match: RegExpExecArray, offset: number, findings: Finding[]): void {
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

/**
 * `text` with every secret replaced by `[REDACTED:<rule>]`: one scan collects every span, every
 * other copy of a secret it found is located in the same linear pass (a copy glued to a letter,
 * `ask-proj-…`, escapes the boundary rules, and a scanner miss must not leak it), then one rewrite.
 */
export function redactText(text: string, userPatterns: readonly UserPattern[], stats?: ScanStats): string {
  let redacted = text;
  for (let pass = 0; pass < MAX_REDACTION_PASSES; pass++) {
    const seen: ScanRecord = { windows: [], hits: new HitLog(), matches: new MatchLog() };
    const findings = findSecrets(redacted, userPatterns, stats, "auto", seen);
    if (findings.length === 0) break;
    const textLength = redacted.length;
    const secrets = new Map<string, string>();
    for (const finding of findings) {
      const secret = redacted.slice(finding.start, finding.end);
      if (secret.length >= MIN_SECRET_TO_REDACT_EVERYWHERE && !secrets.has(secret)) secrets.set(secret, finding.rule);
    }
    const spans = mergeSpans(findings, findOccurrences(redacted, secrets));
    const shrunk = rulesWithShrunkWindows(spans, seen.windows, textLength);
    const through = matchedThrough(spans, seen.matches as MatchLog, shrunk, seen.markers);
    const beside = markersToCheck(redacted, spans, shrunk, seen.gated);
    redacted = rewrite(redacted, spans);
    if (stats) stats.rewrites++;
    // A marker can complete a token boundary that the secret it replaced was blocking
    // (`…ABSK…=hvs.…` → `…ABSK…=[REDACTED:…]`): the regions around such markers are scanned
    // (with those around markers shorter than their secrets, see below), and the whole text again
    // only when they hold a finding. A marker shorter than its secret inside a keyword's window
    // draws other text into that window, which only that rule reads: with no boundary marker, it
    // runs again alone, and the whole text is scanned again only when it finds something.
    // And a match that read through a secret may read the text around it another way once the
    // secret is a marker, reading none of the marker (`pass: hardcoded_KEY = <secret>`, a typed
    // name, becomes `pass: hardcoded_KEY`): its rule runs again at the places that match passed
    // over, and the whole text is scanned again only when it finds something there.
    if (beside.boundary) {
      if (findsAfterRewrite(redacted, spans, beside, shrunk, seen, userPatterns, stats)) continue;
      if (!findsThrough(redacted, through, stats)) break;
      continue;
    }
    if (shrunk.length > 0 && findsAgain(redacted, shrunk, stats)) continue;
    if (!findsThrough(redacted, through, stats)) break;
  }
  return redacted;
}

/** Markers for redaction's check. */
interface MarkersToCheck {
  /** `start, end` in the rewritten text, and how far before and after it a new finding may lie, per marker. */
  readonly places: number[];
  /** One of them has a token character right before or after it. */
  readonly boundary: boolean;
  /** `start, end` of each marker with a token character beside it, in order. */
  readonly beside: number[];
  /** `start, end` of each marker shorter than its secret, in order, when `shrunk` rules are given. */
  readonly drawing: number[];
}

/**
 * Each marker with a token character (or a format character, which the scan reads through) right
 * before or after it, and each marker shorter than its secret when `shrunk` rules' windows hold
 * such markers (spans sorted by start, merged as {@link rewrite} merges them). Text drawn into a
 * window lies within that window of the marker that drew it, both ways.
 */
function markersToCheck(text: string, spans: readonly Span[], shrunk: readonly TokenRule[], gated: Uint8Array | undefined): MarkersToCheck {
  const check = regionCheck();
  // No keyword holds a bracket, so a marker completes none: the rules the redacted text lets in are among these.
  let before = 0;
  let after = 0;
  for (let index = 0; index < check.before.length; index++) {
    if (gated !== undefined && gated[index] !== 1) continue;
    before = Math.max(before, check.before[index] as number);
    after = Math.max(after, check.after[index] as number);
  }
  let windowReach = 0;
  for (const rule of shrunk) windowReach = Math.max(windowReach, check.windowReach.get(rule) ?? Infinity);
  const places: number[] = [];
  const besideList: number[] = [];
  const drawing: number[] = [];
  let boundary = false;
  let shift = 0;
  let index = 0;
  while (index < spans.length) {
    const first = spans[index] as Span;
    let end = first.end;
    for (index++; index < spans.length && (spans[index] as Span).start < end; index++) end = Math.max(end, (spans[index] as Span).end);
    const start = first.start + shift;
    // `[REDACTED:` + rule + `]`, counted: a flood of secrets would build a marker string per span.
    const marker = MARKER_PREFIX.length + first.rule.length + 1;
    shift += marker - (end - first.start);
    const beside = isTokenChar(text.charCodeAt(first.start - 1)) || isTokenChar(text.charCodeAt(end)) || besideFormatCharacter(text, { rule: first.rule, start: first.start, end });
    const draws = end - first.start > marker ? windowReach : 0;
    boundary ||= beside;
    if (beside) places.push(start, end + shift, Math.max(before, draws), Math.max(after, draws));
    else if (draws > 0) places.push(start, end + shift, draws, draws);
    if (beside) besideList.push(start, end + shift);
    if (draws > 0) drawing.push(start, end + shift);
  }
  return { places, boundary, beside: besideList, drawing };
}

/** Longer runs of one class a rule repeats are read as runs, and then checked for (see {@link RegionCheck}). */
const LONG_RUN = 512;
/** Regions over more of the text than this are not worth it: the whole text is scanned. */
const MAX_REGION_SHARE = 0.5;

/**
 * How far around a marker a finding it made possible can read. A new match must read one of the
 * marker's brackets (elsewhere the redacted text is the text the first scan judged, but where a
 * match read through a secret: {@link findsThrough}), so it lies
 * within its rule's reach of the marker, and a windowed rule's keyword within its window of that
 * match. A repeat longer than {@link LONG_RUN} counts as that long, so a region holding a longer
 * run of its class is left to the whole scan.
 */
interface RegionCheck {
  /**
   * Per rule (index in the rules): how far a finding that reads a marker may lie from it, either
   * way (its longest match, what `notAfter` or an `allow` reads before it, one more); `Infinity`
   * for every rule when the long runs cannot be told apart (below).
   */
  readonly read: Float64Array;
  /** Per rule: how far before and after a marker a finding it made possible may read (`read`, or a windowed rule's keyword farther). */
  readonly before: Float64Array;
  readonly after: Float64Array;
  /** Per windowed rule: how far from a marker in one of its windows what the marker drew in may read. */
  readonly windowReach: ReadonlyMap<TokenRule, number>;
  /** Per rule: a bit per long-run class it repeats. */
  readonly ruleClasses: Int32Array;
  /** Per ASCII code: a bit per long-run class holding it; `nonAscii` for every other code. */
  readonly classBits: Int32Array;
  readonly nonAscii: number;
  readonly classes: number;
}

let regionCheckCache: { source: readonly TokenRule[]; check: RegionCheck } | undefined;

function regionCheck(): RegionCheck {
  if (regionCheckCache?.source !== TOKEN_RULES) regionCheckCache = { source: TOKEN_RULES, check: buildRegionCheck(TOKEN_RULES) };
  return regionCheckCache.check;
}

/** The reach of every rule around a marker, exported for tests. */
export function buildRegionCheck(rules: readonly TokenRule[]): RegionCheck {
  const readAround = new Float64Array(rules.length);
  const before = new Float64Array(rules.length);
  const after = new Float64Array(rules.length);
  const windowReach = new Map<TokenRule, number>();
  const ruleClasses = new Int32Array(rules.length);
  const atoms = new Map<string, { atom: string; flags: string; bit: number }>();
  rules.forEach((rule, index) => {
    const { reach, longAtoms } = matchReach(rule.pattern, LONG_RUN);
    const flags = rule.pattern.flags.replace(/[gdy]/g, "");
    for (const atom of longAtoms) {
      const key = `${flags}/${atom}`;
      const known = atoms.get(key) ?? { atom, flags, bit: atoms.size };
      atoms.set(key, known);
      ruleClasses[index] = (ruleClasses[index] as number) | (known.bit < 31 ? 1 << known.bit : 0);
    }
    // `notAfter`, and an `allow` that reads the name, read up to 32 characters before the match; one
    // more each side keeps a new match off a region's cut edge.
    const readsBefore = rule.notAfter !== undefined || (rule.allow !== undefined && rule.allow.length > 1);
    const read = reach + (readsBefore ? Math.max(32, ALLOW_READS_BEFORE) : 0) + 1;
    readAround[index] = read;
    const keyword = Math.max(0, ...rule.keywords.map((k) => k.length));
    before[index] = Math.max(read, rule.window ? rule.window.after + keyword + 1 : 0);
    after[index] = Math.max(read, rule.window ? rule.window.before + keyword + 1 : 0);
    if (rule.window) windowReach.set(rule, rule.window.before + keyword + rule.window.after + read);
  });
  const classes = [...atoms.values()];
  if (classes.length > 31) return { read: readAround.fill(Infinity), before: before.fill(Infinity), after: after.fill(Infinity), windowReach, ruleClasses, classBits: new Int32Array(128), nonAscii: 0, classes: 0 };
  const classBits = new Int32Array(128);
  let nonAscii = 0;
  classes.forEach(({ atom, flags, bit }) => {
    const test = new RegExp(`^(?:${atom})$`, flags);
    for (let code = 0; code < 128; code++) if (test.test(String.fromCharCode(code))) classBits[code] = (classBits[code] as number) | (1 << bit);
    if (!asciiOnly(atom, flags)) nonAscii |= 1 << bit;
  });
  return { read: readAround, before, after, windowReach, ruleClasses, classBits, nonAscii, classes: classes.length };
}

/** A class that can match no character outside ASCII (else it is taken to match every one). */
function asciiOnly(atom: string, flags: string): boolean {
  if (flags.includes("u")) return false;
  if (/^\\[dw]$/.test(atom) || /^(?:[\x20-\x7e]|\\[^A-Za-z0-9])$/.test(atom)) return true;
  return /^\[(?!\^)/.test(atom) && /^[\x20-\x7e]*$/.test(atom) && !/\\[sSWDpPux]/.test(atom);
}

/** `text[start, end)` holds a run longer than {@link LONG_RUN} of one of the long-run classes in `active`. */
function holdsLongClassRun(text: string, start: number, end: number, check: RegionCheck, active: number): boolean {
  // Per class, where its current run began; a character costs one step per class it ends a run
  // of, and most characters sit inside most classes (`[^"\s]`, `[A-Za-z0-9_-]`).
  const from = runStarts;
  from.fill(start);
  for (let i = start; i < end; i++) {
    let ending = ~bitsOf(text.charCodeAt(i), check) & active;
    while (ending !== 0) {
      const bit = 31 - Math.clz32(ending);
      ending &= ~(1 << bit);
      if (i - (from[bit] as number) > LONG_RUN) return true;
      from[bit] = i + 1;
    }
  }
  for (let bit = 0; bit < check.classes; bit++) if ((active & (1 << bit)) !== 0 && end - (from[bit] as number) > LONG_RUN) return true;
  return false;
}

/** Scratch for {@link holdsLongClassRun}: at most 31 classes. */
const runStarts = new Int32Array(31);

function bitsOf(code: number, check: RegionCheck): number {
  return code < 128 ? (check.classBits[code] as number) : check.nonAscii;
}

/**
 * Whether the whole scan of the redacted `text` may find a secret, judged around the markers in
 * `beside` (`start, end` pairs, in order). The regions are only a detector: any finding in them
 * (but for one cut by a region's edge in a run the full text continues) sends the whole text to
 * the whole scan, which decides. What the regions cannot judge goes there too: a text the first
 * scan folded (it held a format character), a long run, regions over half the text. User patterns and PEM
 * blocks, cheap to find, are looked for over the whole text.
 */
function findsBesideMarkers(text: string, beside: MarkersToCheck, seen: ScanRecord, userPatterns: readonly UserPattern[], stats: ScanStats | undefined): boolean {
  // Set by a scan of text with no format character; markers bring none.
  const gated = seen.gated;
  if (gated === undefined) return true;
  // Regions over most of the text (a flood of secrets) go to the whole scan before any other work.
  let reach = 0;
  for (let i = 0, last = -1; i < beside.places.length; i += 4) {
    const start = Math.max(last, (beside.places[i] as number) - (beside.places[i + 2] as number));
    last = Math.max(last, (beside.places[i + 1] as number) + (beside.places[i + 3] as number));
    reach += Math.max(0, last - start);
  }
  if (reach > text.length * MAX_REGION_SHARE) return true;
  const markers = markerSpans(text);
  if (userPatternsFind(text, userPatterns, markers)) return true;
  // The keyword is letters and a space, which no marker can complete: the first scan saw every one.
  if (seen.privateKey === true && findPrivateKeys(text).length > 0) return true;
  const check = regionCheck();
  let active = 0;
  for (let index = 0; index < gated.length; index++) if (gated[index] === 1) active |= check.ruleClasses[index] as number;
  const regions = regionsAround(beside.places, markers, text.length);
  let covered = 0;
  for (let i = 0; i < regions.length; i += 2) covered += (regions[i + 1] as number) - (regions[i] as number);
  if (covered > text.length * MAX_REGION_SHARE) return true;
  for (let i = 0; i < regions.length; i += 2) {
    const start = regions[i] as number;
    const end = regions[i + 1] as number;
    if (stats?.regionChars !== undefined) stats.regionChars += end - start;
    if (holdsLongClassRun(text, start, end, check, active)) return true;
    const found = findInRegion(text.slice(start, end), gated);
    if (found === undefined) return true;
    for (const finding of found) {
      if (start > 0 && finding.start === 0 && !leftEdgeHolds(text, start)) continue;
      if (end < text.length && finding.end === end - start && !rightEdgeHolds(text, end)) continue;
      return true;
    }
  }
  return false;
}

/**
 * Whether the whole scan of the redacted `text` may find a secret. When the first scan recorded
 * its literal hits, they are carried into the redacted text and each rule runs only at those
 * within its own reach of a marker ({@link replayFinds}); otherwise the regions around the
 * markers are scanned ({@link findsBesideMarkers}).
 */
function findsAfterRewrite(text: string, spans: readonly Span[], beside: MarkersToCheck, shrunk: readonly TokenRule[], seen: ScanRecord, userPatterns: readonly UserPattern[], stats: ScanStats | undefined): boolean {
  const engine = scanEngine();
  if (engine.replayable && seen.gated !== undefined && seen.hits !== undefined && seen.markers !== undefined) {
    const carried = carryHits(seen.hits, seen.markers, spans, engine.literalLengths);
    if (carried !== undefined) {
      if (stats?.replayedHits !== undefined) stats.replayedHits += carried.hits.length >> 1;
      return replayFinds(text, carried, beside, shrunk, seen, userPatterns, stats);
    }
  }
  return findsBesideMarkers(text, beside, seen, userPatterns, stats);
}

/** The first scan's literal hits and markers, in the rewritten text's coordinates. */
interface Carried {
  /** `position, literal id` pairs, in text order: what a literal pass over the rewritten text would report. */
  readonly hits: HitLog;
  /** `start, end` of every marker, old and new, in order. */
  readonly markers: number[];
}

/** What {@link redactionMarker} accepts as a marker the scan passes over (see `markerEndAt`). */
const MARKER_NAME = /^[a-z0-9-]{1,64}$/;

/** Past every position of a text (V8's strings are shorter), and a small integer, which keeps the lists of positions packed. */
const BEYOND = 2 ** 30 - 1;

/**
 * The rewrite's spans (sorted by start) merged as {@link rewrite} merges them: `start, end,
 * marker length` triples of the original text, ending with a `BEYOND, BEYOND, 0` sentinel; or
 * undefined when a marker names its rule so that the scan would not pass over it.
 */
function rewrittenSpans(spans: readonly Span[]): number[] | undefined {
  const merged: number[] = [];
  let lastName = "";
  let index = 0;
  while (index < spans.length) {
    const first = spans[index] as Span;
    let end = first.end;
    for (index++; index < spans.length && (spans[index] as Span).start < end; index++) end = Math.max(end, (spans[index] as Span).end);
    if (first.rule !== lastName) {
      if (!MARKER_NAME.test(first.rule)) return undefined;
      lastName = first.rule;
    }
    merged.push(first.start, end, MARKER_PREFIX.length + first.rule.length + 1);
  }
  merged.push(BEYOND, BEYOND, 0);
  return merged;
}

/**
 * The first scan's hits and markers moved into the rewritten text. Text outside the spans is
 * unchanged, so a hit there is still a hit, shifted by what the markers before it add; a hit
 * overlapping a span is gone with the text it read. No literal holds a bracket (the engine checks,
 * {@link ScanEngine.replayable}), so none starts across a marker's edge, and the pass reads nothing
 * inside a marker: the carried hits are all a second pass would report. Undefined when a span cuts
 * into a marker (its rest would be read as text) or a marker would not be read as one.
 */
function carryHits(log: HitLog, markers: readonly number[], spans: readonly Span[], lengths: Int32Array): Carried | undefined {
  const merged = rewrittenSpans(spans);
  if (merged === undefined) return undefined;
  const moved = carryMarkers(markers, merged);
  if (moved === undefined) return undefined;
  const carried = new HitLog();
  const hits = log.data;
  // The span `s` (a triple index) is the first ending after the hit; `shift` what those before it add.
  let s = 0;
  let shift = 0;
  for (let i = 0; i < log.length; i += 2) {
    const at = hits[i] as number;
    while ((merged[s + 1] as number) <= at) {
      shift += (merged[s + 2] as number) - ((merged[s + 1] as number) - (merged[s] as number));
      s += 3;
    }
    const id = hits[i + 1] as number;
    if ((merged[s] as number) < at + (lengths[id] as number)) continue;
    carried.push(at + shift, id);
  }
  return { hits: carried, markers: moved };
}

/** The markers of the original text that the spans leave whole, moved, with the new markers, in order; undefined when a span cuts into one. */
function carryMarkers(markers: readonly number[], merged: readonly number[]): number[] | undefined {
  const moved: number[] = [];
  let s = 0;
  let shift = 0;
  for (let i = 0; i <= markers.length; i += 2) {
    // Past the last marker, every span's marker is still to write.
    const start = i < markers.length ? (markers[i] as number) : BEYOND - 1;
    const end = i < markers.length ? (markers[i + 1] as number) : BEYOND - 1;
    while ((merged[s + 1] as number) <= start) {
      const at = (merged[s] as number) + shift;
      moved.push(at, at + (merged[s + 2] as number));
      shift += (merged[s + 2] as number) - ((merged[s + 1] as number) - (merged[s] as number));
      s += 3;
    }
    if (i === markers.length) break;
    if ((merged[s] as number) < end) {
      // A span over the whole marker takes it away with its text.
      if ((merged[s] as number) <= start && (merged[s + 1] as number) >= end) continue;
      return undefined;
    }
    moved.push(start + shift, end + shift);
  }
  return moved;
}

/** Per rule, how far from a marker redaction's check looks. */
interface ReplayReach {
  /**
   * Per rule: how far a finding that reads a marker may lie from it, either way (its reach, the
   * 32 characters `notAfter` reads before it, and one more). A windowed rule's keyword may lie
   * farther: the keyword terms below, since its windows are built from the keywords themselves.
   */
  readonly read: Float64Array;
  /** Per windowed rule: how much farther before a marker (after, below) a keyword may open a window its finding lies in. */
  readonly keywordBefore: Float64Array;
  readonly keywordAfter: Float64Array;
  /** Per rule: 0 an anchored rule, 1 a windowed one, 2 one that scans the whole text (no start literals). */
  readonly kind: Uint8Array;
}

const ANCHORED = 0;
const WINDOWED = 1;
const UNANCHORED = 2;

let replayReachCache: { source: readonly TokenRule[]; reach: ReplayReach } | undefined;

function replayReach(): ReplayReach {
  if (replayReachCache?.source !== TOKEN_RULES) replayReachCache = { source: TOKEN_RULES, reach: buildReplayReach(scanEngine()) };
  return replayReachCache.reach;
}

function buildReplayReach(engine: ScanEngine): ReplayReach {
  const count = engine.rules.length;
  // The region check's reach per rule: the same bound, read from the patterns once.
  const read = regionCheck().read;
  const keywordBefore = new Float64Array(count);
  const keywordAfter = new Float64Array(count);
  const kind = new Uint8Array(count);
  for (const { rule, index, sticky } of engine.rules) {
    kind[index] = rule.window !== undefined ? WINDOWED : sticky !== undefined ? ANCHORED : UNANCHORED;
    if (rule.window === undefined) continue;
    // A keyword at `k` opens `[k - before, k + length + after]`; twice the length, so a keyword that
    // would hide one inside it (the scan skips a hit inside the previous one) is fed too.
    const keyword = Math.max(0, ...rule.keywords.map((k) => k.length));
    keywordBefore[index] = rule.window.after + 2 * keyword;
    keywordAfter[index] = rule.window.before + keyword;
  }
  return { read, keywordBefore, keywordAfter, kind };
}

/**
 * For positions given in order, outside every place: the end of the nearest place before and
 * the start of the nearest place after (places are `start, end` pairs, in order and disjoint).
 */
class NearestPlaces {
  previousEnd = -Infinity;
  nextStart = Infinity;
  private next = 0;

  constructor(private readonly places: readonly number[]) {
    this.nextStart = places.length > 0 ? (places[0] as number) : Infinity;
  }

  moveTo(at: number): void {
    const places = this.places;
    while (this.next < places.length && (places[this.next] as number) <= at) {
      this.previousEnd = places[this.next + 1] as number;
      this.next += 2;
    }
    this.nextStart = this.next < places.length ? (places[this.next] as number) : Infinity;
  }

  /** The position lies within `before` of the next place's start or `after` of the previous one's end. */
  within(at: number, before: number, after: number): boolean {
    return at - this.previousEnd <= after || this.nextStart - at <= before;
  }
}

/** Where, per rule, redaction's check looks: around which markers, and how far. */
interface CheckZones {
  readonly text: string;
  readonly markers: readonly number[];
  /** Markers with a token character beside them, and markers shorter than their secrets (see {@link MarkersToCheck}). */
  readonly beside: readonly number[];
  readonly drawing: readonly number[];
  /** Per rule: how far before and after a beside marker a finding it made possible may read. */
  readonly before: Float64Array;
  readonly after: Float64Array;
  /** Per rule: how far around a drawing marker, for the rules whose windows it shrank; else 0. */
  readonly draws: Float64Array;
}

/**
 * Appends to `out` the merged intervals, clipped to `[from, to)`, of rule `index`'s zones: each
 * beside marker widened by the rule's reach, each drawing one by its draw; a zone edge inside a
 * marker moves out to take the marker whole, as {@link regionsAround} does.
 */
function zonePieces(zones: CheckZones, index: number, from: number, to: number, out: number[]): void {
  zonePiecesWithin(zones, zones.before[index] as number, zones.after[index] as number, zones.draws[index] as number, from, to, out);
}

function zonePiecesWithin(zones: CheckZones, before: number, after: number, draws: number, from: number, to: number, out: number[]): void {
  const besides: number[] = [];
  zonePiecesAround(zones.beside, before, after, from, to, zones.markers, besides);
  if (draws === 0) {
    for (const bound of besides) out.push(bound);
    return;
  }
  const drawn: number[] = [];
  zonePiecesAround(zones.drawing, draws, draws, from, to, zones.markers, drawn);
  mergeIntervals(besides, drawn, out);
}

function zonePiecesAround(places: readonly number[], before: number, after: number, from: number, to: number, markers: readonly number[], out: number[]): void {
  const count = places.length >> 1;
  // The first place whose zone ends after `from`: ends are in order.
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((places[2 * middle + 1] as number) + after <= from) low = middle + 1;
    else high = middle;
  }
  let pieceStart = -1;
  let pieceEnd = -1;
  // Zone starts and ends both come in order: one walk over the markers for each.
  const starts = new MarkerWalk(markers);
  const ends = new MarkerWalk(markers);
  for (let n = low; n < count; n++) {
    let start = (places[2 * n] as number) - before;
    if (start >= to) break;
    let end = (places[2 * n + 1] as number) + after;
    const first = starts.holding(Math.max(0, start));
    if (first >= 0) start = markers[2 * first] as number;
    const last = ends.holding(end);
    if (last >= 0 && (markers[2 * last] as number) < end) end = markers[2 * last + 1] as number;
    start = Math.max(start, from);
    end = Math.min(end, to);
    if (end <= start) continue;
    if (start <= pieceEnd) pieceEnd = Math.max(pieceEnd, end);
    else {
      if (pieceEnd > pieceStart) out.push(pieceStart, pieceEnd);
      pieceStart = start;
      pieceEnd = end;
    }
  }
  if (pieceEnd > pieceStart) out.push(pieceStart, pieceEnd);
}

/** {@link markerIndexHolding} for positions given in order. */
class MarkerWalk {
  private next = -1;

  constructor(private readonly markers: readonly number[]) {}

  holding(at: number): number {
    const markers = this.markers;
    if (this.next < 0) this.next = firstMarkerEndingAfter(markers, at);
    while (this.next < markers.length >> 1 && (markers[2 * this.next + 1] as number) <= at) this.next++;
    return this.next < markers.length >> 1 && (markers[2 * this.next] as number) <= at ? this.next : -1;
  }
}

/** Two lists of sorted, disjoint `start, end` intervals, merged into one. */
function mergeIntervals(a: readonly number[], b: readonly number[], out: number[]): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const fromA = j >= b.length || (i < a.length && (a[i] as number) <= (b[j] as number));
    const start = (fromA ? a[i] : b[j]) as number;
    const end = (fromA ? a[i + 1] : b[j + 1]) as number;
    if (fromA) i += 2;
    else j += 2;
    const last = out.length - 1;
    if (last > 0 && start <= (out[last] as number)) out[last] = Math.max(out[last] as number, end);
    else out.push(start, end);
  }
}

/**
 * The redacted text judged by replaying the first scan: a finding the rewrite made possible reads
 * one of a marker's brackets (elsewhere the text is what the first scan judged, but where a match
 * read through a secret, which {@link findsThrough} checks), so it starts
 * within its rule's reach of a marker that needs checking, and a windowed rule's keyword within
 * its window of that. Each rule runs only there ({@link ReplayCheck}). Any finding sends the text
 * to the whole scan, which decides, as does a user pattern or PEM block found (cheap to look for
 * over the whole text); a zone holding a run longer than its rule's capped repeat makes the whole
 * text that rule's zone ({@link rulesReadingFarther}).
 */
function replayFinds(text: string, carried: Carried, beside: MarkersToCheck, shrunk: readonly TokenRule[], seen: ScanRecord, userPatterns: readonly UserPattern[], stats: ScanStats | undefined): boolean {
  if (userPatternsFind(text, userPatterns, carried.markers)) return true;
  // The keyword is letters and a space, which no marker can complete: the first scan saw every one.
  if (seen.privateKey === true && findPrivateKeys(text).length > 0) return true;
  const check = regionCheck();
  const draws = new Float64Array(check.before.length);
  for (const rule of shrunk) {
    const index = TOKEN_RULES.indexOf(rule);
    if (index >= 0) draws[index] = check.windowReach.get(rule) ?? Infinity;
  }
  const { read } = replayReach();
  const zones: CheckZones = { text, markers: carried.markers, beside: beside.beside, drawing: beside.drawing, before: read, after: read, draws };
  const gated = seen.gated as Uint8Array;
  const replay = new ReplayCheck(zones, gated, rulesReadingFarther(zones, gated, check));
  try {
    return replay.runAtHits(carried.hits) || replay.scanZones();
  } finally {
    if (stats?.checkRuns !== undefined) stats.checkRuns += replay.runs;
    lastVerdict.rule = undefined;
    lastVerdict.secret = "";
    lastVerdict.before = "";
  }
}

/**
 * One check of a rewritten text: an anchored rule runs (sticky) at its carried starts in its
 * zones, at every one (the scan would skip those inside its previous match; running more only
 * risks a needless whole scan); a windowed rule over its windows, built by the scan's own code
 * from the keywords near its zones, cut to its zones; a rule with no start literals over its zones.
 */
class ReplayCheck {
  /** Pattern runs so far. */
  runs = 0;
  private readonly engine = scanEngine();
  private readonly reach = replayReach();
  private readonly found: Finding[] = [];
  /** Windows are built by the scan's own code; its tables are free once the scan is done. */
  private readonly windowing: PassHits;
  /** Per windowed rule: some keyword was fed to it. */
  private readonly fed: Uint8Array;
  /** How far the nearest markers of each kind lie ahead of and behind the current hit. */
  private besideAhead = Infinity;
  private besideBehind = Infinity;
  private drawingAhead = Infinity;
  private drawingBehind = Infinity;

  constructor(
    private readonly zones: CheckZones,
    private readonly gated: Uint8Array,
    /** Per rule (1): its zone is the whole text. */
    private readonly everywhere: Uint8Array,
  ) {
    this.windowing = newHits(this.engine, zones.text);
    this.fed = new Uint8Array(gated.length);
  }

  /** Runs the anchored rules at the hits (`position, literal id`, in order) near their zones and feeds the windowed rules their keywords; true on a finding. */
  runAtHits(log: HitLog): boolean {
    const { engine, reach, gated, zones } = this;
    const tried = engine.scratch.tried;
    const nearBeside = new NearestPlaces(zones.beside);
    const nearDrawing = new NearestPlaces(zones.drawing);
    const hits = log.data;
    for (let i = 0; i < log.length; i += 2) {
      const at = hits[i] as number;
      const action = engine.actions[hits[i + 1] as number] as LiteralAction;
      nearBeside.moveTo(at);
      nearDrawing.moveTo(at);
      this.besideAhead = nearBeside.nextStart - at;
      this.besideBehind = at - nearBeside.previousEnd;
      this.drawingAhead = nearDrawing.nextStart - at;
      this.drawingBehind = at - nearDrawing.previousEnd;
      const anchors = action.anchors;
      for (let a = 0; a < anchors.length; a++) {
        const index = anchors[a] as number;
        if (gated[index] !== 1 || reach.kind[index] !== ANCHORED || tried[index] === at || !this.near(index, 0, 0) || !startHolds(zones.text, at, action, a)) continue;
        tried[index] = at;
        this.runs++;
        runStickyAt(engine.rules[index] as CompiledRule, zones.text, at, this.found);
        if (this.findsNew()) return true;
      }
      const windows = action.windows;
      for (let w = 0; w < windows.length; w += 2) {
        const index = windows[w] as number;
        if (gated[index] !== 1 || !this.near(index, reach.keywordBefore[index] as number, reach.keywordAfter[index] as number)) continue;
        this.fed[index] = 1;
        this.windowing.keywordAt(index, at, windows[w + 1] as number, action.length);
      }
    }
    return false;
  }

  /** Runs each windowed rule over its windows cut to its zones, and each rule without start literals over its zones; true on a finding. */
  scanZones(): boolean {
    const { zones, everywhere } = this;
    const length = zones.text.length;
    for (const compiled of this.engine.rules) {
      const index = compiled.index;
      const kind = this.reach.kind[index];
      if (this.gated[index] !== 1 || kind === ANCHORED || (kind === WINDOWED && this.fed[index] === 0)) continue;
      const pieces: number[] = [];
      const windows: ReadonlyArray<readonly [number, number]> = kind === WINDOWED ? this.windowing.windowsOf(index) : [[0, length]];
      for (const [start, end] of windows) {
        if (everywhere[index] === 1) pieces.push(start, end);
        else zonePieces(zones, index, start, end, pieces);
      }
      for (let p = 0; p < pieces.length; p += 2) {
        this.runs++;
        collectWindow(compiled.rule, zones.text, pieces[p] as number, pieces[p + 1] as number, this.found, compiled.global, compiled.windowScan, undefined, zones.markers);
        if (this.findsNew()) return true;
      }
    }
    return false;
  }

  /** Rule `index` runs at the current hit: it lies within the rule's reach (plus the extras, for a keyword) of a marker that needs checking. */
  private near(index: number, extraBefore: number, extraAfter: number): boolean {
    const { before, after, draws } = this.zones;
    if (this.everywhere[index] === 1 || this.besideAhead <= (before[index] as number) + extraBefore || this.besideBehind <= (after[index] as number) + extraAfter) return true;
    const around = draws[index] as number;
    return around > 0 && (this.drawingAhead <= around + extraBefore || this.drawingBehind <= around + extraAfter);
  }

  /** A finding so far lies outside the markers (the scan drops those inside one). */
  private findsNew(): boolean {
    const found = this.found;
    while (found.length > 0) {
      const finding = found.pop() as Finding;
      if (!insideMarker(this.zones.markers, finding.start, finding.end)) return true;
    }
    return false;
  }
}

/** The literal pass's cheap refusals of anchor `a` of `action` at `at`: the character before, and the run after. */
function startHolds(text: string, at: number, action: LiteralAction, a: number): boolean {
  const refused = action.refusedBefore[a];
  if (refused !== undefined && at > 0) {
    const before = text.charCodeAt(at - 1);
    if (before < 128 && refused[before] === 1) return false;
  }
  const follow = action.follows[a];
  return follow === undefined || runHolds(text, at + action.length, follow);
}

function runStickyAt(compiled: CompiledRule, text: string, at: number, found: Finding[]): void {
  const sticky = compiled.sticky as RegExp;
  sticky.lastIndex = at;
  const match = sticky.exec(text);
  if (match !== null) acceptMatch(compiled.rule, text, match, 0, found);
}

/**
 * Per rule (1): one of its zones holds a run longer than {@link LONG_RUN} of a class it repeats,
 * so a match could read a marker from farther than its counted reach: its zone is the whole text.
 */
function rulesReadingFarther(zones: CheckZones, gated: Uint8Array, check: RegionCheck): Uint8Array {
  const count = gated.length;
  const everywhere = new Uint8Array(count);
  let active = 0;
  for (let index = 0; index < count; index++) if (gated[index] === 1) active |= check.ruleClasses[index] as number;
  if (active === 0) return everywhere;
  const blocks = new RunBlocks(zones.text, check, active);
  // Most texts have no block any class covers: then no zone holds a long run.
  const covered = blocks.coveringAnywhere();
  if (covered === 0) return everywhere;
  for (let index = 0; index < count; index++) {
    const classes = (check.ruleClasses[index] as number) & covered;
    if (gated[index] !== 1 || classes === 0) continue;
    const pieces: number[] = [];
    zonePieces(zones, index, 0, zones.text.length, pieces);
    for (let p = 0; p < pieces.length && everywhere[index] === 0; p += 2) if (blocks.holdLongRun(classes, pieces[p] as number, pieces[p + 1] as number)) everywhere[index] = 1;
  }
  return everywhere;
}

/** A run longer than {@link LONG_RUN} holds a whole block of this many characters counted from the text's start. */
const RUN_BLOCK = LONG_RUN >> 1;

/**
 * Long runs, found by blocks: a run longer than {@link LONG_RUN} covers a whole block of
 * {@link RUN_BLOCK} characters, so only a block some class covers entirely is followed out to
 * its run's ends. Each block's covering classes are read once, on demand; in most text a block
 * breaks every class within its first few characters.
 */
class RunBlocks {
  /** Per block: the classes of `active` covering all of it, or -1 until read. */
  private readonly covering: Int32Array;

  constructor(
    private readonly text: string,
    private readonly check: RegionCheck,
    private readonly active: number,
  ) {
    this.covering = new Int32Array(Math.floor(text.length / RUN_BLOCK)).fill(-1);
  }

  /** `text[from, to)` holds a run longer than {@link LONG_RUN} of one of the classes in `classes` (as {@link holdsLongClassRun} counts). */
  holdLongRun(classes: number, from: number, to: number): boolean {
    // Per class, where the last run followed ended: a run is followed once, whatever blocks it covers.
    const followed = runStarts;
    followed.fill(from);
    for (let block = Math.ceil(from / RUN_BLOCK); (block + 1) * RUN_BLOCK <= to; block++) {
      let covering = this.coveringOf(block) & classes;
      while (covering !== 0) {
        const bit = 31 - Math.clz32(covering);
        covering &= ~(1 << bit);
        if (block * RUN_BLOCK < (followed[bit] as number)) continue;
        const end = this.runEnd(1 << bit, block * RUN_BLOCK, from, to);
        if (end < 0) return true;
        followed[bit] = end;
      }
    }
    return false;
  }

  /** The classes covering some block of the text. */
  coveringAnywhere(): number {
    let covered = 0;
    for (let block = 0; block < this.covering.length; block++) covered |= this.coveringOf(block);
    return covered;
  }

  private coveringOf(block: number): number {
    let covering = this.covering[block] as number;
    if (covering >= 0) return covering;
    covering = this.active;
    for (let i = block * RUN_BLOCK, end = i + RUN_BLOCK; i < end && covering !== 0; i++) covering &= bitsOf(this.text.charCodeAt(i), this.check);
    this.covering[block] = covering;
    return covering;
  }

  /** -1 when the run of `mask` through the block at `at` is longer than {@link LONG_RUN} inside `[from, to)`; else where it ends. */
  private runEnd(mask: number, at: number, from: number, to: number): number {
    const { text, check } = this;
    let start = at;
    while (start > from && at - start <= LONG_RUN && (bitsOf(text.charCodeAt(start - 1), check) & mask) !== 0) start--;
    let end = at + RUN_BLOCK;
    while (end < to && end - start <= LONG_RUN && (bitsOf(text.charCodeAt(end), check) & mask) !== 0) end++;
    return end - start > LONG_RUN ? -1 : end;
  }
}

/** The built-in rules' findings in a region, the rules `gated` lets in running whatever its keywords. */
function findInRegion(region: string, gated: Uint8Array): Finding[] | undefined {
  try {
    return findInPlainText(region, [], undefined, "auto", undefined, gated);
  } finally {
    lastVerdict.rule = undefined;
    lastVerdict.secret = "";
    lastVerdict.before = "";
  }
}

/** Some user pattern matches `text` outside its markers (RE2 has no lookaround: the exact check is as cheap as a region's). */
function userPatternsFind(text: string, userPatterns: readonly UserPattern[], markers: readonly number[]): boolean {
  let lowered: string | undefined;
  const lower = (): string => (lowered ??= text.toLowerCase());
  for (const pattern of userPatterns) {
    if (pattern.scope === "name") continue;
    for (const [start, end] of pattern.findSpans(text, lower)) if (!insideMarker(markers, start, end)) return true;
  }
  return false;
}

/** `[start, end)` lies inside one marker of `markers` (`start, end` pairs in order). */
function insideMarker(markers: readonly number[], start: number, end: number): boolean {
  const at = markerIndexHolding(markers, start);
  return at >= 0 && end <= (markers[2 * at + 1] as number);
}

/** The index of the marker whose span `[start, end)` holds `at`, or -1. */
function markerIndexHolding(markers: readonly number[], at: number): number {
  const low = firstMarkerEndingAfter(markers, at);
  return low < markers.length >> 1 && (markers[2 * low] as number) <= at ? low : -1;
}

/**
 * The regions around each marker, merged, as `start, end` pairs; an edge that falls inside a
 * marker moves out to include it, so every marker a region holds stays whole (and opaque).
 */
function regionsAround(places: readonly number[], markers: readonly number[], length: number): number[] {
  const cut: Array<[number, number]> = [];
  for (let i = 0; i < places.length; i += 4) {
    let start = Math.max(0, (places[i] as number) - (places[i + 2] as number));
    let end = Math.min(length, (places[i + 1] as number) + (places[i + 3] as number));
    const first = markerIndexHolding(markers, start);
    if (first >= 0) start = markers[2 * first] as number;
    const last = markerIndexHolding(markers, end);
    if (last >= 0 && (markers[2 * last] as number) < end) end = markers[2 * last + 1] as number;
    cut.push([start, end]);
  }
  // Radii differ from marker to marker, so the regions' starts need not come in order.
  cut.sort((a, b) => a[0] - b[0]);
  const regions: number[] = [];
  for (const [start, end] of cut) {
    if (regions.length > 0 && start <= (regions[regions.length - 1] as number)) regions[regions.length - 1] = Math.max(end, regions[regions.length - 1] as number);
    else regions.push(start, end);
  }
  return regions;
}

/**
 * Whether one of `rules` finds a secret in the redacted `text`. Its windows come from its keyword
 * regex, as the `whole` strategy's do, over the text the scan reads: a text with a format
 * character folded out first.
 */
function findsAgain(redacted: string, rules: readonly TokenRule[], stats: ScanStats | undefined): boolean {
  const text = FORMAT_CHARACTER.test(redacted) ? foldFormatCharacters(redacted).folded : redacted;
  const markers = markerSpans(text);
  const found: Finding[] = [];
  for (const rule of rules) {
    if (stats?.ruleChecks !== undefined) stats.ruleChecks++;
    collectRuleMatches(rule, text, found, markers);
    if (found.length > 0) return true;
  }
  return false;
}

type Span = { rule: string; start: number; end: number };

/**
 * The matches in the log that overlap a span and are not inside one (spans sorted by start), as
 * the places they passed over in the rewritten text, per rule (but those in `except`): such a
 * match read the secret's text, and with a marker there its rule may take another reading of the
 * text around it, or try the places the match passed over. A match inside a span is gone with
 * it (the scan passes over a marker). `zones` holds, per rule index, `start, end` pairs: from
 * where the match started (or the end of the marker it started in) to where it ended.
 */
function matchedThrough(spans: readonly Span[], log: MatchLog, except: readonly TokenRule[], markers: readonly number[] | undefined): Through {
  const zones = new Map<number, number[]>();
  if (log.length === 0 || spans.length === 0) return { rules: [], zones };
  const rewritten = rewrittenSpans(spans);
  const merged = rewritten ?? mergedSpans(spans);
  const count = merged.length / 3 - 1;
  // Per merged span: what the markers before it add to a position.
  const shifts = new Float64Array(count + 1);
  for (let k = 0; k < count; k++) shifts[k + 1] = (shifts[k] as number) + (merged[3 * k + 2] as number) - ((merged[3 * k + 1] as number) - (merged[3 * k] as number));
  const skipped = new Uint8Array(TOKEN_RULES.length);
  for (const rule of except) {
    const index = ruleIndex(rule);
    if (index >= 0) skipped[index] = 1;
  }
  const data = log.data;
  // Most matches come in text order: the span found for one is where the search for the next begins.
  let k = 0;
  for (let i = 0; i < log.length; i += 3) {
    const index = data[i] as number;
    if (index < 0 || skipped[index] === 1) continue;
    const start = data[i + 1] as number;
    const end = data[i + 2] as number;
    if (k > 0 && (merged[3 * k - 2] as number) > start) k = firstSpanEndingAfter(merged, count, start);
    else while (k < count && (merged[3 * k + 1] as number) <= start) k++;
    const spanStart = merged[3 * k] as number;
    if (k === count || spanStart >= end) continue;
    if (spanStart <= start && end <= (merged[3 * k + 1] as number)) continue;
    let list = zones.get(index);
    if (list === undefined) zones.set(index, (list = []));
    // The first span ending after `end`: a match ending where a span does ends after its marker.
    let last = k;
    while ((merged[3 * last + 1] as number) <= end) last++;
    list.push(movedPosition(merged, shifts, k, start), movedPosition(merged, shifts, last, end));
  }
  // The scan's order per rule is the text's; a rule's matches run in window order, windows in text order.
  for (const list of zones.values()) if (!inOrder(list)) sortPairs(list);
  const moved = rewritten !== undefined && markers !== undefined && zones.size > 0 ? carryMarkers(markers, rewritten) : undefined;
  return { rules: [...zones.keys()].map((index) => TOKEN_RULES[index] as TokenRule), zones, exact: rewritten !== undefined, ...(moved && { markers: moved }) };
}

function inOrder(pairs: readonly number[]): boolean {
  for (let i = 2; i < pairs.length; i += 2) if ((pairs[i] as number) < (pairs[i - 2] as number)) return false;
  return true;
}

function sortPairs(pairs: number[]): void {
  const sorted = [];
  for (let i = 0; i < pairs.length; i += 2) sorted.push([pairs[i] as number, pairs[i + 1] as number] as const);
  sorted.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  sorted.forEach(([start, end], i) => {
    pairs[2 * i] = start;
    pairs[2 * i + 1] = end;
  });
}

interface Through {
  readonly rules: TokenRule[];
  readonly zones: ReadonlyMap<number, readonly number[]>;
  /** The zones were placed by the markers the rewrite writes. */
  readonly exact?: boolean;
  /** The markers of the rewritten text (`start, end` pairs), when the scan recorded the text's own. */
  readonly markers?: readonly number[];
}

/** Spans merged as {@link rewrite} merges them, as `start, end, marker length` triples and a sentinel (when a rule id is no marker name). */
function mergedSpans(spans: readonly Span[]): number[] {
  const merged: number[] = [];
  let index = 0;
  while (index < spans.length) {
    const first = spans[index] as Span;
    let end = first.end;
    for (index++; index < spans.length && (spans[index] as Span).start < end; index++) end = Math.max(end, (spans[index] as Span).end);
    merged.push(first.start, end, MARKER_PREFIX.length + first.rule.length + 1);
  }
  merged.push(BEYOND, BEYOND, 0);
  return merged;
}

/** The first of `count` merged spans (triples) ending after `at`, or `count`. */
function firstSpanEndingAfter(merged: readonly number[], count: number, at: number): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >> 1;
    if ((merged[3 * middle + 1] as number) <= at) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Where `at` of the original text lies in the rewritten one (`k`: the first span ending after it): past the marker, when inside its span. */
function movedPosition(merged: readonly number[], shifts: Float64Array, k: number, at: number): number {
  const spanStart = merged[3 * k] as number;
  const shift = shifts[k] as number;
  return spanStart < at && at < (merged[3 * k + 1] as number) ? spanStart + shift + (merged[3 * k + 2] as number) : at + shift;
}

/**
 * Whether a rule finds a secret in the redacted `text` at a place one of its matches passed
 * over ({@link matchedThrough}): each place of the zone is tried on its own, as the scan would
 * try it, inside the rule's windows (built from its keywords near the zone, by the scan's code).
 * A match ending where the first scan's did, from where it started, reads the text the same way
 * from there on. Where the zones cannot be judged so (a format character, which the scan folds
 * out; a run longer than a capped repeat; a reach not bounded), the rule runs over the whole text.
 */
function findsThrough(text: string, through: Through, stats: ScanStats | undefined): boolean {
  if (through.rules.length === 0) return false;
  // The literal pass records markers only in a text with no format character, and markers hold none.
  if (through.exact !== true || (through.markers === undefined && FORMAT_CHARACTER.test(text))) return findsAgain(text, through.rules, stats);
  const engine = scanEngine();
  const check = regionCheck();
  const markers = through.markers ?? markerSpans(text);
  const whole: TokenRule[] = [];
  for (const [index, zones] of through.zones) {
    const compiled = engine.rules[index] as CompiledRule;
    const read = check.read[index] as number;
    if (stats?.ruleChecks !== undefined) stats.ruleChecks++;
    if (!Number.isFinite(read)) {
      whole.push(compiled.rule);
      continue;
    }
    const found = findsInZones(text, compiled, zones, read, markers, check, stats);
    if (found === undefined) whole.push(compiled.rule);
    else if (found) return true;
  }
  return whole.length > 0 && findsAgain(text, whole, undefined);
}

/** The markers overlapping `[start, end)`, moved by `-start` (one cut by an edge keeps its place beyond it). */
function markersWithin(markers: readonly number[], start: number, end: number): readonly number[] {
  if (start === 0 && (markers.length === 0 || (markers[markers.length - 2] as number) < end)) return markers;
  const within: number[] = [];
  for (let m = firstMarkerEndingAfter(markers, start); m < markers.length >> 1 && (markers[2 * m] as number) < end; m++) within.push((markers[2 * m] as number) - start, (markers[2 * m + 1] as number) - start);
  return within;
}

/**
 * How far from `from` (up to `to`) each character of `text` equals the one `shift` before it: a
 * character at a time at first (most texts that differ do so soon), then natively.
 */
function repeatsTo(text: string, from: number, to: number, shift: number): number {
  let at = from;
  for (const first = Math.min(to, from + 64); at < first; at++) if (text.charCodeAt(at) !== text.charCodeAt(at - shift)) return at;
  if (at < to && text.startsWith(text.slice(at - shift, to - shift), at)) return to;
  while (at < to && text.charCodeAt(at) === text.charCodeAt(at - shift)) at++;
  return at;
}

/**
 * The last zone (its index in `zones`) of the run from zone `z` of zones alike: a stride apart, of
 * one length, inside a window ending at `windowEnd`, in text that repeats with that stride from
 * `read` before the first to `read` after the last. Each of them reads as the first one does. The
 * run is followed by doubling steps, each one comparison of its text with itself a stride on: a
 * run costs its length, a step that fails at most the run so far, a zone unlike the next its reach.
 */
function lastOfRun(text: string, zones: readonly number[], z: number, read: number, windowEnd: number, stats: ScanStats | undefined): number {
  if (z + 2 >= zones.length) return z;
  const length = (zones[z + 1] as number) - (zones[z] as number);
  const stride = (zones[z + 2] as number) - (zones[z] as number);
  if (stride <= 0) return z;
  let y = z;
  for (let step = 1; ; step *= 2) {
    let next = y;
    let taken = 0;
    while (taken < step && next + 2 < zones.length && (zones[next + 2] as number) - (zones[next] as number) === stride && (zones[next + 3] as number) - (zones[next + 2] as number) === length && (zones[next + 3] as number) + read <= windowEnd) {
      next += 2;
      taken++;
    }
    if (taken === 0) return y;
    const start = (zones[y] as number) - read;
    const end = (zones[next] as number) + read;
    if (stats?.comparedChars !== undefined) stats.comparedChars += end - stride - start;
    if (repeatsTo(text, start + stride, end, stride) < end) return y;
    y = next;
    if (taken < step) return y;
  }
}

const stickyForms = new WeakMap<CompiledRule, RegExp>();

/** Runs the rule at `from` alone (its finding, if any, into `found`): true when its match there ends at `to`. */
function readsAgainAt(compiled: CompiledRule, text: string, from: number, to: number, found: Finding[]): boolean {
  let sticky = stickyForms.get(compiled);
  if (sticky === undefined) stickyForms.set(compiled, (sticky = new RegExp(compiled.global.source, compiled.global.flags.replace("g", "") + "y")));
  sticky.lastIndex = from;
  const match = sticky.exec(text);
  if (match === null) return false;
  acceptMatch(compiled.rule, text, match, 0, found);
  return match.index + match[0].length === to;
}

/** How far from its keyword a window of `rule` reaches, and the longest keyword: what builds the windows near a place. */
function windowMargin(rule: TokenRule): number {
  const window = rule.window as NonNullable<TokenRule["window"]>;
  // A marker cut at a piece's edge may show a keyword: its window stays this far inside.
  return window.before + window.after + Math.max(0, ...rule.keywords.map((k) => k.length)) + MARKER_PREFIX.length + 70;
}

/** True on a finding, false on none, undefined when the zones cannot be judged apart (a long run). */
function findsInZones(text: string, compiled: CompiledRule, zones: readonly number[], read: number, markers: readonly number[], check: RegionCheck, stats: ScanStats | undefined): boolean | undefined {
  const rule = compiled.rule;
  const classes = check.ruleClasses[compiled.index] as number;
  const found: Finding[] = [];
  let windows: Array<[number, number]> = [[0, text.length]];
  let windowsTo = -1;
  const margin = rule.window === undefined ? 0 : windowMargin(rule);
  let w = 0;
  // The last zone the rule read again the first scan's way, and its length; `text[x]` equals
  // `text[x - period]` for every `x` from where the zone's text began to `periodicTo`.
  let sameFrom = -1;
  let sameLength = -1;
  let blocks: RunBlocks | undefined;
  let period = 0;
  let periodicTo = 0;
  for (let z = 0; z < zones.length; z += 2) {
    const from = zones[z] as number;
    const to = zones[z + 1] as number;
    if (to + read > windowsTo) {
      // The windows near this zone and those close after it, from the keywords around them.
      let last = z;
      while (last + 2 < zones.length && (zones[last + 2] as number) - (zones[last + 1] as number) < 2 * (read + margin)) last += 2;
      const pieceStart = Math.max(0, from - read - margin);
      const pieceEnd = Math.min(text.length, (zones[last + 1] as number) + read + margin);
      if (classes !== 0 && (blocks ??= new RunBlocks(text, check, classes)).holdLongRun(classes, pieceStart, pieceEnd)) return undefined;
      if (rule.window !== undefined) {
        const piece = text.slice(pieceStart, pieceEnd);
        windows = keywordWindows(rule, piece, markersWithin(markers, pieceStart, pieceEnd)).map(([start, end]): [number, number] => [start + pieceStart, end + pieceStart]);
      }
      windowsTo = pieceEnd === text.length ? Infinity : pieceEnd - margin;
      w = 0;
    }
    while (w < windows.length && (windows[w] as [number, number])[1] <= from) w++;
    for (let v = w; v < windows.length && (windows[v] as [number, number])[0] <= to; v++) {
      const [windowStart, windowEnd] = windows[v] as [number, number];
      // Far from the window's edges the rule reads the text itself: the first scan's match, read
      // again the same way from where it started, leaves what follows it as the scan judged it.
      if (windowStart <= from - read && to + read <= windowEnd) {
        // What the rule reads there decides: the same text as around the last zone read so (a
        // flood of one line), checked a period at a time, reads the same way.
        if (sameFrom >= 0 && to - from === sameLength) {
          const shift = from - sameFrom;
          if (shift !== period || periodicTo < from - read) {
            period = shift;
            periodicTo = from - read;
          }
          const want = from + read;
          if (stats?.comparedChars !== undefined) stats.comparedChars += Math.max(0, want - periodicTo);
          periodicTo = repeatsTo(text, periodicTo, want, shift);
          if (periodicTo >= want) {
            z = lastOfRun(text, zones, z, read, windowEnd, stats);
            if ((zones[z] as number) !== from) {
              period = (zones[z] as number) - (zones[z - 2] as number);
              periodicTo = (zones[z] as number) + read;
            }
            sameFrom = zones[z] as number;
            break;
          }
        }
        if (stats?.checkRuns !== undefined) stats.checkRuns++;
        const again = readsAgainAt(compiled, text, from, to, found);
        if (found.length > 0 && !insideMarker(markers, (found[0] as Finding).start, (found[0] as Finding).end)) return true;
        found.length = 0;
        sameFrom = again ? from : -1;
        sameLength = to - from;
        if (again) {
          z = lastOfRun(text, zones, z, read, windowEnd, stats);
          if ((zones[z] as number) !== from) {
            period = (zones[z] as number) - (zones[z - 2] as number);
            periodicTo = (zones[z] as number) + read;
            sameFrom = zones[z] as number;
          }
          break;
        }
      }
      const first = Math.max(from, windowStart);
      const lastStart = Math.min(to, windowEnd - 1);
      const start = Math.max(windowStart, first - read);
      const end = Math.min(windowEnd, lastStart + read);
      const pattern = compiled.global;
      const piece = text.slice(start, end);
      pattern.lastIndex = first - start;
      for (let match = pattern.exec(piece); match !== null && match.index + start <= lastStart; match = pattern.exec(piece)) {
        if (stats?.checkRuns !== undefined) stats.checkRuns++;
        const at = match.index + start;
        const inside = markerAround(markers, at);
        if (inside >= 0) {
          pattern.lastIndex = inside - start;
          continue;
        }
        acceptMatch(rule, piece, match, start, found);
        for (const finding of found) {
          if (finding.start === windowStart && windowStart > 0 && !leftEdgeHolds(text, windowStart)) continue;
          if (finding.end === windowEnd && windowEnd < text.length && !rightEdgeHolds(text, windowEnd)) continue;
          if (insideMarker(markers, finding.start, finding.end)) continue;
          return true;
        }
        found.length = 0;
        // The first scan's match, read again the same way: what follows it is the text it judged.
        if (at === from && at + match[0].length === to) break;
        pattern.lastIndex = match.index + 1;
      }
    }
  }
  return false;
}

/**
 * The rules in whose scanned windows a span longer than its marker lies (spans sorted by start):
 * such a window then reaches text it did not. A longer marker only pushes text out, and a window
 * over the whole text has nothing left to reach.
 */
function rulesWithShrunkWindows(spans: readonly Span[], windowLists: WindowLists, textLength: number): TokenRule[] {
  const rules: TokenRule[] = [];
  for (const { rule, windows } of windowLists) if (shrinksOne(spans, windows, textLength)) rules.push(rule);
  return rules;
}

function shrinksOne(spans: readonly Span[], windows: ReadonlyArray<readonly [number, number]>, textLength: number): boolean {
  let first = 0;
  for (const [windowStart, windowEnd] of windows) {
    if (windowStart === 0 && windowEnd === textLength) continue;
    // Windows are disjoint and sorted: a span ending before this one ends before every later one.
    while (first < spans.length && (spans[first] as Span).end <= windowStart) first++;
    for (let at = first; at < spans.length && (spans[at] as Span).start < windowEnd; at++) {
      const span = spans[at] as Span;
      if (span.end > windowStart && span.end - span.start > redactionMarker(span.rule).length) return true;
    }
  }
  return false;
}

/**
 * Two lists each sorted by start then longest first (findings; copies as `start, end, rule`, one
 * per start) merged in that order, a finding before a copy of the same span: what sorting their
 * concatenation gives, in one walk instead of a sort of every span of a text full of secrets. A
 * copy of exactly a finding's span is left out: the rewrite would merge it into the finding, and
 * most copies are the findings themselves (a flood of one password is 45 454 of each).
 */
function mergeSpans(findings: readonly Span[], copies: ReadonlyArray<readonly [number, number, string]>): Span[] {
  const out: Span[] = [];
  let f = 0;
  let c = 0;
  while (f < findings.length && c < copies.length) {
    const finding = findings[f] as Span;
    const [start, end, rule] = copies[c] as readonly [number, number, string];
    if (finding.start === start && finding.end === end) c++;
    else if (finding.start < start || (finding.start === start && finding.end > end)) {
      out.push(finding);
      f++;
    } else {
      out.push({ rule, start, end });
      c++;
    }
  }
  while (f < findings.length) out.push(findings[f++] as Span);
  for (; c < copies.length; c++) {
    const [start, end, rule] = copies[c] as readonly [number, number, string];
    out.push({ rule, start, end });
  }
  return out;
}

/**
 * Whether a format character lies right before or after the span: the scan folds it out, so the
 * characters beyond it are the span's true neighbours (`AKIA…\u200Bxoxo-…` is a key id glued to
 * a token until the token is a marker).
 */
function besideFormatCharacter(text: string, span: Span): boolean {
  if (formatCharacterAt(text, span.end) > 0) return true;
  return span.start > 0 && (formatCharacterAt(text, span.start - 1) > 0 || (span.start > 1 && formatCharacterAt(text, span.start - 2) === 2));
}

/** Whether a marker beside this character may complete a boundary guard that the secret was blocking. */
function isTokenChar(code: number): boolean {
  return code < 128 && BOUNDARY_CHARS[code] === 1;
}

/**
 * The characters beside which a marker may complete a boundary guard: a guard refuses a match
 * that a token runs on into, and the token's characters are what it refuses, so these are read
 * from the rules' own guard classes (`(?<![A-Za-z0-9./$])` before a `$2b$…` hash, `(?![…~…])`),
 * plus the word characters `\b` and every token body take. An approximation, not a proof: a rule
 * starting with a character its own guard does not refuse would need that character added; the
 * glue property (secrets joined by every ASCII punctuation character) found none. A guard whose
 * class is negated (`(?<![^\s'"])`) refuses the marker's brackets too, so a marker completes none;
 * a class the reader cannot expand counts as every printable character but the brackets.
 */
const BOUNDARY_CHARS = boundaryChars(TOKEN_RULES);

export function boundaryChars(rules: readonly TokenRule[]): Uint8Array {
  const table = new Uint8Array(128);
  for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/=.") table[char.charCodeAt(0)] = 1;
  for (const rule of rules) {
    for (const [, body] of rule.pattern.source.matchAll(/\(\?<?!\[((?:\\.|[^\]\\])*)\]/g)) {
      if (body === undefined || body.startsWith("^")) continue;
      const refused = classBodyTable(body, rule.pattern.ignoreCase);
      for (let code = 33; code < 127; code++) if (refused === undefined ? code !== 91 && code !== 93 : refused[code] === 1) table[code] = 1;
    }
  }
  return table;
}

/**
 * Replaces each (merged) span with a marker naming the rule that fired first in it. Built by
 * concatenation, which V8 flattens in one copy: a join of 90 000 parts (a flood of one secret)
 * cost twice as much, and a run of spans of one rule shares its marker string.
 */
function rewrite(text: string, spans: ReadonlyArray<{ rule: string; start: number; end: number }>): string {
  let out = "";
  let cursor = 0;
  let index = 0;
  let rule: string | undefined;
  let marker = "";
  while (index < spans.length) {
    const first = spans[index] as { rule: string; start: number; end: number };
    let end = first.end;
    index++;
    while (index < spans.length && (spans[index] as { start: number }).start < end) {
      end = Math.max(end, (spans[index] as { end: number }).end);
      index++;
    }
    if (first.rule !== rule) {
      rule = first.rule;
      marker = redactionMarker(rule);
    }
    out += text.slice(cursor, first.start) + marker;
    cursor = end;
  }
  return out + text.slice(cursor);
}

/** Replaces each (merged) finding span with a marker naming the rule that fired first in it. */
export function redactFindings(text: string, findings: readonly Finding[]): string {
  return rewrite(text, findings);
}
