import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderClaudeSession, renderCodexSession, renderGeminiSession } from "./render-session.js";
import { fixtureNames, readFixture } from "./test-support/fixtures.js";

const fixtures = fixtureNames().map((name) => readFixture(name).split("\n"));
const renderers = [renderClaudeSession, renderCodexSession, renderGeminiSession];

// Damaged session files: lines cut short, reordered, with bytes flipped, from real fixtures.
const damagedSession = fc
  .record({
    fixture: fc.nat({ max: fixtures.length - 1 }),
    start: fc.nat(),
    count: fc.integer({ min: 1, max: 40 }),
    shuffle: fc.boolean(),
    seed: fc.nat(),
    cuts: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom("truncate", "flip", "drop-brace", "duplicate")), { maxLength: 8 }),
  })
  .map(({ fixture, start, count, shuffle, seed, cuts }) => {
    const all = fixtures[fixture] as string[];
    const from = start % Math.max(1, all.length);
    let lines = all.slice(from, from + count);
    if (shuffle) lines = lines.map((line, index) => ({ line, key: (index * 7919 + seed) % 104729 })).sort((a, b) => a.key - b.key).map(({ line }) => line);
    for (const [which, where, how] of cuts) {
      if (lines.length === 0) break;
      const index = which % lines.length;
      const line = lines[index] as string;
      const at = line.length ? where % line.length : 0;
      if (how === "truncate") lines[index] = line.slice(0, at);
      else if (how === "flip") lines[index] = line.slice(0, at) + String.fromCharCode((line.charCodeAt(at) ^ 0x20) || 65) + line.slice(at + 1);
      else if (how === "drop-brace") lines[index] = line.replace(/[}\]]/, "");
      else lines.splice(index, 0, line);
    }
    return lines.join("\n");
  });

describe("renderers on damaged input", () => {
  it("never throw and finish quickly on truncated, shuffled and mutated real sessions", () => {
    fc.assert(
      fc.property(damagedSession, fc.nat({ max: renderers.length - 1 }), (text, which) => {
        const started = performance.now();
        const note = (renderers[which] as (text: string) => string)(text);
        expect(note.startsWith("---\n")).toBe(true);
        expect(performance.now() - started).toBeLessThan(2000);
      }),
      { numRuns: 300, seed: 20250101 },
    );
  });

  it("never throw on arbitrary JSON values as lines", () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 20 }), (values) => {
        const text = values.map((value) => JSON.stringify(value)).join("\n");
        for (const render of renderers) expect(typeof render(text)).toBe("string");
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
