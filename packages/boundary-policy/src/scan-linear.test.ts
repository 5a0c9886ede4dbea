import { describe, expect, it } from "vitest";

import { createRefusePolicy } from "./index.js";
import { matchReach } from "./match-reach.js";
import { buildRegionCheck, redactText } from "./redact-text.js";
import { findSecrets, FORMAT_CHARACTER, FORMAT_CHARACTERS_EXACT, type ScanStats } from "./scan-text.js";
import { TOKEN_RULES } from "./token-rules.js";
import { loadSecretCorpus, loadVendorCorpus } from "./test-support/secret-corpus.js";
import { compileUserPatterns } from "./user-patterns.js";

const GITHUB_PAT = "ghp_" + "R8q2Lx7mN4vB1cZ9kT3wY6pH0sD5fJ2gA8eU";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** `count` distinct, real-shaped AWS access key ids. */
function awsKeyIds(count: number): string[] {
  return Array.from({ length: count }, (_, n) => {
    let body = "";
    for (let i = 0, x = n * 2654435761 + 12345; i < 16; i++, x = Math.floor(x / 7) + i * 31) body += ALPHABET[x % 32];
    return `AKIA${body}`;
  });
}

function markerSoup(count: number): { text: string; keys: string[] } {
  const keys = awsKeyIds(count);
  return { text: keys.map((key) => `[REDACTED:github-pat] id=${key}\n`).join(""), keys };
}

const newStats = (): ScanStats => ({ scans: 0, markerChecks: 0, rewrites: 0 });

describe("linear time", () => {
  it("scans and redacts 30 000 markers and 30 000 distinct AWS key ids, leaving every marker and no key", () => {
    const { text } = markerSoup(30_000);
    const policy = createRefusePolicy();
    expect(policy.scanText(text)).toHaveLength(30_000);
    const redacted = policy.redact(text);
    expect(redacted).toBe("[REDACTED:github-pat] id=[REDACTED:aws-access-token]\n".repeat(30_000));
    expect(redacted).not.toMatch(/AKIA[A-Z2-7]{16}/);
  });

  it("does work proportional to the text, not to the number of secrets in it", () => {
    const counts = [5_000, 10_000, 20_000].map((count) => {
      const { text } = markerSoup(count);
      const scan = newStats();
      findSecrets(text, [], scan);
      const redact = newStats();
      redactText(text, [], redact);
      return { count, scan, redact };
    });
    for (const { count, scan, redact } of counts) {
      expect(scan.scans).toBe(1);
      // Each finding is compared with the markers around it, not with every marker.
      expect(scan.markerChecks).toBeLessThanOrEqual(4 * count);
      // One scan, one rewrite, and at most one scan to confirm: not one pass per distinct secret.
      expect(redact.scans).toBeLessThanOrEqual(2);
      expect(redact.rewrites).toBe(1);
    }
    const [small, , large] = counts as [(typeof counts)[0], (typeof counts)[0], (typeof counts)[0]];
    expect(large.scan.markerChecks / small.scan.markerChecks).toBeLessThanOrEqual(4.4);
  });
});

describe("redact's confirming scan", () => {
  const costOf = (text: string): { scans: number; ruleChecks: number } => {
    const stats: ScanStats = { ...newStats(), ruleChecks: 0 };
    redactText(text, [], stats);
    return { scans: stats.scans, ruleChecks: stats.ruleChecks ?? 0 };
  };
  const after = `\n${"-".repeat(300)}`;
  const longPat = `ghp_${"q7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUeTiKoPlMnQbVcXzWsEdRfTgYhUjIk".repeat(5).slice(0, 246)}`;

  it("reruns only the rules whose window a marker shorter than its secret shrank, and not otherwise", () => {
    expect(costOf(`note "${GITHUB_PAT}" end`)).toEqual({ scans: 1, ruleChecks: 0 });
    // The windows of "mailgun" end 140, 160 and 240 characters after it, before the text does: the
    // three windowed Mailgun rules alone run again over the redacted text, and find nothing new.
    expect(costOf(`# mailgun\nnote "${GITHUB_PAT}" end${after}`)).toEqual({ scans: 1, ruleChecks: 3 });
    // A window over the whole text has nothing left to draw in.
    expect(costOf(`# mailgun\nnote "${GITHUB_PAT}" end`)).toEqual({ scans: 1, ruleChecks: 0 });
    // A marker past the window's end moves nothing into it.
    expect(costOf(`# mailgun\n${"-".repeat(400)}\nnote "${GITHUB_PAT}" end${after}`)).toEqual({ scans: 1, ruleChecks: 0 });
    // A marker longer than its secret only pushes text out of the window; but the keyword rule's
    // match read the secret from its name, and that rule alone runs again.
    expect(costOf(`# mailgun\npassword = "Zq7Lm2Xv9Bc4Nk8R"${after}`)).toEqual({ scans: 1, ruleChecks: 1 });
  });

  it("scans the whole redacted text again when the rerun rule finds a secret the window now reaches", () => {
    // 310 characters after "mailgun" the key was outside the window; the 21-character marker
    // for the 250-character token draws it in.
    const text = `# mailgun\nGITHUB_TOKEN = "${longPat}"\nSIGNING = "9f3a71c0e5b28d469f3a71c0e5b28d46-7c1e5b28-d469f3a7"\n`;
    const stats: ScanStats = { ...newStats(), ruleChecks: 0 };
    const redacted = redactText(text, [], stats);
    expect(stats.scans).toBe(2);
    expect(stats.ruleChecks).toBeGreaterThan(0);
    expect(redacted).toBe('# mailgun\nGITHUB_TOKEN = "[REDACTED:github-pat]"\nSIGNING = "[REDACTED:mailgun-key-near-name]"\n');
  });

  it("reruns those rules over a text with a format character as the scan reads it, folded", () => {
    expect(costOf(`# mailgun\u200B\nnote "${GITHUB_PAT}" end${after}`)).toEqual({ scans: 1, ruleChecks: 3 });
    // The folded text is what they read: a token split by a format character is found whole.
    const split = `# mailgun\nnote "${longPat}"\nSIGNING = "9f3a71c0e5b28d469f3a71\u200Bc0e5b28d46-7c1e5b28-d469f3a7"\n`;
    expect(redactText(split, [])).toBe('# mailgun\nnote "[REDACTED:github-pat]"\nSIGNING = "[REDACTED:mailgun-key-near-name]"\n');
  });
});

describe("redact's check beside the markers", () => {
  const AWS_KEY_ID = "AKIAQYLPMN5HHHFPZAM2";
  const ABSK = "ABSKQmVkcm9ja0FQSUtleS1zYW1wbGUtZXhhbXBsZS1rZXk9PTpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJz";
  const VAULT = `hvs.${"CAESIJ7xWq2Lm9Zk4Rt8Vb1Nc5Yh3Pd6Fg0Ja".repeat(3).slice(0, 100)}`;
  // Source-like text with no secret in it, long enough that a whole scan would cost its length.
  const tail = `\n${"const value = compute(input, 42); // plain code\n".repeat(4_000)}`;
  const cost = (text: string, patterns: readonly string[] = []): { redacted: string; scans: number; regionChars: number; checkRuns: number } => {
    const stats: ScanStats = { ...newStats(), regionChars: 0, checkRuns: 0 };
    const redacted = redactText(text, compileUserPatterns(patterns), stats);
    return { redacted, scans: stats.scans, regionChars: stats.regionChars ?? 0, checkRuns: stats.checkRuns ?? 0 };
  };

  it("checks only around a marker that follows a boundary character, not the whole redacted text", () => {
    const { redacted, scans, regionChars, checkRuns } = cost(`aws_access_key_id=${AWS_KEY_ID}${tail}`);
    expect(redacted).toBe(`aws_access_key_id=[REDACTED:aws-access-token]${tail}`);
    expect(scans).toBe(1);
    // The first scan's hits are replayed: no region is scanned, and a few rules run near the marker.
    expect(regionChars).toBe(0);
    expect(checkRuns).toBeGreaterThan(0);
    expect(checkRuns).toBeLessThan(20);
  });

  it("checks user patterns too, and scans the whole text again when one now matches at a marker", () => {
    expect(cost(`aws_access_key_id=${AWS_KEY_ID}${tail}`, ["*.acme.corp", "/acmetok_[a-z0-9]{8,64}/"]).scans).toBe(1);
    expect(cost(`aws_access_key_id=${AWS_KEY_ID} zz${tail}`, ["/n\\] zz/"]).scans).toBe(2);
  });

  it("scans the whole text again when a marker completes a base64 token's boundary guard", () => {
    const { redacted, scans } = cost(`x ${ABSK}=${VAULT} y${tail}`);
    expect(scans).toBe(2);
    expect(redacted).toBe(`x [REDACTED:aws-bedrock-api-key][REDACTED:vault-service-token] y${tail}`);
  });

  it("scans the whole text again when a marker lets a password hash glued after a token start", () => {
    const { redacted, scans } = cost(`x ghp_R8q2Lx7mN4vB1cZ9kT3wY6pH0sD5fJ2gA8eU$5$KAlz5SULZNybHwil$3UgmS1pmo2r5HG.tjbjzoVxISBh8IH81d.bJh4MCC19${tail}`);
    expect(scans).toBe(2);
    expect(redacted).toBe(`x [REDACTED:github-pat][REDACTED:password-hash]${tail}`);
  });

  it("leaves a text with a format character to the whole scan", () => {
    expect(cost(`aws_access_key_id=${AWS_KEY_ID}\u200B${tail}`)).toMatchObject({ scans: 2, regionChars: 0 });
  });

  it("reaches, around a marker, every rule's match and, for a windowed rule, its keyword's window", () => {
    // The soundness argument needs these bounds: a new finding reads a marker's bracket, so it lies
    // within its rule's reach of the marker, and the keyword that opened its window within the window.
    const check = buildRegionCheck(TOKEN_RULES);
    const short = TOKEN_RULES.flatMap((rule, index) => {
      const { reach } = matchReach(rule.pattern, 512);
      const keyword = Math.max(...rule.keywords.map((k) => k.length));
      const before = Math.max(reach, rule.window ? rule.window.after + keyword : 0);
      const after = Math.max(reach, rule.window ? rule.window.before + keyword : 0);
      return (check.before[index] as number) < before || (check.after[index] as number) < after ? [rule.id] : [];
    });
    expect(short).toEqual([]);
  });

  it("checks a rule over the whole text when its zone holds a run longer than its capped repeat", () => {
    // A rule's value may run to 1000 characters, counted as 512 in its reach: past that, a match
    // could read the marker from farther off, so the rule runs over all of the text instead.
    const run = "x".repeat(600);
    // The rules a far "aws" starts (the session token's) run there only when the run is long.
    const far = `${tail}aws_region = us-east-1\n`;
    const long = cost(`aws_access_key_id=${AWS_KEY_ID} ${run}${far}`);
    const short = cost(`aws_access_key_id=${AWS_KEY_ID} ${run.slice(0, 400)}${far}`);
    expect([long.scans, short.scans]).toEqual([1, 1]);
    expect(long.checkRuns).toBeGreaterThan(short.checkRuns);
  });

  it("reads every rule's reach, counting a run longer than the cap as the cap and naming its class", () => {
    expect(matchReach(/(?<![A-Za-z0-9])ABSK[A-Za-z0-9+/]{109,269}={0,2}(?![A-Za-z0-9+/=])/g)).toEqual({ reach: 1 + 4 + 269 + 2 + 1, longAtoms: [] });
    expect(matchReach(/ENV[ \t]+x(?:ab){0,3}/g, 512)).toEqual({ reach: 3 + 512 + 1 + 6, longAtoms: ["[ \\t]"] });
    // A repeated group of one-character atoms matches a run of their union.
    expect(matchReach(/(?:a[bc]{1,9}\n){0,400}/g, 512)).toEqual({ reach: 512, longAtoms: ["a|[bc]|\\n"] });
    expect(matchReach(/(?:a(?=b))+/g, 512).reach).toBe(Infinity);
    // A lookaround inside a repeat reads past the match once each side, however often it repeats.
    expect(matchReach(/zip (?:(?!zip )[^\n]){0,120}?-P/g, 512).reach).toBe(4 + 120 + 2 * 4 + 2);
    expect(matchReach(/(?:(?<![a-z])b){0,3}/g, 512).reach).toBe(3 * (1 + 1));
    // A rule the check could not bound would send every redaction to the whole scan.
    const check = buildRegionCheck(TOKEN_RULES);
    expect(TOKEN_RULES.filter((_, index) => !Number.isFinite(check.before[index]) || !Number.isFinite(check.after[index])).map((rule) => rule.id)).toEqual([]);
    // Markers complete no keyword only while no keyword holds a bracket.
    expect(TOKEN_RULES.flatMap((rule) => rule.keywords).filter((keyword) => /[[\]]/.test(keyword))).toEqual([]);
  });
});

describe("redaction markers are opaque", () => {
  // Rule names hold keywords (`aws`, `token`, `key`, `github`) and start literals: read as text,
  // every marker of an already redacted text opened windows and ran rules, so redact's
  // confirming scan cost as much as the first one however few secrets were left.
  const redactedLines = (count: number): string => "[REDACTED:github-pat] id=[REDACTED:aws-access-token]\n[REDACTED:aws-secret-access-key] [REDACTED:keyword-secret]\n".repeat(count);

  it("run no rule for the keywords and literals inside them, however many there are", () => {
    for (const count of [100, 1_000]) {
      const stats: ScanStats = { ...newStats(), ruleRuns: 0 };
      expect(findSecrets(redactedLines(count), [], stats)).toEqual([]);
      expect(stats.ruleRuns, `${count} lines`).toBe(0);
    }
  });

  it("leave redact's confirming scan of the 20 000-secret text no rule to run", () => {
    const redacted = redactText(markerSoup(20_000).text, []);
    const stats: ScanStats = { ...newStats(), ruleRuns: 0 };
    expect(findSecrets(redacted, [], stats)).toEqual([]);
    expect(stats.ruleRuns).toBe(0);
  });

  it("still let a token right after or before a marker be found", () => {
    const text = `[REDACTED:aws-access-token]${GITHUB_PAT} ${GITHUB_PAT}[REDACTED:x] token: "[REDACTED:github-pat]"`;
    expect(findSecrets(text, []).map((f) => [f.rule, text.slice(f.start, f.end)])).toEqual([
      ["github-pat", GITHUB_PAT],
      ["github-pat", GITHUB_PAT],
    ]);
  });
});

describe("Unicode format characters inside a token", () => {
  it.each([
    ["zero-width joiner", "\u200D"],
    ["zero-width non-joiner", "\u200C"],
    ["soft hyphen", "\u00AD"],
    ["byte order mark", "\uFEFF"],
    ["zero-width space", "\u200B"],
    ["word joiner", "\u2060"],
    ["right-to-left mark", "\u200F"],
  ])("finds a GitHub token with a %s inside and redacts all of it", (_name, char) => {
    const hidden = `${GITHUB_PAT.slice(0, 10)}${char}${GITHUB_PAT.slice(10, 20)}${char}${GITHUB_PAT.slice(20)}`;
    const text = `token: ${hidden} end`;
    const policy = createRefusePolicy();
    const findings = policy.scanText(text);
    expect(findings.map((f) => [f.rule, text.slice(f.start, f.end)])).toEqual([["github-pat", hidden]]);
    expect(policy.redact(text)).toBe("token: [REDACTED:github-pat] end");
  });

  it("keeps offsets right for text before and after the hidden token", () => {
    const text = `\uFEFFa\u200Db ${GITHUB_PAT.slice(0, 5)}\u200D${GITHUB_PAT.slice(5)} c\u00ADd`;
    const [finding] = createRefusePolicy().scanText(text);
    expect(text.slice(finding?.start, finding?.end).replace(/\u200D/g, "")).toBe(GITHUB_PAT);
    expect(createRefusePolicy().redact(text)).toBe("\uFEFFa\u200Db [REDACTED:github-pat] c\u00ADd");
  });
});

describe("the format-character prefilter", () => {
  it("covers every code point of Unicode category Cf", () => {
    const missed: string[] = [];
    for (let code = 0; code <= 0x10ffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCodePoint(code);
      if (FORMAT_CHARACTERS_EXACT.test(char) && !FORMAT_CHARACTER.test(char)) missed.push(code.toString(16));
    }
    expect(missed).toEqual([]);
  });
});

describe("redact for other tools", () => {
  it("is a plain text → text function that can be handed on unbound", () => {
    const { redact } = createRefusePolicy();
    const passOn = (fn: (text: string) => string): string => fn(`token ${GITHUB_PAT} and glpat-${"Ab1_".repeat(7)}.01.a1b2c3d4e`);
    expect(passOn(redact)).toBe("token [REDACTED:github-pat] and [REDACTED:gitlab-pat]");
  });
});

describe("keyword windows on large texts", () => {
  it("find exactly what scanning every rule over the whole text finds", () => {
    const cases = [...loadSecretCorpus(), ...loadVendorCorpus()].map((c) => c.text);
    // Shuffled by a fixed stride, glued with and without separators, past the large-text size.
    const pieces: string[] = [];
    for (let i = 0, at = 0; pieces.join("").length < 300_000; i++, at = (at + 37) % cases.length) pieces.push(cases[at] as string, i % 3 === 0 ? "" : i % 3 === 1 ? "\n" : " x=");
    const text = pieces.join("");
    const windowed = findSecrets(text, []).map((f) => `${f.rule}@${f.start}-${f.end}`);
    const whole = findSecrets(text, [], undefined, "whole").map((f) => `${f.rule}@${f.start}-${f.end}`);
    expect(windowed.length).toBeGreaterThan(500);
    expect(windowed).toEqual(whole);
  }, 60_000); // two scans of 300 KB: seconds when the shared machine is loaded
});
