import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { createRefusePolicy } from "./index.js";
import { findSecrets, type ScanStats } from "./scan-text.js";
import { loadSecretCorpus } from "./test-support/secret-corpus.js";

const policy = createRefusePolicy({ userPatterns: ["acme_*", "value:*.acme.corp", "/corp-[0-9]{6}/i"] });
const corpusTexts = loadSecretCorpus().map((c) => c.text);

const TOKEN_PIECES = ["ghp_", "github_pat_", "xoxb-", "sk-ant-api03-", "AKIA", "AIza", "eyJ", ".eyJ", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "\n", " ", "=", "acme_", ".acme.corp", "[REDACTED:", "]"];

/** Text mixing corpus secrets, token prefixes and random characters. */
const secretishText = fc
  .array(
    fc.oneof(
      fc.constantFrom(...corpusTexts),
      fc.constantFrom(...TOKEN_PIECES),
      fc.string({ unit: fc.constantFrom(..."abcXYZ0189_-+/=.: \n"), maxLength: 60 }),
      fc.string({ maxLength: 20 }),
    ),
    { maxLength: 12 },
  )
  .map((parts) => parts.join(""));

describe("redact", () => {
  it("leaves nothing for scanText to find, and no secret span survives", () => {
    fc.assert(
      fc.property(secretishText, (text) => {
        const findings = policy.scanText(text);
        const redacted = policy.redact(text);
        expect(policy.scanText(redacted)).toEqual([]);
        for (const finding of findings) {
          const secret = text.slice(finding.start, finding.end);
          if (secret.length >= 8) expect(redacted).not.toContain(secret);
        }
      }),
      { numRuns: 400 },
    );
  });

  it("redacts a known secret everywhere, even glued to a letter where the scanner alone would miss it", () => {
    // The counterexample fast-check found: the second copy has no token boundary before it.
    const key = "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";
    expect(policy.redact(`${key} a${key}`)).toBe("[REDACTED:openai-api-key] a[REDACTED:openai-api-key]");
  });

  it("leaves a marker alone where a generic rule's value starts with it (a counterexample fast-check found)", () => {
    // The Docker token belongs to its own rule, so the login rule passes it over; once redacted,
    // the marker in its place is no password either.
    const text = "docker login -u gemesa -p dckr_pat_1q8yKET1VDJTpfCwseUDzT8vFh-#0";
    const redacted = policy.redact(text);
    expect(redacted).toBe("docker login -u gemesa -p [REDACTED:docker-hub-pat]#0");
    expect(policy.scanText(redacted)).toEqual([]);
  });

  it.each([
    // 310 characters after "mailgun" the key is outside the rule's window; once the 250-character
    // token before it is a 21-character marker, it is inside.
    ["a key drawn into a keyword's window", `# mailgun\nGITHUB_TOKEN = "ghp_${"q7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0JaUeTiKoPlMnQbVcXzWsEdRfTgYhUjIk".repeat(5).slice(0, 246)}"\nSIGNING = "9f3a71c0e5b28d469f3a71c0e5b28d46-7c1e5b28-d469f3a7"\n`],
    // The keyword `akia` of "Nakia" opens the AWS rule's 240-character window, which the private
    // key fills until it is a marker.
    ["an AWS-shaped value drawn in after a private key", `Nakia wrote:\n-----BEGIN PRIVATE KEY-----\n${"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7".repeat(5)}\n-----END PRIVATE KEY-----\nwJalrXUtnFEMIK7MDENGbPxRfiCYzq9Lk3Hd8sQa\n`],
  ])("rescans where a marker shorter than its secret draws text into a window: %s", (_name, text) => {
    expect(policy.scanText(policy.redact(text))).toEqual([]);
  });

  it("keeps the rule name in the marker", () => {
    const text = corpusTexts.find((t) => t.startsWith("AKIALALEMEL33243OLIB")) as string;
    expect(policy.redact(text)).toBe("[REDACTED:aws-access-token]");
  });
});

/** Inputs that once made a rule backtrack; their timings are in `pnpm bench` (bench/scan.mjs). */
describe("adversarial inputs", () => {
  const SIZE = 100 * 1024;
  const fill = (unit: string): string => unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

  const adversarial: Record<string, string> = {
    "base64 run": fill("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw=="),
    "one letter": fill("a"),
    "repeated ghp_": fill("ghp_"),
    "repeated sk-ant-api03-": fill("sk-ant-api03-"),
    "BEGIN without END": fill("-----BEGIN RSA PRIVATE KEY-----\nMIIEpQIBAAKCAQEAn6/O8li+SX4m98LLYt/PKSzEmQ++ZBD7Loh9P13f4yQ92EF3\n"),
    "JWT-ish dots": fill("eyJhbGciOiJIUzI1NiJ9."),
    "marker soup": fill("[REDACTED:x]"),
    "acme soup": fill("acme_.acme.corp "),
    "zero-width soup": fill("ghp_\u200D"),
  };

  it.each(Object.keys(adversarial))("scans 100 KB of %s in one pass, and redacting leaves nothing to find", (name) => {
    const text = adversarial[name] as string;
    const stats: ScanStats = { scans: 0, markerChecks: 0, rewrites: 0 };
    const findings = findSecrets(text, [], stats);
    expect(stats.scans).toBe(1);
    for (const finding of findings) expect(finding.end).toBeLessThanOrEqual(text.length);
    expect(policy.scanText(policy.redact(text))).toEqual([]);
  });
});
