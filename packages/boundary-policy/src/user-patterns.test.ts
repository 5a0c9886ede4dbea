import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { createRefusePolicy, isPolicyError, PolicyError } from "./index.js";

function loadError(pattern: string): PolicyError | undefined {
  try {
    createRefusePolicy({ userPatterns: [pattern] });
    return undefined;
  } catch (error) {
    if (!isPolicyError(error)) throw error;
    return error;
  }
}

describe("user refuse patterns", () => {
  it.each([
    ["/(a+)+$/", "nests a repeat inside a repeat"],
    ["/(a|aa)*b/", "repeats a group of alternatives"],
    ["/(x+x+)+y/", "nests a repeat inside a repeat"],
    ["/(\\w+)\\s\\1/", "uses a backreference"],
    ["/(?<w>a)\\k<w>/", "uses a backreference"],
    ["/(?=.*secret)/", "repeats inside a lookaround"],
    ["/[unclosed/", "has an unclosed character class"],
    ["/(open/", "has an unclosed group"],
    ["/a{1,5000}/", "repeats more than 1024 times"],
    ["/x/g", 'has unsupported flags "g"'],
    ["a*b*c*d*", "has more than 3 wildcards"],
    ["*", "matches everything"],
    ["/a?/", "matches the empty string"],
    ["/\\w*\\w*\\w*\\w*\\w*!/", "has more than 4 variable repeats"],
  ])("rejects %s at load, naming it", (pattern, why) => {
    const error = loadError(pattern);
    expect(error?.code).toBe("SBX_POLICY_BAD_PATTERN");
    expect(error?.message).toContain(JSON.stringify(pattern));
    expect(error?.message).toContain(why);
  });

  it("rejects a pattern that scans slowly even though its shape passes the static check", () => {
    const error = loadError("/\\w*\\w*\\w*\\w*!/");
    expect(error?.code).toBe("SBX_POLICY_SLOW_PATTERN");
    expect(error?.message).toContain("\\\\w*\\\\w*");
  });

  it("caps the length of a pattern", () => {
    expect(loadError(`/${"a".repeat(300)}/`)?.message).toMatch(/longer than 256 characters/);
  });

  it("loads ordinary employer patterns", () => {
    for (const pattern of ["*.acme.corp", "ACME_*", "name:CORP_*", "value:acmetok_*", "/acme-[a-z0-9]{32}/i", "/\\bcorp\\.example\\.com\\b/", "/tok_[A-Za-z0-9]+/"]) {
      expect(loadError(pattern), pattern).toBeUndefined();
    }
  });

  it("bounds unbounded repeats instead of letting them run to the end of the text", () => {
    const policy = createRefusePolicy({ userPatterns: ["/tok_[a-z]+/"] });
    const [finding] = policy.scanText(`tok_${"a".repeat(500)}`);
    // `+` becomes {1,129}: the span stops there instead of at the end of the 500-letter run.
    expect(finding?.end).toBe(4 + 129);
  });

  it("either loads or fails with an error naming the pattern, for random patterns", () => {
    const atoms = fc.constantFrom("a", "b", ".", "\\w", "\\d", "\\s", "[a-z]", "[^x]", "(", ")", "(?:", "|", "*", "+", "?", "{2}", "{1,3}", "{2,}", "\\1", "(?=", "(?!", "^", "$", "-", "_", "\\");
    const patterns = fc.oneof(
      fc.array(atoms, { minLength: 1, maxLength: 14 }).map((parts) => `/${parts.join("")}/`),
      fc.string({ minLength: 1, maxLength: 30 }),
      fc.array(fc.constantFrom("*", "?", "a", ".", "corp", "-", "_"), { minLength: 1, maxLength: 8 }).map((parts) => parts.join("")),
    );
    fc.assert(
      fc.property(patterns, (pattern) => {
        const started = performance.now();
        let policy: ReturnType<typeof createRefusePolicy>;
        try {
          policy = createRefusePolicy({ userPatterns: [pattern] });
        } catch (error) {
          expect(isPolicyError(error)).toBe(true);
          expect((error as PolicyError).message).toContain(JSON.stringify(pattern.length > 256 ? pattern.slice(0, 40) + "…" : pattern));
          return;
        }
        // What loads must scan adversarial text quickly.
        const scanStarted = performance.now();
        policy.scanText("a".repeat(20_000) + "\n" + "ab.-_ ".repeat(3_000));
        expect(performance.now() - scanStarted).toBeLessThan(100);
        expect(performance.now() - started).toBeLessThan(2_000);
      }),
      { numRuns: 300 },
    );
  });
});
