import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { findOccurrences } from "./find-occurrences.js";

/** Every start where a needle occurs, the longest needle there: the plain definition. */
function naive(text: string, needles: ReadonlyMap<string, number>): Array<[number, number, number]> {
  const found: Array<[number, number, number]> = [];
  for (let at = 0; at < text.length; at++) {
    let best: [number, number, number] | undefined;
    for (const [needle, payload] of needles) {
      if (needle.length >= 8 && text.startsWith(needle, at) && (best === undefined || needle.length > best[1] - at)) best = [at, at + needle.length, payload];
    }
    if (best !== undefined) found.push(best);
  }
  return found;
}

describe("findOccurrences", () => {
  it("finds every occurrence of many needles, the longest at each start, as the plain search does", () => {
    // Few characters, so needles share prefixes and pairs, and occur often.
    const piece = fc.constantFrom("a", "b", "ab", "ba", "\u0161", "\u0261", "xyz");
    const needle = fc.array(piece, { minLength: 4, maxLength: 10 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.array(needle, { minLength: 1, maxLength: 20 }), fc.array(piece, { maxLength: 300 }), (list, parts) => {
        const needles = new Map(list.map((text, n) => [text, n] as const));
        const text = parts.join("") + list.join("");
        expect(findOccurrences(text, needles)).toEqual(naive(text, needles));
      }),
      { numRuns: 500 },
    );
  });

  it("skips text that shares no pair with the needles without stepping over one that starts there", () => {
    // More needles than indexOf walks serve; filler they hold nothing of, so the pass skips 7 positions at a time, with needles
    // and their pieces spliced in at every offset from a skip's start.
    const filler = fc.string({ unit: fc.constantFrom("q", "r", "s", " ", "\n"), maxLength: 20 });
    const needle = fc.string({ unit: fc.constantFrom("a", "b", "c", "d", "e"), minLength: 8, maxLength: 12 });
    fc.assert(
      fc.property(fc.array(needle, { minLength: 9, maxLength: 16 }), fc.array(fc.tuple(filler, fc.nat(11), fc.nat(2)), { maxLength: 30 }), (list, pieces) => {
        const needles = new Map(list.map((text, n) => [text, n] as const));
        const text = pieces.map(([before, pick, cut]) => before + (list[pick % list.length] as string).slice(cut)).join("");
        expect(findOccurrences(text, needles)).toEqual(naive(text, needles));
      }),
      { numRuns: 500 },
    );
  });

  it("finds long needles, sampled, at every start and offset, the longest at each start, as the plain search does", () => {
    // Needles of 24 characters and more are looked for at every 17th position only. Needles cut
    // from a few stems over two letters: prefixes of one another (several at one start), periodic
    // (one needle's windows alike at many offsets), long and short at the same starts; the text
    // holds the stems at every offset from a sample.
    const piece = fc.constantFrom("a", "b", "ab", "aab", "\u0161");
    const stem = fc.array(piece, { minLength: 16, maxLength: 50 }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(fc.array(fc.tuple(stem, fc.array(fc.nat(80), { minLength: 1, maxLength: 6 })), { minLength: 1, maxLength: 5 }), fc.array(fc.tuple(fc.array(piece, { maxLength: 20 }), fc.nat(4)), { maxLength: 12 }), (stems, pieces) => {
        const list = stems.flatMap(([text, cuts]) => [text, ...cuts.map((cut) => text.slice(0, 8 + cut))]);
        const needles = new Map(list.map((text, n) => [text, n] as const));
        const text = pieces.map(([before, pick]) => before.join("") + (stems[pick % stems.length] as [string, number[]])[0]).join("");
        expect(findOccurrences(text, needles)).toEqual(naive(text, needles));
      }),
      { numRuns: 1000 },
    );
  });
});
