/**
 * Unicode format characters (category Cf: zero-width joiners and non-joiners, soft hyphens,
 * BOMs, bidi marks, tags…) render as nothing, so a token with one inside looks whole to a reader
 * and to whatever they paste it into. The scanner folds them out before matching.
 *
 * The set is spelled out as ranges (Unicode 15.1 Cf; a test compares it with the runtime's
 * `\p{Cf}` over every code point) so that checking a character is one table look-up.
 */
const BMP_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x00ad, 0x00ad],
  [0x0600, 0x0605],
  [0x061c, 0x061c],
  [0x06dd, 0x06dd],
  [0x070f, 0x070f],
  [0x0890, 0x0891],
  [0x08e2, 0x08e2],
  [0x180e, 0x180e],
  [0x200b, 0x200f],
  [0x202a, 0x202e],
  [0x2060, 0x2064],
  [0x2066, 0x206f],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffb],
];
const ASTRAL_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x110bd, 0x110bd],
  [0x110cd, 0x110cd],
  [0x13430, 0x1343f],
  [0x1bca0, 0x1bca3],
  [0x1d173, 0x1d17a],
  [0xe0001, 0xe0001],
  [0xe0020, 0xe007f],
];

/** Per UTF-16 code unit: 1 = a BMP format character, 2 = a high surrogate that may start one. */
export const FORMAT_UNIT = new Uint8Array(65_536);
const ASTRAL = new Set<number>();
for (const [from, to] of BMP_RANGES) FORMAT_UNIT.fill(1, from, to + 1);
for (const [from, to] of ASTRAL_RANGES) {
  for (let code = from; code <= to; code++) {
    ASTRAL.add(code);
    FORMAT_UNIT[0xd800 + ((code - 0x10000) >> 10)] = 2;
  }
}

/** Code units the format character at `at` spans (1 or 2), or 0 when none starts there. */
export function formatCharacterAt(text: string, at: number): number {
  const code = text.charCodeAt(at);
  const kind = FORMAT_UNIT[code] as number;
  if (kind === 0) return 0;
  if (kind === 1) return 1;
  return ASTRAL.has(text.codePointAt(at) as number) ? 2 : 0;
}

/** `text` without its format characters, and for each kept code unit its offset in `text`. */
export function foldFormatCharacters(text: string): { folded: string; kept: Int32Array } {
  const units = new Uint16Array(text.length);
  const kept = new Int32Array(text.length + 1);
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (FORMAT_UNIT[code] !== 0) {
      const skip = formatCharacterAt(text, i);
      if (skip > 0) {
        i += skip - 1;
        continue;
      }
    }
    units[length] = code;
    kept[length++] = i;
  }
  kept[length] = text.length;
  return { folded: decodeUnits(units, length), kept: kept.subarray(0, length + 1) };
}

const CHUNK = 8192;

function decodeUnits(units: Uint16Array, length: number): string {
  const parts: string[] = [];
  for (let at = 0; at < length; at += CHUNK) parts.push(String.fromCharCode.apply(null, units.subarray(at, Math.min(length, at + CHUNK)) as unknown as number[]));
  return parts.join("");
}
