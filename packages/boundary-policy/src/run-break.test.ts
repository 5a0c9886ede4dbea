import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { deriveRunBreak, type RunBreak } from "./rule-anchors.js";
import { engineForm } from "./rule-engine-form.js";
import { findSecrets, type ScanStats } from "./scan-text.js";
import { TOKEN_RULES, type TokenRule } from "./token-rules.js";

const rule = (id: string): TokenRule => TOKEN_RULES.find((candidate) => candidate.id === id) as TokenRule;
const charsOf = (table: Uint8Array): string => String.fromCharCode(...[...table.keys()].filter((code) => table[code] === 1));
const show = (text: string, strategy: "auto" | "whole"): string[] => findSecrets(text, [], undefined, strategy).map((f) => `${f.rule}@${f.start}-${f.end}`);

/** The scanner's test: `within + 1` table characters from `at` on rule the start out. */
function ruledOut(text: string, at: number, { table, within }: RunBreak): boolean {
  if (at + within >= text.length) return false;
  for (let i = at; i <= at + within; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || table[code] === 0) return false;
  }
  return true;
}

const withBreaks = TOKEN_RULES.flatMap((candidate) => {
  const { global, runBreak } = engineForm(candidate);
  return runBreak === undefined ? [] : [{ rule: candidate, global, runBreak }];
});

describe("run breaks (starts a long run of one class rules out)", () => {
  it("bound the keyword rule's attempts by its head and 200-character value: 351 value characters rule a start out (a `base64:` prefix on a bare value; up to 30 spaces before and after its `===`, an index `[1234]` and a type `: Optional[str]` after its name, an `@` and up to three backslashes before its quote)", () => {
    const runBreak = engineForm(rule("keyword-secret")).runBreak as RunBreak;
    expect(runBreak.within).toBe(350);
    // Its windows are scanned start by start only while its start literals are few enough to be
    // searched for: sixty provider names before `key` (a flood of `password=` then took 10x longer).
    expect(engineForm(rule("keyword-secret")).windowStarts?.prefixes).toContain("key");
    // The bare value's class: letters, digits, `=`; not the quotes, spaces or `,;)}]` that end a value.
    expect(charsOf(runBreak.table)).toContain("=");
    expect(charsOf(runBreak.table)).toMatch(/^[^"' \t,;)}\]]+$/);
  });

  it("are proven for patterns, not guessed: none for an unbounded run or a run with no character outside its class", () => {
    expect(deriveRunBreak(/key[a-z0-9]+(?![a-z])/g)).toBeUndefined();
    expect(deriveRunBreak(/key([a-z0-9]{8,64})/g)).toBeUndefined();
    expect(deriveRunBreak(/key([a-z0-9]{8,64})(?=[\s,]|$)/g)?.within).toBe(3 + 64);
    // The `=` is outside the run's class: it rules out every start with four class characters.
    expect(deriveRunBreak(/key=([a-z0-9]{8,64})/g)?.within).toBe(3);
  });

  it("never rule out a start where the rule's own pattern matches", () => {
    expect(withBreaks.length).toBeGreaterThan(20);
    for (const { rule: subject, global, runBreak } of withBreaks) {
      const sticky = new RegExp(global.source, global.flags.replace("g", "") + "y");
      const tableChars = charsOf(runBreak.table);
      const piece = fc.oneof(
        fc.constantFrom(...subject.keywords, ...subject.keywords.map((keyword) => keyword.toUpperCase())),
        fc.string({ unit: fc.constantFrom(...tableChars), minLength: 1, maxLength: runBreak.within + 30 }),
        fc.constantFrom(" ", "=", ":", '"', "'", "\n", ",", "-", "_", ".", "[REDACTED:x]"),
      );
      fc.assert(
        fc.property(fc.array(piece, { maxLength: 8 }), (parts) => {
          const text = parts.join("");
          for (let at = 0; at < text.length; at++) {
            if (!ruledOut(text, at, runBreak)) continue;
            sticky.lastIndex = at;
            expect(sticky.exec(text), `${subject.id} at ${at}`).toBeNull();
          }
        }),
        { numRuns: 25 },
      );
    }
  }, 60_000);

  it("leave the findings of keyword floods as the whole-text scan has them, a real secret inside included", () => {
    const fill = (unit: string, size: number): string => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
    const secret = 'password = "Zq8vN2kLp4Rt7wXy" ';
    const units = ["password=", 'password = "hunter2x" ', "token: ", "api_key=abcd1234 ", "secret_key=", "auth", "npm_token=", "jira_token=", "atlassian"];
    for (const unit of units) {
      for (const text of [fill(unit, 4_000), fill(unit, 2_000) + secret + fill(unit, 2_000), fill(unit, 3_000) + " " + secret]) {
        expect(show(text, "auto"), unit).toEqual(show(text, "whole"));
      }
    }
  });

  it("make a keyword flood cost regex attempts near its end only, whatever its length", () => {
    const attempts = [10_000, 100_000].map((size) => {
      const stats: ScanStats = { scans: 0, markerChecks: 0, rewrites: 0, ruleRuns: 0 };
      findSecrets("password=".repeat(size / 10), [], stats);
      return stats.ruleRuns as number;
    });
    // One attempt per `password` otherwise: 1 000 and 10 000.
    expect(attempts[1]).toBe(attempts[0]);
    expect(attempts[1]).toBeLessThan(200);
  });
});
