import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { RE2JS } from "re2js";

import { createRefusePolicy, isPolicyError, PolicyError } from "./index.js";
import { compileUserPattern } from "./user-patterns.js";

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
    ["/(\\w+)\\s\\1/", "uses a backreference"],
    ["/(?<w>a)\\k<w>/", "uses a backreference"],
    ["/(?=.*secret)/", "uses a lookahead"],
    ["/tok(?!en)/", "uses a lookahead"],
    ["/(?<=key=)[a-z]+/", "uses a lookbehind"],
    ["/(?<!x)y/", "uses a lookbehind"],
    ["/[unclosed/", "is not a valid regular expression"],
    ["/(open/", "is not a valid regular expression"],
    ["/a{1,5000}/", "is not a valid regular expression"],
    ["/x/g", 'has unsupported flags "g"'],
    ["*", "matches everything"],
    ["/a?/", "matches the empty string"],
  ])("rejects %s at load, naming it and why, with a hint", (pattern, why) => {
    const error = loadError(pattern);
    expect(error?.code).toBe("SBX_POLICY_BAD_PATTERN");
    expect(error?.message).toContain(JSON.stringify(pattern));
    expect(error?.message).toContain(why);
    expect(error?.hint).toBeTruthy();
  });

  it("hole 5: names the pattern's position in the list and hints at a rewrite RE2 can run", () => {
    let error: PolicyError | undefined;
    try {
      createRefusePolicy({ userPatterns: ["acme_*", "/(\\w+)-\\1/"] });
    } catch (caught) {
      if (isPolicyError(caught)) error = caught;
    }
    expect(error?.message).toBe(`Refuse pattern 2 (${JSON.stringify("/(\\w+)-\\1/")}) uses a backreference (\\1), which the linear-time engine (RE2) cannot run.`);
    expect(error?.hint).toMatch(/RE2/);
  });

  it.each([
    ["/^(a?){40}a{40}$/", "a".repeat(40), "a".repeat(39)],
    ["/(?:a?){60}b/", `${"a".repeat(60)}b`, "a".repeat(60)],
    ["/^(\\d?){30}\\d{30}$/", "1".repeat(30), "1".repeat(29)],
    ["/^(a?){25}a{25}$/", "a".repeat(25), "a".repeat(24)],
    ["/(a+)+$/", "xaaaa", "xaaab"],
    ["/(x+x+)+y/", "xxxy", "xxxx"],
    ["/\\w*\\w*\\w*\\w*!/", "abc!", "abc"],
  ])("hole 5: loads the once-hanging pattern %s and matches it correctly", (pattern, matching, notMatching) => {
    const policy = createRefusePolicy({ userPatterns: [`value:${pattern}`] });
    expect(policy.checkEnv({ V: matching }).refused.map((d) => d.rule)).toEqual(["user-pattern-1"]);
    expect(policy.checkEnv({ V: notMatching }).refused).toEqual([]);
  });

  it("hole 5: scans the inputs that hung the backtracking engine and finds what is there", () => {
    const policy = createRefusePolicy({ userPatterns: ["/(?:a?){60}b/", "/^(\\d?){30}\\d{30}$/m"] });
    const text = `${"a".repeat(20_000)}\n${"1".repeat(30)}\n${"a".repeat(59)}b`;
    expect(policy.scanText(text).map((f) => [f.rule, f.start, f.end])).toEqual([
      ["user-pattern-2", 20_001, 20_031],
      ["user-pattern-1", 20_032, 20_092],
    ]);
  });

  it("caps the length of a pattern", () => {
    expect(loadError(`/${"a".repeat(300)}/`)?.message).toMatch(/longer than 256 characters/);
  });

  it("loads ordinary employer patterns", () => {
    for (const pattern of ["*.acme.corp", "ACME_*", "name:CORP_*", "value:acmetok_*", "/acme-[a-z0-9]{32}/i", "/\\bcorp\\.example\\.com\\b/", "/tok_[A-Za-z0-9]+/", "/(?<org>acme)-[0-9]+/"]) {
      expect(loadError(pattern), pattern).toBeUndefined();
    }
  });

  it("matches an unbounded repeat to its end (RE2 needs no bound to stay linear)", () => {
    const policy = createRefusePolicy({ userPatterns: ["/tok_[a-z]+/"] });
    const [finding] = policy.scanText(`tok_${"a".repeat(500)} rest`);
    expect(finding?.end).toBe(4 + 500);
  });

  it("matches globs case-insensitively and regexes with their flags", () => {
    const policy = createRefusePolicy({ userPatterns: ["*.ACME.corp", "/corp-[0-9]{4}/i", "name:CORP_*"] });
    expect(policy.scanText("see https://git.acme.CORP/x and Corp-1234").map((f) => [f.rule, f.start, f.end])).toEqual([
      ["user-pattern-1", 4, 25],
      ["user-pattern-2", 32, 41],
    ]);
    expect(policy.checkEnv({ corp_token: "x", CORPX: "y" }).refused.map((d) => d.name)).toEqual(["corp_token"]);
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
        let policy: ReturnType<typeof createRefusePolicy>;
        try {
          policy = createRefusePolicy({ userPatterns: [pattern] });
        } catch (error) {
          expect(isPolicyError(error)).toBe(true);
          expect((error as PolicyError).message).toContain(JSON.stringify(pattern.length > 256 ? pattern.slice(0, 40) + "…" : pattern));
          return;
        }
        // Whatever loads scans without throwing; its spans lie inside the text.
        const text = "a".repeat(2_000) + "\n" + "ab.-_ ".repeat(300);
        for (const finding of policy.scanText(text)) {
          expect(finding.start).toBeGreaterThanOrEqual(0);
          expect(finding.end).toBeLessThanOrEqual(text.length);
          expect(finding.end).toBeGreaterThan(finding.start);
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it("finds, starting at its start literals, every match RE2 finds walking the whole text", () => {
    // The Kelvin sign and the long s fold into ASCII letters of the literals; `\b` and `^` look
    // at the character before a start.
    const bodies = ["acmetok_[a-z0-9]{2,6}", "sk[a-z]{2}", "(?:ask|key)-[0-9]+", "\\bkey[0-9]", "^ok[a-z]", "x(?:ks|sk)y"];
    const chars = fc.constantFrom("a", "s", "k", "K", "e", "y", "-", "1", "_", "x", " ", "\u212A", "\u017F", "acmetok_", "ask", "key");
    fc.assert(
      fc.property(fc.constantFrom(...bodies), fc.constantFrom("", "i"), fc.array(chars, { maxLength: 60 }), (body, flags, parts) => {
        const text = parts.join("");
        const engine = RE2JS.compile(RE2JS.translateRegExp(body), flags === "i" ? RE2JS.CASE_INSENSITIVE : 0);
        const expected: Array<[number, number]> = [];
        const matcher = engine.matcher(text);
        for (let from = 0; from <= text.length && matcher.find(from); from = matcher.end()) expected.push([matcher.start(), matcher.end()]);
        expect(compileUserPattern(`/${body}/${flags}`, "user-pattern-1").findSpans(text, () => text.toLowerCase())).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });
});

