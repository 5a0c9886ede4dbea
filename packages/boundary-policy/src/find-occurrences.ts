/**
 * Every place where one of `needles` (each at least {@link MIN_NEEDLE} long) occurs in `text`.
 * The cost follows the text, not the number of needles.
 *
 * Needles of at least {@link LONG_NEEDLE} characters are looked for at every
 * {@link SAMPLE_STEP}-th position only: each of their first {@link SAMPLE_STEP} windows of
 * {@link MIN_NEEDLE} characters is hashed into one table, and any occurrence holds one sampled
 * position at one of those offsets (see {@link findLong}). The others are looked for at every
 * position, in one pass: a pair of characters that sits in no needle's first eight rules out the
 * seven starts it would sit there for, in one table look-up; positions whose first two characters
 * start no needle are passed over with one more (and those whose next three pairs sit in no
 * needle there, with three more), the rest are hashed on their first {@link MIN_NEEDLE}
 * characters and compared only with the needles of that hash.
 *
 * Returns `[start, end, value]` triples in order of start; at one start only the longest needle.
 */
export const MIN_NEEDLE = 8;

/** Up to this many needles, one `indexOf` walk per needle beats the hashed pass (measured: bench). */
const FEW_NEEDLES = 8;

/**
 * Needles this long are found by sampling: most secrets are, and where findings are many the
 * every-position pass hashes almost every position (their pairs cover the text's). Measured on
 * the bench's 20 000 distinct 32-character keyword secrets in 1 MB, this search alone: 27–31 ms
 * every position, 18 ms sampled (11 ms on a flat copy of the text).
 */
export const LONG_NEEDLE = 24;

/** Positions sampled for long needles: any window of {@link LONG_NEEDLE} characters holds one whole hashed window at a sampled position. */
const SAMPLE_STEP = LONG_NEEDLE - MIN_NEEDLE + 1;

export function findOccurrences<T>(text: string, needles: ReadonlyMap<string, T>): Array<[number, number, T]> {
  if (needles.size === 0) return [];
  if (needles.size <= FEW_NEEDLES) return findFew(text, needles);
  const short: Array<[string, T]> = [];
  const long: Array<[string, T]> = [];
  for (const entry of needles) {
    const length = entry[0].length;
    if (length >= LONG_NEEDLE) long.push(entry);
    else if (length >= MIN_NEEDLE) short.push(entry);
  }
  const shortFound = short.length === 0 ? [] : short.length <= FEW_NEEDLES ? findFew(text, new Map(short)) : findEverywhere(text, short);
  if (long.length === 0) return shortFound;
  const longFound = long.length <= FEW_NEEDLES ? findFew(text, new Map(long)) : findLong(text, long);
  if (shortFound.length === 0) return longFound;
  // At one start a long needle is the longer: it wins over a short one there.
  const merged: Array<[number, number, T]> = [];
  let k = 0;
  for (const found of longFound) {
    while (k < shortFound.length && (shortFound[k] as [number, number, T])[0] < found[0]) merged.push(shortFound[k++] as [number, number, T]);
    if (k < shortFound.length && (shortFound[k] as [number, number, T])[0] === found[0]) k++;
    merged.push(found);
  }
  while (k < shortFound.length) merged.push(shortFound[k++] as [number, number, T]);
  return merged;
}

/**
 * Needles of at least {@link LONG_NEEDLE} characters: a table holds the hash of each needle's
 * window of {@link MIN_NEEDLE} characters at each offset below {@link SAMPLE_STEP}; the text is
 * hashed at every {@link SAMPLE_STEP}-th position only, and a hit at offset `o` is checked as an
 * occurrence starting `o` earlier. An occurrence starting at `s` holds exactly one sampled
 * position in `s … s + SAMPLE_STEP − 1`, whose window lies inside it, so none is missed.
 */
function findLong<T>(text: string, list: ReadonlyArray<[string, T]>): Array<[number, number, T]> {
  const windows = list.length * SAMPLE_STEP;
  let size = 1;
  while (size < 2 * windows) size <<= 1;
  const mask = size - 1;
  const heads = new Int32Array(size).fill(-1);
  const next = new Int32Array(windows);
  const hashes = new Int32Array(windows);
  list.forEach(([needle], n) => {
    let hash = hashAt(needle, 0);
    for (let offset = 0; offset < SAMPLE_STEP; offset++) {
      if (offset > 0) hash = rollHash(hash, needle, offset);
      const slot = n * SAMPLE_STEP + offset;
      hashes[slot] = hash;
      next[slot] = heads[hash & mask] as number;
      heads[hash & mask] = slot;
    }
  });
  // At one start, the longest needle: by start, then longest first, and the rest at that start dropped.
  const found: Array<[number, number, T]> = [];
  let sorted = true;
  for (let at = 0; at + MIN_NEEDLE <= text.length; at += SAMPLE_STEP) {
    const hash = hashAt(text, at);
    for (let slot = heads[hash & mask] as number; slot !== -1; slot = next[slot] as number) {
      if (hashes[slot] !== hash) continue;
      const start = at - (slot % SAMPLE_STEP);
      if (start < 0) continue;
      const [needle, payload] = list[(slot / SAMPLE_STEP) | 0] as [string, T];
      if (!text.startsWith(needle, start)) continue;
      const last = found[found.length - 1];
      if (last !== undefined && start <= last[0]) sorted = false;
      found.push([start, start + needle.length, payload]);
    }
  }
  if (sorted) return found;
  found.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  return found.filter((entry, n) => n === 0 || (found[n - 1] as [number, number, T])[0] !== entry[0]);
}

/** Needles shorter than {@link LONG_NEEDLE}: every position that may start one is hashed. */
function findEverywhere<T>(text: string, entries: ReadonlyArray<[string, T]>): Array<[number, number, T]> {
  // Per character pair: bit k set when some needle holds that pair at offset 2k (k < 4), so a
  // position is hashed only when all four pairs of its first 8 characters could start a needle.
  const pairs = new Uint8Array(65_536);
  // The needles, shortest first, chained per hash slot by head insertion: each chain runs longest
  // first. A typed table, not a map of arrays: 20 000 distinct secrets cost no object per needle.
  const list = [...entries].sort((a, b) => a[0].length - b[0].length);
  let size = 1;
  while (size < 2 * list.length) size <<= 1;
  const mask = size - 1;
  const heads = new Int32Array(size).fill(-1);
  const next = new Int32Array(list.length);
  const hashes = new Int32Array(list.length);
  list.forEach(([needle], n) => {
    for (let k = 0; k < 4; k++) {
      const pair = pairCode(needle, 2 * k);
      pairs[pair] = (pairs[pair] as number) | (1 << k);
    }
    for (let k = 0; k < MIN_NEEDLE - 1; k++) {
      const pair = pairCode(needle, k);
      pairs[pair] = (pairs[pair] as number) | ANYWHERE;
    }
    const hash = hashAt(needle, 0);
    hashes[n] = hash;
    next[n] = heads[hash & mask] as number;
    heads[hash & mask] = n;
  });
  const found: Array<[number, number, T]> = [];
  const last = text.length - MIN_NEEDLE;
  // The hash at `rolled`: where needles are many, most positions pass the pair filters, and the
  // next one's hash is rolled from it instead of read again from its 8 characters.
  let rolled = -2;
  let rolling = 0;
  for (let i = 0; i <= last; i++) {
    // The pair at i + 6 sits in the first 8 characters of a needle starting anywhere from i to
    // i + 6: when it is in none, none starts there (secrets share few pairs with ordinary text).
    if (((pairs[pairCode(text, i + 6)] as number) & ANYWHERE) === 0) {
      i += MIN_NEEDLE - 2;
      continue;
    }
    if (((pairs[pairCode(text, i)] as number) & 1) === 0) continue;
    if ((((pairs[pairCode(text, i + 2)] as number) & 2) | ((pairs[pairCode(text, i + 4)] as number) & 4) | ((pairs[pairCode(text, i + 6)] as number) & 8)) !== 14) continue;
    const hash = rolled === i - 1 ? rollHash(rolling, text, i) : hashAt(text, i);
    rolled = i;
    rolling = hash;
    for (let n = heads[hash & mask] as number; n !== -1; n = next[n] as number) {
      if (hashes[n] !== hash) continue;
      const [needle, payload] = list[n] as [string, T];
      if (text.startsWith(needle, i)) {
        found.push([i, i + needle.length, payload]);
        break;
      }
    }
  }
  return found;
}

/** Bit of a pair table entry: the pair occurs at some offset below 7 in some needle. */
const ANYWHERE = 16;

/** The first two characters folded into 16 bits: a cheap filter before hashing a position. */
function pairCode(text: string, at: number): number {
  return ((text.charCodeAt(at) & 0xff) << 8) | (text.charCodeAt(at + 1) & 0xff);
}

/** 31 to the power {@link MIN_NEEDLE} − 1, modulo 2³²: the weight of a hash's first character. */
const LEADING_WEIGHT = Array.from({ length: MIN_NEEDLE - 1 }).reduce<number>((weight) => Math.imul(weight, 31), 1);

/** The hash at `at` from the hash at `at − 1`. */
function rollHash(hash: number, text: string, at: number): number {
  return (Math.imul(hash - Math.imul(text.charCodeAt(at - 1), LEADING_WEIGHT), 31) + text.charCodeAt(at + MIN_NEEDLE - 1)) | 0;
}

function hashAt(text: string, at: number): number {
  let hash = 0;
  for (let i = at; i < at + MIN_NEEDLE; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/** The same result by `indexOf`: a bounded number of walks, each at the engine's string-search speed. */
function findFew<T>(text: string, needles: ReadonlyMap<string, T>): Array<[number, number, T]> {
  if (needles.size === 1) {
    // One needle: its occurrences come in order, one per start (a flood of one secret).
    const [[needle, payload]] = [...needles] as [[string, T]];
    const found: Array<[number, number, T]> = [];
    if (needle.length < MIN_NEEDLE) return found;
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) found.push([at, at + needle.length, payload]);
    return found;
  }
  const longest = new Map<number, [number, number, T]>();
  for (const [needle, payload] of needles) {
    if (needle.length < MIN_NEEDLE) continue;
    for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) {
      const known = longest.get(at);
      if (known === undefined || known[1] - known[0] < needle.length) longest.set(at, [at, at + needle.length, payload]);
    }
  }
  return [...longest.values()].sort((a, b) => a[0] - b[0]);
}
