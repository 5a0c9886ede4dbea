import { describe, expect, it } from "vitest";

import { findSecrets, redactText, type ScanStats } from "./scan-text.js";
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
});
