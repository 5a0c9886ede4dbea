import { formatCharacterAt, FORMAT_UNIT } from "./format-characters.js";

/** A literal to look for; `id` is the caller's, reported with each occurrence. */
export interface LiteralSpec {
  /** Printable ASCII, at least {@link MIN_LITERAL} long. */
  readonly text: string;
  /** Compare ignoring ASCII case (as a regex's `i` flag does without `u`). */
  readonly ignoreCase: boolean;
  readonly id: number;
}

export const MIN_LITERAL = 2;

export function isSearchable(literal: string): boolean {
  return literal.length >= MIN_LITERAL && /^[\x20-\x7e]+$/.test(literal);
}

/**
 * Char code → the byte the pass keys on: ASCII with letters lower-cased; {@link FORMAT_MARK} for
 * a format character (or a surrogate that may start one); 0 for other non-ASCII characters,
 * which no literal holds.
 */
const FOLD = new Uint8Array(65_536);
const FORMAT_MARK = 0xff;
for (let code = 0; code < 128; code++) FOLD[code] = code >= 65 && code <= 90 ? code + 32 : code;
for (let code = 128; code < 65_536; code++) if (FORMAT_UNIT[code] !== 0) FOLD[code] = FORMAT_MARK;

/** Literals with the same folded text: one comparison, then the case-exact variants. */
interface Entry {
  readonly index: number;
  /** Folded char codes. */
  readonly codes: Uint8Array;
  /** Specs ignoring case: reported on a folded match. */
  readonly caseless: Int32Array;
  /** Case-exact specs: their codes, reported only when the text has exactly them. */
  readonly exact: ReadonlyArray<{ readonly codes: Uint8Array; readonly id: number }>;
}

/** Entries sharing their first two folded characters, split on the third (many, on the fourth too). */
interface Bucket {
  /** Two-character entries. */
  readonly short: Entry[];
  /** Longer entries by their third folded character (< 128), when few share it. */
  readonly byThird: Array<Entry[] | undefined>;
  /** Longer entries by their third folded character, when more than {@link FEW_SHARING} share it. */
  readonly branches: Array<Branch | undefined>;
}

/** Up to this many literals sharing three characters are compared in turn. */
const FEW_SHARING = 4;

/**
 * Entries sharing their first three folded characters, more than {@link FEW_SHARING}. Split once
 * more, so a flood of one literal (`xoxb-xoxb-…`) compares each occurrence with the few literals
 * that share its first four characters, not with every literal of its family (`xoxp-`, `xoxe-`…).
 */
interface Branch {
  /** Three-character entries. */
  readonly short: Entry[];
  /** Longer entries by their fourth folded character (< 128). */
  readonly byFourth: Array<Entry[] | undefined>;
}

/**
 * Finds every occurrence of a fixed set of literals in one pass over a text: each position costs
 * one table look-up on its first two (folded) characters; only positions where some literal
 * starts so are compared, and then only with the literals that share the third and fourth
 * characters too.
 * The cost follows the text, whatever the number of literals or of occurrences.
 */
export class LiteralPass {
  private readonly table = new Uint16Array(65_536);
  private readonly buckets: Bucket[] = [];
  /**
   * Per bucket number and folded third character: 1 when some literal of the bucket has it
   * there; every character, for a bucket holding a two-character literal.
   * Most pairs the table lets through (`to`, `ke`, `se` in source text) start no literal, and
   * this look-up turns them away without a call.
   */
  private thirds = new Uint8Array(0);
  private entries = 0;
  private ids = 0;
  /**
   * Per scan: ids the caller asked not to hear of again, and entries with no id left to report.
   * Allocated once and reset by each scan (no scan runs inside another's `onHit`): a scan of a
   * short text spent a third of its time allocating them.
   */
  private readonly muted: Uint8Array;
  private readonly spent: Uint8Array;
  private readonly live: Int32Array;
  private sizes = new Int32Array(0);
  /** Per scan: where reporting resumes after a span the caller passed over ({@link skipTo}). */
  private resume = 0;

  constructor(specs: readonly LiteralSpec[]) {
    const byFolded = new Map<string, { caseless: number[]; exact: Array<{ codes: Uint8Array; id: number }> }>();
    for (const spec of specs) {
      if (!isSearchable(spec.text)) throw new Error(`literal ${JSON.stringify(spec.text)} cannot be searched for`);
      const folded = spec.text.toLowerCase();
      let group = byFolded.get(folded);
      if (group === undefined) byFolded.set(folded, (group = { caseless: [], exact: [] }));
      this.ids = Math.max(this.ids, spec.id + 1);
      if (spec.ignoreCase) group.caseless.push(spec.id);
      else group.exact.push({ codes: Uint8Array.from(spec.text, (char) => char.charCodeAt(0)), id: spec.id });
    }
    const all: Entry[] = [];
    for (const [folded, group] of byFolded) {
      const entry: Entry = { index: this.entries++, codes: Uint8Array.from(folded, (char) => char.charCodeAt(0)), caseless: Int32Array.from(group.caseless), exact: group.exact };
      const key = ((entry.codes[0] as number) << 8) | (entry.codes[1] as number);
      if (this.table[key] === 0) {
        this.buckets.push({ short: [], byThird: new Array(128), branches: new Array(128) });
        this.table[key] = this.buckets.length;
      }
      const bucket = this.buckets[(this.table[key] as number) - 1] as Bucket;
      if (entry.codes.length === 2) bucket.short.push(entry);
      else (bucket.byThird[entry.codes[2] as number] ??= []).push(entry);
      all.push(entry);
    }
    for (const bucket of this.buckets) {
      bucket.byThird.forEach((entries, third) => {
        if (entries === undefined || entries.length <= FEW_SHARING) return;
        const branch: Branch = { short: [], byFourth: new Array(128) };
        for (const entry of entries) {
          if (entry.codes.length === 3) branch.short.push(entry);
          else (branch.byFourth[entry.codes[3] as number] ??= []).push(entry);
        }
        bucket.branches[third] = branch;
        bucket.byThird[third] = undefined;
      });
    }
    this.sizes = new Int32Array(this.entries);
    for (const entry of all) this.sizes[entry.index] = entry.caseless.length + entry.exact.length;
    this.muted = new Uint8Array(this.ids);
    this.spent = new Uint8Array(this.entries);
    this.live = new Int32Array(this.entries);
    this.thirds = new Uint8Array((this.buckets.length + 1) << 8);
    this.buckets.forEach((bucket, n) => {
      const row = (n + 1) << 8;
      if (bucket.short.length > 0) this.thirds.fill(1, row, row + 256);
      else for (let third = 0; third < 128; third++) if (bucket.byThird[third] !== undefined || bucket.branches[third] !== undefined) this.thirds[row | third] = 1;
    });
  }

  /**
   * Calls `onHit(position, id)` for every occurrence, in text order (at one position, in no set
   * order); an `onHit` that returns true hears no more of that id in this scan (a keyword that
   * has done its job). Stops and returns false at the first Unicode format character (the caller
   * folds the text and passes again); true otherwise. An `onHit` may call {@link skipTo}.
   */
  scan(text: string, onHit: (at: number, id: number) => boolean): boolean {
    const length = text.length;
    if (length === 0) return true;
    this.muted.fill(0);
    this.spent.fill(0);
    this.live.set(this.sizes);
    this.resume = 0;
    const { table, buckets, thirds } = this;
    let previous = FOLD[text.charCodeAt(0)] as number;
    if (previous === FORMAT_MARK && formatCharacterAt(text, 0) > 0) return false;
    for (let i = 1; i < length; i++) {
      const current = FOLD[text.charCodeAt(i)] as number;
      if (current === FORMAT_MARK && formatCharacterAt(text, i) > 0) return false;
      const bucket = table[(previous << 8) | current] as number;
      previous = current;
      if (bucket === 0) continue;
      // Past the end the third character is 0, which no longer literal holds.
      const third = i + 1 < length ? (FOLD[text.charCodeAt(i + 1)] as number) : 0;
      if (thirds[(bucket << 8) | third] === 0) continue;
      this.report(text, i - 1, buckets[bucket - 1] as Bucket, onHit);
      if (this.resume <= i) continue;
      // Passed over: the next occurrence reported starts at `resume` or later.
      i = this.resume;
      if (i >= length) return true;
      previous = FOLD[text.charCodeAt(i)] as number;
      if (previous === FORMAT_MARK && formatCharacterAt(text, i) > 0) return false;
    }
    return true;
  }

  /**
   * Called from `onHit`: no occurrence starting before `position` is reported any more (the
   * caller's opaque span ends there). Its characters are not read, so it must hold no format
   * character; the rest of the occurrences at the current position are still reported.
   */
  skipTo(position: number): void {
    if (position > this.resume) this.resume = position;
  }

  private report(text: string, at: number, bucket: Bucket, onHit: (at: number, id: number) => boolean): void {
    const short = bucket.short;
    for (let n = 0; n < short.length; n++) this.compare(text, at, short[n] as Entry, onHit);
    if (at + 2 >= text.length) return;
    const third = FOLD[text.charCodeAt(at + 2)] as number;
    if (third >= 128) return;
    const few = bucket.byThird[third];
    if (few !== undefined) {
      for (let n = 0; n < few.length; n++) this.compare(text, at, few[n] as Entry, onHit);
      return;
    }
    const branch = bucket.branches[third];
    if (branch === undefined) return;
    const three = branch.short;
    for (let n = 0; n < three.length; n++) this.compare(text, at, three[n] as Entry, onHit);
    if (at + 3 >= text.length) return;
    const fourth = FOLD[text.charCodeAt(at + 3)] as number;
    const entries = fourth < 128 ? branch.byFourth[fourth] : undefined;
    if (entries !== undefined) for (let n = 0; n < entries.length; n++) this.compare(text, at, entries[n] as Entry, onHit);
  }

  private compare(text: string, at: number, entry: Entry, onHit: (at: number, id: number) => boolean): void {
    if (this.spent[entry.index] === 1) return;
    const codes = entry.codes;
    const length = codes.length;
    if (at + length > text.length) return;
    for (let k = 3; k < length; k++) if (FOLD[text.charCodeAt(at + k)] !== codes[k]) return;
    const caseless = entry.caseless;
    for (let n = 0; n < caseless.length; n++) this.hit(at, caseless[n] as number, entry, onHit);
    for (const exact of entry.exact) {
      if (this.muted[exact.id] === 1) continue;
      const wanted = exact.codes;
      let k = 0;
      while (k < length && text.charCodeAt(at + k) === wanted[k]) k++;
      if (k === length) this.hit(at, exact.id, entry, onHit);
    }
  }

  private hit(at: number, id: number, entry: Entry, onHit: (at: number, id: number) => boolean): void {
    if (this.muted[id] === 1 || !onHit(at, id)) return;
    this.muted[id] = 1;
    if (--(this.live[entry.index] as number) === 0) this.spent[entry.index] = 1;
  }
}
