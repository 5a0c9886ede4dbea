import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface CorpusCase {
  /** 1-based line in its file, the stable handle for the known-miss lists. */
  readonly line: number;
  /** The upstream rule (developers' corpus) or empty (vendor formats). */
  readonly rule: string;
  readonly family: string;
  readonly text: string;
  readonly expect: "match" | "no-match";
  readonly secret?: string;
  readonly source: string;
  readonly regexOnly?: "match" | "no-match";
  /** Why a case's `expect` differs from upstream's, when it does. */
  readonly relabel?: string;
}

const FIXTURES = new URL("../../../../test-fixtures/secrets/", import.meta.url);
export const CORPUS_PATH = fileURLToPath(new URL("corpus.jsonl", FIXTURES));
export const VENDOR_CORPUS_PATH = fileURLToPath(new URL("vendor-formats.jsonl", FIXTURES));

function load(path: string): CorpusCase[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, index) => {
      const raw = JSON.parse(line) as {
        rule?: string;
        family: string;
        text: string;
        expect: "match" | "no-match";
        secret?: string;
        source: string;
        regex_only?: "match" | "no-match";
        relabel?: string;
      };
      return {
        line: index + 1,
        rule: raw.rule ?? "",
        family: raw.family,
        text: raw.text,
        expect: raw.expect,
        source: raw.source,
        ...(raw.secret !== undefined ? { secret: raw.secret } : {}),
        ...(raw.regex_only !== undefined ? { regexOnly: raw.regex_only } : {}),
        ...(raw.relabel !== undefined ? { relabel: raw.relabel } : {}),
      };
    });
}

/** The developers' corpus (gitleaks, secretlint, noseyparker cases) with a `family` per case. */
export function loadSecretCorpus(): CorpusCase[] {
  return load(CORPUS_PATH);
}

/** Cases built from the vendors' documented token formats. */
export function loadVendorCorpus(): CorpusCase[] {
  return load(VENDOR_CORPUS_PATH);
}
