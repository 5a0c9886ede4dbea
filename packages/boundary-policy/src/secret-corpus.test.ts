import { describe, expect, it } from "vitest";

import { createRefusePolicy } from "./index.js";
import { inNoteCallout } from "./test-support/note-layout.js";
import { loadSecretCorpus, loadVendorCorpus, type CorpusCase } from "./test-support/secret-corpus.js";

const policy = createRefusePolicy();

/**
 * `match` cases of the developers' corpus the engine misses, each with the reason: a change in
 * either direction fails the test, so it shows up in review.
 */
const KNOWN_MISSED: Record<number, string> = {
  299: "secretlint's `hf_` + 34 x placeholder; gitleaks (line 119, the same string) says no-match through its entropy check, which this engine follows",
};

/** `no-match` cases of the developers' corpus the engine refuses, each with the reason. */
const KNOWN_REFUSED: Record<number, string> = {};

function secretSpan(testCase: CorpusCase): [number, number] | undefined {
  if (testCase.secret === undefined) return undefined;
  const start = testCase.text.indexOf(testCase.secret);
  return start === -1 ? undefined : [start, start + testCase.secret.length];
}

function isRefused(testCase: CorpusCase): boolean {
  const findings = policy.scanText(testCase.text);
  const span = secretSpan(testCase);
  if (span === undefined) return findings.length > 0;
  return findings.some((finding) => finding.start < span[1] && finding.end > span[0]);
}

/** Redaction leaves no part of the secret behind (no tail such as GitLab's `.01.` suffix). */
function redactsWhole(testCase: CorpusCase): boolean {
  if (testCase.secret === undefined) return true;
  const redacted = policy.redact(testCase.text);
  const tail = testCase.secret.slice(-6);
  return !redacted.includes(testCase.secret) && (testCase.secret.length < 12 || !redacted.includes(tail));
}

interface FamilyRow {
  family: string;
  matchCases: number;
  recalled: number;
  noMatchCases: number;
  refused: number;
}

function familyTable(corpus: readonly CorpusCase[]): FamilyRow[] {
  const rows = new Map<string, FamilyRow>();
  for (const testCase of corpus) {
    const row = rows.get(testCase.family) ?? { family: testCase.family, matchCases: 0, recalled: 0, noMatchCases: 0, refused: 0 };
    const refused = isRefused(testCase);
    if (testCase.expect === "match") {
      row.matchCases++;
      if (refused) row.recalled++;
    } else {
      row.noMatchCases++;
      if (refused) row.refused++;
    }
    rows.set(testCase.family, row);
  }
  return [...rows.values()].sort((a, b) => a.family.localeCompare(b.family));
}

function printTable(title: string, table: readonly FamilyRow[]): { recall: number; falseRefusals: number } {
  const percent = (part: number, whole: number): string => (whole === 0 ? "—" : `${((100 * part) / whole).toFixed(1)} %`);
  const row = (r: FamilyRow): string =>
    `${r.family.padEnd(15)} ${String(r.matchCases).padStart(5)}  ${String(r.recalled).padStart(8)}  ${percent(r.recalled, r.matchCases).padStart(7)}  ${String(r.noMatchCases).padStart(8)}  ${String(r.refused).padStart(7)}  ${percent(r.refused, r.noMatchCases).padStart(7)}`;
  const total = table.reduce(
    (sum, r) => ({ family: "total", matchCases: sum.matchCases + r.matchCases, recalled: sum.recalled + r.recalled, noMatchCases: sum.noMatchCases + r.noMatchCases, refused: sum.refused + r.refused }),
    { family: "total", matchCases: 0, recalled: 0, noMatchCases: 0, refused: 0 },
  );
  console.log([title, "family          match  recalled  recall    no-match  refused  false refusals", ...table.map(row), row(total)].join("\n"));
  return { recall: total.recalled / total.matchCases, falseRefusals: total.refused / total.noMatchCases };
}

describe("the developers' secret corpus (gitleaks, secretlint, noseyparker)", () => {
  const corpus = loadSecretCorpus();
  const table = familyTable(corpus);

  it("prints recall and false refusals per family, and keeps false refusals at or under 1 percent", () => {
    const { falseRefusals } = printTable("developers' corpus (test-fixtures/secrets/corpus.jsonl)", table);
    expect(falseRefusals).toBeLessThanOrEqual(0.01);
  });

  it.each(table.filter((row) => row.matchCases > 0).map((row) => row.family))("recalls at least 99 percent of the %s cases", (family) => {
    const row = table.find((r) => r.family === family) as FamilyRow;
    const missed = corpus.filter((c) => c.family === family && c.expect === "match" && !isRefused(c)).map((c) => c.line);
    const allowed = missed.filter((line) => KNOWN_MISSED[line] !== undefined).length;
    expect((row.recalled + allowed) / row.matchCases, `missed lines ${missed.join(", ")}`).toBeGreaterThanOrEqual(0.99);
  });

  it("misses exactly the known match cases", () => {
    expect(corpus.filter((c) => c.expect === "match" && !isRefused(c)).map((c) => c.line)).toEqual(Object.keys(KNOWN_MISSED).map(Number));
  });

  it("refuses exactly the known no-match cases", () => {
    expect(corpus.filter((c) => c.expect === "no-match" && isRefused(c)).map((c) => c.line)).toEqual(Object.keys(KNOWN_REFUSED).map(Number));
  });

  it("keeps gitleaks' entropy and allowlist decisions where the bare regex would match", () => {
    const regexOnlyFalsePositives = corpus.filter((c) => c.expect === "no-match" && c.regexOnly === "match");
    expect(regexOnlyFalsePositives.length).toBeGreaterThan(30);
    expect(regexOnlyFalsePositives.filter(isRefused).map((c) => c.line)).toEqual([]);
  });

  it("says why every relabelled case differs from upstream", () => {
    const relabelled = corpus.filter((c) => c.relabel !== undefined);
    expect(relabelled.length).toBe(10);
    for (const c of relabelled) expect(c.relabel).toMatch(/secret/);
  });
});

describe("the vendor-format corpus (test-fixtures/secrets/vendor-formats.jsonl)", () => {
  const corpus = loadVendorCorpus();
  const table = familyTable(corpus);

  it("prints recall and false refusals per family, and keeps false refusals at or under 1 percent", () => {
    const { falseRefusals } = printTable("vendor-format corpus", table);
    const refused = corpus.filter((c) => c.expect === "no-match" && isRefused(c)).map((c) => `${c.line}: ${c.text}`);
    expect(falseRefusals, refused.join("\n")).toBeLessThanOrEqual(0.01);
  });

  it.each(table.filter((row) => row.matchCases > 0).map((row) => row.family))("recalls at least 99 percent of the %s cases", (family) => {
    const row = table.find((r) => r.family === family) as FamilyRow;
    const missed = corpus.filter((c) => c.family === family && c.expect === "match" && !isRefused(c)).map((c) => c.text);
    expect(row.recalled / row.matchCases, missed.join("\n")).toBeGreaterThanOrEqual(0.99);
  });

  it("redacts every recalled token whole, leaving no tail", () => {
    const partial = corpus.filter((c) => c.expect === "match" && isRefused(c) && !redactsWhole(c)).map((c) => `${c.family}: ${policy.redact(c.text)}`);
    expect(partial).toEqual([]);
  });

  it("names the case's family for every recalled token", () => {
    const wrong = corpus
      .filter((c) => c.expect === "match" && isRefused(c))
      .filter((c) => !policy.scanText(c.text).some((finding) => finding.family === c.family))
      .map((c) => `${c.family}: ${policy.scanText(c.text).map((f) => f.rule).join(",")}`);
    expect(wrong).toEqual([]);
  });
});

describe("every recalled corpus token, as an exported note shows a command's output (session 14)", () => {
  // In a note, a tool's output sits in a fence inside a callout, each line behind `> `: a rule that
  // reads over a line break must read over those too, or the note keeps what the terminal would not.
  const recalled = [...loadVendorCorpus(), ...loadSecretCorpus()].filter((c) => c.expect === "match" && isRefused(c));

  it("is found there too, its secret gone from the redacted note", () => {
    expect(recalled.length).toBeGreaterThan(1500);
    const kept = recalled.filter((c) => (c.secret !== undefined ? policy.redact(inNoteCallout(c.text)).includes(c.secret) : policy.scanText(inNoteCallout(c.text)).length === 0));
    expect(kept.map((c) => `${c.family}: ${c.text.slice(0, 120)}`)).toEqual([]);
  });
});
