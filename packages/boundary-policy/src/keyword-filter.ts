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

export function keywordFilter(text: string): KeywordFilter {
  const pairs = new Uint8Array(1 << 9); // 12-bit pair codes
  const triples = new Uint8Array(1 << 15); // 18-bit triple codes
  let code = 0;
  for (let i = 0; i < text.length; i++) {
    code = ((code << 6) | (FOLD[text.charCodeAt(i)] as number)) & 0x3ffff;
    const pair = code & 0xfff;
    pairs[pair >>> 3] = (pairs[pair >>> 3] as number) | (1 << (pair & 7));
    triples[code >>> 3] = (triples[code >>> 3] as number) | (1 << (code & 7));
  }
  return {
    mayContain(keyword) {
      if (keyword.length < 3) {
        const pair = ((FOLD[keyword.charCodeAt(0)] as number) << 6) | (FOLD[keyword.charCodeAt(1)] as number);
        return ((pairs[pair >>> 3] as number) & (1 << (pair & 7))) !== 0;
      }
      for (let i = 0; i + 3 <= keyword.length; i++) {
        const triple = ((FOLD[keyword.charCodeAt(i)] as number) << 12) | ((FOLD[keyword.charCodeAt(i + 1)] as number) << 6) | (FOLD[keyword.charCodeAt(i + 2)] as number);
        if (((triples[triple >>> 3] as number) & (1 << (triple & 7))) === 0) return false;
      }
      return true;
    },
  };
}
