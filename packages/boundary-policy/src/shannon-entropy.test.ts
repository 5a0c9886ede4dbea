import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { shannonEntropy } from "./shannon-entropy.js";

/** The plain definition: −Σ p·log₂ p over the characters (code points) of `text`. */
function plain(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let bits = 0;
  for (const count of counts.values()) bits -= (count / text.length) * Math.log2(count / text.length);
  return bits;
}

describe("shannonEntropy", () => {
  it("is the plain definition's value, for ASCII and other text, counts past the table's included", () => {
    const unit = fc.oneof(fc.constantFrom("a", "b", "c", "Z", "0", "+"), fc.string({ minLength: 1, maxLength: 1 }), fc.constantFrom("é", "\u{1F511}"));
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 80 }), fc.nat(600), (parts, repeat) => {
        const text = parts.join("") + "q".repeat(repeat);
        expect(Math.abs(shannonEntropy(text) - plain(text))).toBeLessThan(1e-9);
      }),
      { numRuns: 2000 },
    );
  });

  it("gives a whole value exactly, as a threshold compares it", () => {
    // 8 characters 3 times each in 24 (3 bits), 16 twice each in 48 (4 bits), and one character.
    expect(shannonEntropy("abcdefgh".repeat(3))).toBe(3);
    expect(shannonEntropy("abcdefghijklmnop".repeat(3))).toBe(4);
    expect(shannonEntropy("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345".repeat(5))).toBe(5);
    expect(shannonEntropy("xxxxxxxx")).toBe(0);
    expect(shannonEntropy("")).toBe(0);
  });
});
