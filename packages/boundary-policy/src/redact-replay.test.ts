import { describe, expect, it } from "vitest";

import { redactText } from "./redact-text.js";
import { findSecrets, type ScanStats } from "./scan-text.js";
import { TOKEN_RULES } from "./token-rules.js";

// Redaction's check after a rewrite replays the first scan's literal hits in the redacted text and
// runs each rule only within its own reach of a marker that may have completed a boundary. These
// tests are the attacks on that filter: each one fails if the reach, the window term, the draw
// around a shrunk window or the shift of the carried hits is wrong.

const AWS_KEY_ID = "AKIAQYLPMN5HHHFPZAM2";
// Found even glued after a letter (no leading guard): its marker then frees the key id before it.
const MWS_TOKEN = "amzn.mws.4ea38b7b-f563-7709-4bae-87aea1b2c3d4";
// The same, and no longer than its marker: it draws nothing into a window.
const SLACK_BOT_TOKEN = "xoxb-12345678-1234567890";
const ABSK = "ABSKQmVkcm9ja0FQSUtleS1zYW1wbGUtZXhhbXBsZS1rZXk9PTpBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWjAxMjM0NTY3ODlhYmNkZWZnaGlqa2xtbm9wcXJz";
const VAULT = `hvs.${"CAESIJ7xWq2Lm9Zk4Rt8Vb1Nc5Yh3Pd6Fg0Ja".repeat(3).slice(0, 100)}`;
const SECRET_40 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8kL2mN4p";
const MAILGUN_SIGNING = "9f3a71c0e5b28d469f3a71c0e5b28d46-7c1e5b28-d469f3a7";
// 250 characters, whose 21-character marker shifts everything after it by 229.
const LONG_PAT = `ghp_${"q7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUeTiKoPlMnQbVcXzWsEdRfTgYhUjIk".repeat(5).slice(0, 246)}`;
const TAIL = `\n${"const value = compute(input, 42); // plain code\n".repeat(400)}`;

const newStats = (): ScanStats => ({ scans: 0, markerChecks: 0, rewrites: 0, ruleRuns: 0, checkRuns: 0, replayedHits: 0, regionChars: 0 });

function redact(text: string): { redacted: string; stats: ScanStats } {
  const stats = newStats();
  const redacted = redactText(text, [], stats);
  // Whatever the check decided, nothing is left for a scan to find.
  expect(findSecrets(redacted, [])).toEqual([]);
  return { redacted, stats };
}

describe("redact's replayed check after a rewrite", () => {
  it("finds a key id a marker right after it frees, 20 characters before the marker (small reach)", () => {
    const { redacted, stats } = redact(`x ${AWS_KEY_ID}${MWS_TOKEN} y${TAIL}`);
    expect(redacted).toBe(`x [REDACTED:aws-access-token][REDACTED:aws-mws-key] y${TAIL}`);
    expect(stats.scans).toBe(2);
    expect(stats.regionChars).toBe(0);
  });

  it("finds a Bedrock key that starts 130 characters before the marker that frees it (large reach)", () => {
    const { redacted, stats } = redact(`x ${ABSK}=${VAULT} y${TAIL}`);
    expect(redacted).toBe(`x [REDACTED:aws-bedrock-api-key][REDACTED:vault-service-token] y${TAIL}`);
    expect(stats.scans).toBe(2);
  });

  it("carries the hits past a marker much shorter than its secret", () => {
    const before = `token "${LONG_PAT}"\n${"word ".repeat(50)}`;
    expect(redact(`${before}x ${AWS_KEY_ID}${MWS_TOKEN} y${TAIL}`).redacted).toBe(`token "[REDACTED:github-pat]"\n${"word ".repeat(50)}x [REDACTED:aws-access-token][REDACTED:aws-mws-key] y${TAIL}`);
    expect(redact(`${before}x ${ABSK}=${VAULT} y${TAIL}`).redacted).toBe(`token "[REDACTED:github-pat]"\n${"word ".repeat(50)}x [REDACTED:aws-bedrock-api-key][REDACTED:vault-service-token] y${TAIL}`);
  });

  it("checks each marker, near other markers and far from them", () => {
    const pair = `${AWS_KEY_ID}${MWS_TOKEN}`;
    const done = "[REDACTED:aws-access-token][REDACTED:aws-mws-key]";
    expect(redact(`${`x ${pair} ${pair}\n`.repeat(3)}${TAIL}`).redacted).toBe(`${`x ${done} ${done}\n`.repeat(3)}${TAIL}`);
    expect(redact(`x ${pair}${TAIL}${pair} y${TAIL}`).redacted).toBe(`x ${done}${TAIL}${done} y${TAIL}`);
  });

  it("finds a windowed rule's secret freed by a marker whose keyword lies farther than the rule's reach", () => {
    // `asia` opens a 240-character window for the secret next to a key id; the secret ends 230
    // characters after it, at the marker, which lies far beyond the rule's own 43-character reach.
    for (const token of [MWS_TOKEN, SLACK_BOT_TOKEN]) {
      const marker = token === MWS_TOKEN ? "[REDACTED:aws-mws-key]" : "[REDACTED:slack-bot-token]";
      for (const gap of [0, 190]) {
        const { redacted, stats } = redact(`tz = Asia/Tokyo ${"-".repeat(gap)} ${SECRET_40}${token} y${TAIL}`);
        expect(redacted).toBe(`tz = Asia/Tokyo ${"-".repeat(gap)} [REDACTED:aws-secret-near-key-id]${marker} y${TAIL}`);
        expect(stats.scans).toBe(2);
      }
    }
    // Past the window the secret is not the rule's, before redaction or after.
    const gap = "-".repeat(230);
    expect(redact(`tz = Asia/Tokyo ${gap} ${SECRET_40}${MWS_TOKEN} y${TAIL}`).stats.scans).toBe(1);
  });

  it("moves the text's own markers with the hits, so a secret where one stood before the shift is still read", () => {
    // The old marker stood 234 characters before the secret; the shift of 229 puts the secret's
    // start 5 characters inside where the marker was in the original text.
    const text = `token "${LONG_PAT}"\n${"-".repeat(300)}\n[REDACTED:github-pat]${"-".repeat(197)}tz = Asia/Tokyo ${SECRET_40}${SLACK_BOT_TOKEN} y${TAIL}`;
    const { redacted, stats } = redact(text);
    expect(redacted).toBe(`token "[REDACTED:github-pat]"\n${"-".repeat(300)}\n[REDACTED:github-pat]${"-".repeat(197)}tz = Asia/Tokyo [REDACTED:aws-secret-near-key-id][REDACTED:slack-bot-token] y${TAIL}`);
    expect(stats.scans).toBe(2);
  });

  it("relies on every rule id being a marker the scan passes over", () => {
    // Else a marker's inside would be read as text, which no carried hit covers (the check falls back).
    expect(TOKEN_RULES.filter((rule) => !/^[a-z0-9-]{1,64}$/.test(rule.id)).map((rule) => rule.id)).toEqual([]);
  });

  it("finds a session token 2 000 characters long whose name lies far beyond its rule's counted reach", () => {
    // The value is as long as the rule takes, so the token glued after it blocks its closing guard
    // until that token is a marker. The rule's reach counts the run as 512: only the long run in
    // its zone sends it to every start in the text.
    const value = "Zq7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUeTiKoPlMnQbVcXzWsEdRfTgYhUjIk".repeat(40).slice(0, 2000);
    const { redacted, stats } = redact(`aws_session_token = ${value}${MWS_TOKEN} y${TAIL}`);
    expect(redacted).toBe(`aws_session_token = [REDACTED:aws-session-token][REDACTED:aws-mws-key] y${TAIL}`);
    expect(stats.scans).toBe(2);
  });

  it("finds what a marker shorter than its secret draws into a window, when another marker needs the check", () => {
    // The `=` before the key id makes its marker one to check; it frees nothing. The 21-character
    // marker of the 250-character token draws the signing key into the window of "mailgun".
    const text = `# mailgun\nGITHUB_TOKEN = "${LONG_PAT}"\nSIGNING = "${MAILGUN_SIGNING}"\n${TAIL}id=${AWS_KEY_ID}\n`;
    const { redacted, stats } = redact(text);
    expect(redacted).toBe(`# mailgun\nGITHUB_TOKEN = "[REDACTED:github-pat]"\nSIGNING = "[REDACTED:mailgun-key-near-name]"\n${TAIL}id=[REDACTED:aws-access-token]\n`);
    expect(stats.scans).toBe(2);
  });

  it("does not scan the redacted text again when a marker frees nothing, and checks only near it", () => {
    const { stats } = redact(`aws_access_key_id=${AWS_KEY_ID}${TAIL}`);
    expect(stats.scans).toBe(1);
    expect(stats.regionChars).toBe(0);
    expect(stats.checkRuns).toBeGreaterThan(0);
    expect(stats.checkRuns).toBeLessThan(20);
  });
});

describe("redact of a match that read through the secret it replaced", () => {
  // keyword-secret reads `pass: hardcoded2_3ANY_KEY = …` as a typed name (`password: str = "…"`)
  // and finds the value after `=`. With that value a marker, the same rule at the same `pass` takes
  // the "type" as the value: a new finding that reads no marker bracket, beside no token character.
  const TYPED = "dbpass: hardcoded2_3ANY_KEY = ";
  const DONE = "dbpass: [REDACTED:keyword-secret] = [REDACTED:keyword-secret]";
  it.each([
    ["alone, its window over the whole text", `  ${TYPED}ZHVtbXkgdGV4dCBkYXRhIGRhdGEgZGF0YQ==`, `  ${DONE}`],
    ["with a marker no shorter than its secret (no window draws)", `${TYPED}Zk9xR3bT7pLw2Qm${TAIL}`, `${DONE}${TAIL}`],
    ["with a marker to check elsewhere", `${TYPED}Zk9xR3bT7pLw2Qm${TAIL}id=${AWS_KEY_ID}\n`, `${DONE}${TAIL}id=[REDACTED:aws-access-token]\n`],
    ["in a text with a format character", `${TYPED}Zk9xR3bT7pLw2Qm${TAIL}\u200B`, `${DONE}${TAIL}\u200B`],
  ])("finds the other reading of the same match, %s", (_name, text, expected) => {
    const { redacted } = redact(text);
    expect(redacted).toBe(expected);
    expect(redactText(redacted, [])).toBe(redacted);
  });

  it("finds it among a flood of other keyword secrets, each read again, most by their likeness to the one before", () => {
    // One window over every line: the typed line lies deep inside it, among lines that read alike.
    const flood = 'password = "hunter2x"\n'.repeat(400);
    const done = 'password = "[REDACTED:keyword-secret]"\n'.repeat(400);
    expect(redact(`${flood}${TYPED}Zk9xR3bT7pLw2Qm\n${flood}`).redacted).toBe(`${done}${DONE}\n${done}`);
    // Typed lines whose zones have the typed line's length: only the text tells them apart.
    const typed = 'dbpass: Hardcoded2_3 = "hunter2x"\n'.repeat(100);
    const typedDone = 'dbpass: Hardcoded2_3 = "[REDACTED:keyword-secret]"\n'.repeat(100);
    expect(redact(`${typed}dbpass: hardcoded2_3AK = Zk9xR3bT7pLw2Qm\n${typed}`).redacted).toBe(`${typedDone}${DONE}\n${typedDone}`);
    const { redacted, stats } = redact(`${flood}${flood}`);
    expect(redacted).toBe(`${done}${done}`);
    expect(stats.scans).toBe(1);
  });
});

describe("redact of a flood of secrets", () => {
  const fill = (unit: string, length: number): string => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
  const gluedKeywords = TOKEN_RULES.flatMap((rule) => rule.keywords).join("");
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  // Distinct, real-shaped key ids after markers (the bench's "markers + AWS key ids").
  const awsLines = (count: number): string =>
    Array.from({ length: count }, (_, n) => {
      let body = "";
      for (let i = 0, x = n * 2654435761 + 12345; i < 16; i++, x = Math.floor(x / 7) + i * 31) body += ALPHABET[x % 32];
      return `[REDACTED:github-pat] id=AKIA${body}\n`;
    }).join("");

  it.each([
    ["every keyword, glued", (size: number) => fill(gluedKeywords, size)],
    ["markers and AWS key ids", (size: number) => awsLines(Math.round(size / 48))],
  ])("of %s scans the text once, and the check's cost follows the text", (_name, make) => {
    const costs = [100_000, 200_000].map((size) => {
      const text = make(size);
      const stats = newStats();
      const redacted = redactText(text, [], stats);
      return { stats, length: text.length, redacted };
    });
    for (const { stats, redacted } of costs) {
      // Secrets were found, their markers checked, and the check kept to one scan.
      expect(stats.rewrites).toBe(1);
      expect(redacted).toContain("[REDACTED:");
      expect(stats.scans).toBe(1);
      expect(stats.regionChars).toBe(0);
    }
    const [small, large] = costs as [(typeof costs)[0], (typeof costs)[0]];
    const growth = large.length / small.length;
    expect((large.stats.checkRuns ?? 0) / Math.max(1, small.stats.checkRuns ?? 0)).toBeLessThanOrEqual(growth * 1.15);
    expect((large.stats.replayedHits ?? 0) / Math.max(1, small.stats.replayedHits ?? 0)).toBeLessThanOrEqual(growth * 1.15);
    // A check far cheaper than a scan: fewer rule runs than the scan made.
    expect(large.stats.checkRuns ?? 0).toBeLessThan(large.stats.ruleRuns ?? 0);
  });

  // Every line a keyword secret: each match read through its secret, and its rule reads each
  // place again, or tells by comparing text that it reads as the line before.
  const MIXED = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const value = (n: number): string => {
    let out = "";
    for (let i = 0, x = n + 1; i < 32; i++) {
      x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) ^ Math.imul(i + 1, 0x297a2d39);
      out += MIXED[(x >>> 7) % MIXED.length];
    }
    return out;
  };
  const names = (count: number, name: (n: number) => string): string => Array.from({ length: count }, (_, n) => `${name(n)} = "${value(n)}"\n`).join("");
  it.each([
    ["one value", (size: number) => fill('password = "hunter2x"\n', size)],
    ["distinct values", (size: number) => names(Math.round(size / 45), () => "password")],
    ["distinct names of one length", (size: number) => names(Math.round(size / 52), (n) => `password${String(n).padStart(7, "0")}`)],
    ["distinct names", (size: number) => names(Math.round(size / 50), (n) => `password${n}`)],
  ])("of keyword secrets, %s, reads each line again at a cost that follows the text", (_name, make) => {
    const costs = [100_000, 200_000].map((size) => {
      const text = make(size);
      const stats: ScanStats = { ...newStats(), comparedChars: 0 };
      const redacted = redactText(text, [], stats);
      // Nearly every line's value is a secret (a rare random one falls under the entropy floor).
      expect(redacted.split("[REDACTED:").length).toBeGreaterThan(0.99 * text.split("\n").length);
      expect(stats.scans).toBe(1);
      // Each line's place is compared over at most four times the rule's reach (463 characters) and
      // a stride, once with the line before and once with a run to come: not over a run's length.
      expect(stats.comparedChars ?? 0).toBeLessThan(60 * text.length);
      return { stats, length: text.length };
    });
    const [small, large] = costs as [(typeof costs)[0], (typeof costs)[0]];
    const growth = large.length / small.length;
    expect((large.stats.checkRuns ?? 0) / Math.max(1, small.stats.checkRuns ?? 0)).toBeLessThanOrEqual(growth * 1.15);
    expect((large.stats.comparedChars ?? 0) / Math.max(1, small.stats.comparedChars ?? 0)).toBeLessThanOrEqual(growth * 1.15);
  });
});

describe("a chain of secrets glued end to end (session 13)", () => {
  // Each Azure API Management Git password's closing guard refuses the `g` of the next one, so one
  // pass frees one link: a chain longer than the passes redaction allows left its first links in
  // the text (fast-check found it, glued to an AWS key id and an Azure function key).
  const b62 = "q7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUeTiKoPlMnQbVcXzWsEdRfTgYhUjIk";
  const apim = (n: number): string => `git&${String(100000000000 + n * 7919)}&${(b62.slice(n % 10) + b62 + b62).slice(0, 86)}==`;

  it.each([4, 5, 8, 40])("redacts every link of a chain of %i in one call, and the result is a fixpoint", (links) => {
    const chain = Array.from({ length: links }, (_, n) => apim(n)).join("");
    const { redacted, stats } = redact(`password: ${chain} end${TAIL}`);
    expect(redacted).not.toContain("git&");
    expect(redacted.endsWith(` end${TAIL}`)).toBe(true);
    expect(redactText(redacted, [])).toBe(redacted);
    // The bound stays: a few full scans, whatever the chain's length.
    expect(stats.scans).toBeLessThanOrEqual(4);
  });

  it("takes the word the chain is glued into, and leaves the words beside it alone", () => {
    const { redacted } = redact(`id="k1" value=${apim(0)}${apim(1)}${apim(2)}${apim(3)}${apim(4)} other="plain text"`);
    // The last links are markers of their own (the passes before freed them one by one).
    expect(redacted).toMatch(/^id="k1" (?:\[REDACTED:azure-apim-git-password\]){2,5} other="plain text"$/);
  });

  it("keeps a marker glued to the chain whole", () => {
    const { redacted } = redact(`x [REDACTED:github-pat]${apim(0)}${apim(1)}${apim(2)}${apim(3)}${apim(4)}[REDACTED:github-pat] y`);
    expect(redacted).toMatch(/^x \[REDACTED:github-pat\](?:\[REDACTED:azure-apim-git-password\]){2,5}\[REDACTED:github-pat\] y$/);
  });
});
