import { findOccurrences } from "./find-occurrences.js";
import { foldFormatCharacters, formatCharacterAt } from "./format-characters.js";
import { matchReach } from "./match-reach.js";
import { classBodyTable } from "./rule-anchors.js";
import {
  acceptMatch,
  ALLOW_READS_BEFORE,
  collectRuleMatches,
  collectWindow,
  findInPlainText,
  findSecrets,
  firstMarkerEndingAfter,
  FORMAT_CHARACTER,
  HitLog,
  keywordWindows,
  lastVerdict,
  MARKER_PREFIX,
  markerAround,
  markerSpans,
  MatchLog,
  newHits,
  redactionMarker,
  ruleIndex,
  runHolds,
  scanEngine,
  touchesCutEdge,
  type CompiledRule,
  type Finding,
  type LiteralAction,
  type PassHits,
  type ScanEngine,
  type ScanRecord,
  type ScanStats,
  type WindowLists,
} from "./scan-text.js";
import { findPrivateKeys, TOKEN_RULES, type TokenRule } from "./token-rules.js";
import type { UserPattern } from "./user-patterns.js";

/**
 * Redaction: one scan collects every span, one pass finds every other copy of a found secret, one
 * rewrite puts a marker in each; then the checks that tell whether the rewritten text needs
 * another scan (a marker beside a token character, a keyword window a shorter marker drew text
 * into, a match that read through a secret), each far cheaper than the scan it spares.
 */
/** Shorter findings (user globs can match a few characters) are redacted only where found. */
const MIN_SECRET_TO_REDACT_EVERYWHERE = 8;
/** Redaction rescans only when a marker may have completed a token boundary; this bounds it. */
const MAX_REDACTION_PASSES = 3;

/**
 * `text` with every secret replaced by `[REDACTED:<rule>]`: one scan collects every span, every
 * other copy of a secret it found is located in the same linear pass (a copy glued to a letter,
 * `ask-proj-…`, escapes the boundary rules, and a scanner miss must not leak it), then one rewrite.
 */
export function redactText(text: string, userPatterns: readonly UserPattern[], stats?: ScanStats): string {
  let redacted = text;
  // Whether the last pass's check found reason to scan again: past the last pass allowed, a chain
  // of secrets glued end to end (each one's closing guard refused by the next) may hold links.
  let again = false;
  for (let pass = 0; pass < MAX_REDACTION_PASSES; pass++) {
    again = false;
    const seen: ScanRecord = { windows: [], hits: new HitLog(), matches: new MatchLog() };
    const findings = findSecrets(redacted, userPatterns, stats, "auto", seen);
    if (findings.length === 0) break;
    const textLength = redacted.length;
    const spans = spansToRewrite(redacted, findings);
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
      again = findsAfterRewrite(redacted, spans, beside, shrunk, seen, userPatterns, stats) || findsThrough(redacted, through, stats);
      if (!again) break;
      continue;
    }
    again = (shrunk.length > 0 && findsAgain(redacted, shrunk, stats)) || findsThrough(redacted, through, stats);
    if (!again) break;
  }
  return again ? redactGluedLinks(redacted, userPatterns, stats) : redacted;
}

/**
 * After the last pass allowed: one more scan, and each marker it puts takes with it the word its
 * secret is glued into (every character up to white space or a marker's bracket), where the rest
 * of a chain of glued secrets lies: no guard refuses white space (see {@link boundaryChars}), so
 * no link is left however long the chain, at the cost of the word's other characters. Each
 * character is walked once; only a text whose every pass freed another secret gets here.
 */
function redactGluedLinks(text: string, userPatterns: readonly UserPattern[], stats: ScanStats | undefined): string {
  const findings = findSecrets(text, userPatterns, stats);
  if (findings.length === 0) return text;
  const glued: Span[] = [];
  let reach = 0;
  for (const span of spansToRewrite(text, findings)) {
    const last = glued[glued.length - 1];
    if (last !== undefined && span.start <= reach) {
      reach = gluedEnd(text, Math.max(reach, span.end));
      last.end = reach;
      continue;
    }
    let start = span.start;
    while (start > reach && isGlue(text.charCodeAt(start - 1))) start--;
    reach = gluedEnd(text, span.end);
    glued.push({ rule: span.rule, start, end: reach });
  }
  if (stats) stats.rewrites++;
  return rewrite(text, glued);
}

/** The findings' spans, and every other copy in `text` of a secret they found (one that long), by start. */
function spansToRewrite(text: string, findings: readonly Finding[]): Span[] {
  const secrets = new Map<string, string>();
  for (const finding of findings) {
    const secret = text.slice(finding.start, finding.end);
    if (secret.length >= MIN_SECRET_TO_REDACT_EVERYWHERE && !secrets.has(secret)) secrets.set(secret, finding.rule);
  }
  return mergeSpans(findings, findOccurrences(text, secrets));
}

/** Where the run of glued characters from `at` ends. */
function gluedEnd(text: string, at: number): number {
  let end = at;
  while (end < text.length && isGlue(text.charCodeAt(end))) end++;
  return end;
}

/** Not white space, and not a marker's bracket: a glued run never cuts into a marker. */
function isGlue(code: number): boolean {
  return code > 32 && code !== 91 && code !== 93 && !(code >= 128 && WHITE_SPACE.test(String.fromCharCode(code)));
}

const WHITE_SPACE = /\s/;

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
      if (touchesCutEdge(text, start, end, { start: finding.start + start, end: finding.end + start })) continue;
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
  const merged = rewrittenSpans(spans);
  if (merged === undefined) {
    // A rule id the scan would not pass over as a marker (none of the built-in ones): every rule
    // that matched runs again over the whole text.
    const indexes = new Set<number>();
    for (let i = 0; i < log.length; i += 3) if ((log.data[i] as number) >= 0) indexes.add(log.data[i] as number);
    return { rules: [...indexes].map((index) => TOKEN_RULES[index] as TokenRule), zones, exact: false };
  }
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
  const moved = markers !== undefined && zones.size > 0 ? carryMarkers(markers, merged) : undefined;
  return { rules: [...zones.keys()].map((index) => TOKEN_RULES[index] as TokenRule), zones, exact: true, ...(moved && { markers: moved }) };
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
  /** The zones were placed by the markers the rewrite writes (else there are none: the rules run over the whole text). */
  readonly exact?: boolean;
  /** The markers of the rewritten text (`start, end` pairs), when the scan recorded the text's own. */
  readonly markers?: readonly number[];
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

/** The zones a rule read again the first scan's way, to tell the next one by its text. */
class ReadAlike {
  /** The last zone read so (its start, or -1), and its length. */
  private from = -1;
  private length = -1;
  /** `text[x]` equals `text[x - period]` for every `x` from where that zone's text began to `periodicTo`. */
  private period = 0;
  private periodicTo = 0;

  constructor(
    private readonly text: string,
    private readonly zones: readonly number[],
    private readonly read: number,
    private readonly stats: ScanStats | undefined,
  ) {}

  /** Zone `z` (its index in the zones) has the last zone's length and the text around it is that zone's, checked a period at a time. */
  likeLast(z: number): boolean {
    const from = this.zones[z] as number;
    if (this.from < 0 || (this.zones[z + 1] as number) - from !== this.length) return false;
    const shift = from - this.from;
    if (shift !== this.period || this.periodicTo < from - this.read) {
      this.period = shift;
      this.periodicTo = from - this.read;
    }
    const want = from + this.read;
    if (this.stats?.comparedChars !== undefined) this.stats.comparedChars += Math.max(0, want - this.periodicTo);
    this.periodicTo = repeatsTo(this.text, this.periodicTo, want, shift);
    return this.periodicTo >= want;
  }

  /** Zone `z` read the first scan's way: the last zone of the run alike from it ({@link lastOfRun}), now the last read so. */
  settle(z: number, windowEnd: number): number {
    const { zones, read } = this;
    const last = lastOfRun(this.text, zones, z, read, windowEnd, this.stats);
    if (last !== z) {
      this.period = (zones[last] as number) - (zones[last - 2] as number);
      this.periodicTo = (zones[last] as number) + read;
    }
    this.from = zones[last] as number;
    this.length = (zones[z + 1] as number) - (zones[z] as number);
    return last;
  }

  /** The zone read another way: the next is compared with none. */
  forget(): void {
    this.from = -1;
  }
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
  const alike = new ReadAlike(text, zones, read, stats);
  let blocks: RunBlocks | undefined;
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
        // flood of one line) reads the same way.
        if (alike.likeLast(z)) {
          z = alike.settle(z, windowEnd);
          break;
        }
        if (stats?.checkRuns !== undefined) stats.checkRuns++;
        const again = readsAgainAt(compiled, text, from, to, found);
        if (found.length > 0 && !insideMarker(markers, (found[0] as Finding).start, (found[0] as Finding).end)) return true;
        found.length = 0;
        if (again) {
          z = alike.settle(z, windowEnd);
          break;
        }
        alike.forget();
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
          if (touchesCutEdge(text, windowStart, windowEnd, finding) || insideMarker(markers, finding.start, finding.end)) continue;
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
