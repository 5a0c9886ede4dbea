import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { createRefusePolicy } from "./index.js";
import { foldFormatCharacters, formatCharacterAt } from "./format-characters.js";
import { atomicRuns, deriveAnchors } from "./rule-anchors.js";
import { findSecrets, FORMAT_CHARACTERS_EXACT, matchRule, scanEngine, type ScanStats } from "./scan-text.js";
import { loadSecretCorpus, loadVendorCorpus } from "./test-support/secret-corpus.js";
import { TOKEN_RULES } from "./token-rules.js";

const corpus = [...loadSecretCorpus(), ...loadVendorCorpus()];
const corpusTexts = corpus.map((c) => c.text);
const show = (text: string, strategy: "auto" | "whole"): string[] => findSecrets(text, [], undefined, strategy).map((f) => `${f.rule}@${f.start}-${f.end}`);

/** Every rule's keywords and the literals its matches start with, in both cases. */
const LITERALS = TOKEN_RULES.flatMap((rule) => [...rule.keywords, ...(deriveAnchors(rule.pattern)?.prefixes ?? [])]).flatMap((literal) => [literal, literal.toUpperCase()]);

describe("the anchored scan (one literal pass, rules run where their literals start)", () => {
  it("finds exactly what every rule's regex over the whole text finds, on each corpus case", () => {
    const differ = corpusTexts.filter((text) => JSON.stringify(show(text, "auto")) !== JSON.stringify(show(text, "whole")));
    expect(differ).toEqual([]);
  }, 60_000);

  it("finds exactly what the whole-text scan finds, on random mixes of corpus secrets, rule literals and token characters", () => {
    const piece = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...corpusTexts) },
      { weight: 4, arbitrary: fc.constantFrom(...LITERALS) },
      { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom(..."aAbZ09_-+/=.:\"' \n\t~$@"), maxLength: 50 }) },
      { weight: 1, arbitrary: fc.constantFrom("\u200D", "\u00AD", "\uFEFF", "[REDACTED:x]", "-----BEGIN PRIVATE KEY-----\n", "-----END PRIVATE KEY-----") },
      { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), (parts) => {
        const text = parts.join("");
        expect(show(text, "auto")).toEqual(show(text, "whole"));
      }),
      { numRuns: 600 },
    );
  }, 60_000);

  it("finds exactly what the whole-text scan finds around redaction markers, whose rule names hold keywords and literals", () => {
    const markers = [...TOKEN_RULES.map((rule) => `[REDACTED:${rule.id}]`), "[REDACTED:]", "[REDACTED:AWS]", "[REDACTED:aws-access-token", "[[REDACTED:x]]"];
    const piece = fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...markers) },
      { weight: 2, arbitrary: fc.constantFrom(...corpusTexts) },
      { weight: 2, arbitrary: fc.constantFrom(...LITERALS) },
      { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(..."aAbZ09_-+/=.:\"' \n[]"), maxLength: 30 }) },
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), (parts) => {
        const text = parts.join("");
        expect(show(text, "auto")).toEqual(show(text, "whole"));
      }),
      { numRuns: 400 },
    );
  }, 60_000);

  it("runs no rule at all on 100 KB of near misses ('ghp_', 'sk-', 'xoxb-'… without bodies)", () => {
    for (const unit of ["ghp_", "sk-", "xoxb-", "hf_", "s."]) {
      const text = unit.repeat(100_000 / unit.length);
      const stats: ScanStats = { scans: 0, markerChecks: 0, rewrites: 0, ruleRuns: 0 };
      expect(findSecrets(text, [], stats)).toEqual([]);
      // A literal whose next characters cannot start the rule's body is refused by a table
      // look-up; without that, every one of the 25 000-50 000 occurrences ran the pattern.
      expect(stats.ruleRuns, unit).toBe(0);
    }
  });
});

describe("start literals derived from a rule's pattern", () => {
  it("hold for every match of every rule on the corpora: it starts with one, and what follows fits", () => {
    const wrong: string[] = [];
    for (const rule of TOKEN_RULES) {
      const anchors = deriveAnchors(rule.pattern);
      if (anchors === undefined) continue;
      for (const text of corpusTexts) {
        rule.pattern.lastIndex = 0;
        for (const match of text.matchAll(rule.pattern)) {
          const at = match.index;
          const found = anchors.prefixes.findIndex((prefix) => (anchors.ignoreCase ? text.slice(at, at + prefix.length).toLowerCase() === prefix : text.startsWith(prefix, at)));
          if (found === -1) {
            wrong.push(`${rule.id}: ${match[0].slice(0, 40)}`);
            continue;
          }
          const follow = anchors.follows[found];
          const after = text.slice(at + (anchors.prefixes[found] as string).length).slice(0, follow?.min ?? 0);
          if (follow && (after.length < follow.min || [...after].some((char) => char.charCodeAt(0) >= 128 || follow.table[char.charCodeAt(0)] !== 1))) wrong.push(`${rule.id} follow: ${match[0].slice(0, 40)}`);
          const before = text.charCodeAt(at - 1);
          if (anchors.refusedBefore && at > 0 && before < 128 && anchors.refusedBefore[before] === 1) wrong.push(`${rule.id} before: ${match[0].slice(0, 40)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it.each([
    [/ghp_[0-9A-Za-z]{36}/g, ["ghp_"]],
    [/(?<![A-Za-z0-9])((?:A3T[A-Z0-9]|AKIA|ASIA)[A-Z0-9]{16})/g, ["A3T", "AKIA", "ASIA"]],
    [/gh[us]_[0-9]{4}/g, ["ghu_", "ghs_"]],
    [/aws_?(?:secret)?=/gi, ["aws_secret=", "aws_=", "awssecret=", "aws="]],
    [/(?:Okta|OKTA)x/g, ["Oktax", "OKTAx"]],
    [/x?abc/g, ["xabc", "abc"]],
    [/x?a[0-9]/g, undefined], // may start with `a`: shorter than a literal the pass looks for
    [/[A-Za-z]{3}:AA/g, undefined],
    [/\d{5}:AA/g, undefined],
    [/.ab/g, undefined],
    [/ab\zc/g, undefined], // a letter escape other dialects give a meaning
    [/(a)\1bc/g, undefined],
    // Seventeen literals, nine with an optional `.exe`: found at the names, none cut to fit sixteen.
    [/(?:bcp|osql|sqlcmd|psexec|paexec|htpasswd|smbclient|ldapsearch|rabbitmqctl)(?:\.exe)?[ \t]{1,3}-p/g, ["bcp", "osql", "sqlcmd", "psexec", "paexec", "htpasswd", "smbclient", "ldapsearch", "rabbitmqctl"]],
  ])("%s starts with %j", (pattern, prefixes) => {
    expect(deriveAnchors(pattern)?.prefixes).toEqual(prefixes);
  });
});

describe("format characters", () => {
  it("are exactly Unicode category Cf, for every code point", () => {
    const wrong: string[] = [];
    for (let code = 0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCodePoint(code);
      if (FORMAT_CHARACTERS_EXACT.test(char) !== formatCharacterAt(char, 0) > 0) wrong.push(code.toString(16));
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it("fold out as the Unicode regex does, keeping each kept unit's offset", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom("\u200D", "\u00AD", "\uFEFF", "\u{E0041}", "\u{1D173}", "\u{1D11E}", "\uD834", "ab", "é"), fc.string({ maxLength: 5 }))), (parts) => {
        const text = parts.join("");
        const { folded, kept } = foldFormatCharacters(text);
        expect(folded).toBe(text.replace(/\p{Cf}/gu, ""));
        for (let i = 0; i < folded.length; i++) expect(text[kept[i] as number]).toBe(folded[i]);
      }),
      { numRuns: 300 },
    );
  });
});

describe("user pattern prefilters", () => {
  it("do not hide what RE2 matches under case folding (Kelvin sign, long s)", () => {
    const policy = createRefusePolicy({ userPatterns: ["/acmetok_[a-z0-9]{8}/i", "/sbxkey_[0-9]{4}/i"] });
    expect(policy.scanText("x ACMETO\u212A_abcd1234 y").map((f) => f.rule)).toEqual(["user-pattern-1"]);
    expect(policy.scanText("x \u017FBXKEY_1234 y").map((f) => f.rule)).toEqual(["user-pattern-2"]);
    expect(policy.scanText("x acmetok_abcd1234 SBXKEY_1234")).toHaveLength(2);
    expect(policy.scanText("nothing here")).toEqual([]);
  });

  it("find a glob's literal in any ASCII case, and where lower-casing makes it (U+212A)", () => {
    const policy = createRefusePolicy({ userPatterns: ["*.acme.corp"] });
    expect(policy.scanText("host db.ACME.Corp and x.acme.corp").map((f) => [f.start, f.end])).toEqual([
      [5, 17],
      [22, 33],
    ]);
    // The Kelvin sign lower-cases to `k`: such a text goes the lower-casing way, as before.
    expect(createRefusePolicy({ userPatterns: ["*.key.corp"] }).scanText("a.\u212Aey.corp")).toHaveLength(1);
  });
});

describe("matchRule (one rule alone, for rule tests)", () => {
  it("agrees with the full scan on the rule's own corpus positives", () => {
    for (const rule of TOKEN_RULES.slice(0, 40)) {
      for (const testCase of corpus.filter((c) => c.family === rule.family && c.expect === "match").slice(0, 3)) {
        const alone = matchRule(rule, testCase.text).map((f) => `${f.start}-${f.end}`);
        const all = findSecrets(testCase.text, []).filter((f) => f.rule === rule.id).map((f) => `${f.start}-${f.end}`);
        for (const span of all) expect(alone).toContain(span);
      }
    }
  });
});

describe("atomic runs (a capture's class run that a lookahead closes, made atomic)", () => {
  const spans = (pattern: RegExp, text: string): string[] => [...text.matchAll(pattern)].map((m) => `${m.index}:${m[0]}:${(m.indices ?? []).map((g) => (g ? g.join("-") : "")).join(",")}`);

  it.each([
    [/k=([a-z0-9=]{2,12})(?=[\s,;]|$)/gd, true],
    [/(?:"([^"]{2,9})"|([A-Za-z=]{3,12})(?![A-Za-z=]))/gd, true],
    [/k([a-z]{2,5})(?=[a-z0-9])/gd, false], // the lookahead wants a character of the run: backtracking can help
    [/k([a-z]{2,5})(?![a-c])/gd, false], // the negative lookahead refuses only part of the run
  ])("%s is rewritten: %s, and matches the same on random text either way", (pattern, rewritten) => {
    const atomic = atomicRuns(pattern);
    expect(atomic !== pattern).toBe(rewritten);
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."k=abcAZ09 ,;\"x"), maxLength: 60 }), (text) => {
        expect(spans(atomic, text)).toEqual(spans(pattern, text));
      }),
      { numRuns: 500 },
    );
  });

  it("keeps every built-in rule's matches on the corpora", () => {
    for (const rule of TOKEN_RULES) {
      const atomic = atomicRuns(rule.pattern);
      if (atomic === rule.pattern) continue;
      for (const text of corpusTexts) expect(spans(atomic, text), rule.id).toEqual(spans(rule.pattern, text));
    }
  });
});

describe("where each rule runs (session 14)", () => {
  it("runs every rule at its start literals or in windows at its keywords, but for the few whose tokens start with no literal", () => {
    // A rule with neither (its start literals underivable, more than 16 of them) runs over every text
    // holding one of its keywords: the first printed-secret rule did so over every text with `echo`.
    const wholeText = scanEngine()
      .rules.filter((compiled) => compiled.sticky === undefined && compiled.rule.window === undefined)
      .map((compiled) => compiled.rule.id);
    expect(wholeText).toEqual(["azure-ad-client-secret", "discord-bot-token", "telegram-bot-token", "jenkins-credential-secret", "facebook-app-access-token"]);
  });
});
