/**
 * A one-pass prefilter: which 2- and 3-character sequences (ASCII case folded, other characters
 * lumped together) occur in a text. A keyword can occur only if all of its sequences do, so a rule
 * whose keywords cannot occur is skipped without a pass of its own over the text. Costs one loop
 * over the text with two table writes per character, instead of one `includes` per keyword.
 */
const FOLD = new Uint8Array(65_536);
{
  let next = 1;
  for (const char of "abcdefghijklmnopqrstuvwxyz") {
    FOLD[char.charCodeAt(0)] = next;
    FOLD[char.toUpperCase().charCodeAt(0)] = next++;
  }
  for (const char of "0123456789_-./+=: @'\"\n") FOLD[char.charCodeAt(0)] = next++;
}

export interface KeywordFilter {
  mayContain(keyword: string): boolean;
}

/** Texts at least this long also record 4-character sequences (3-character ones saturate). */
const QUAD_THRESHOLD = 64 * 1024;
// 24-bit quad codes; reused and cleared per large text (a 2 MB memset costs far less than a
// rule's pass over a large text that a saturated triple table would let through).
let quads: Uint8Array | undefined;

export function keywordFilter(text: string): KeywordFilter {
  const pairs = new Uint8Array(1 << 9); // 12-bit pair codes
  const triples = new Uint8Array(1 << 15); // 18-bit triple codes
  const large = text.length >= QUAD_THRESHOLD;
  if (large) {
    quads ??= new Uint8Array(1 << 21);
    quads.fill(0);
  }
  const quadTable = large ? (quads as Uint8Array) : undefined;
  let code = 0;
  for (let i = 0; i < text.length; i++) {
    code = ((code << 6) | (FOLD[text.charCodeAt(i)] as number)) & 0xffffff;
    const pair = code & 0xfff;
    const triple = code & 0x3ffff;
    pairs[pair >>> 3] = (pairs[pair >>> 3] as number) | (1 << (pair & 7));
    triples[triple >>> 3] = (triples[triple >>> 3] as number) | (1 << (triple & 7));
    if (quadTable) quadTable[code >>> 3] = (quadTable[code >>> 3] as number) | (1 << (code & 7));
  }
  const at = (keyword: string, i: number): number => FOLD[keyword.charCodeAt(i)] as number;
  return {
    mayContain(keyword) {
      if (keyword.length < 3) {
        const pair = (at(keyword, 0) << 6) | at(keyword, 1);
        return ((pairs[pair >>> 3] as number) & (1 << (pair & 7))) !== 0;
      }
      for (let i = 0; i + 3 <= keyword.length; i++) {
        const triple = (at(keyword, i) << 12) | (at(keyword, i + 1) << 6) | at(keyword, i + 2);
        if (((triples[triple >>> 3] as number) & (1 << (triple & 7))) === 0) return false;
      }
      if (quadTable) {
        for (let i = 0; i + 4 <= keyword.length; i++) {
          const quad = (at(keyword, i) << 18) | (at(keyword, i + 1) << 12) | (at(keyword, i + 2) << 6) | at(keyword, i + 3);
          if (((quadTable[quad >>> 3] as number) & (1 << (quad & 7))) === 0) return false;
        }
      }
      return true;
    },
  };
}
