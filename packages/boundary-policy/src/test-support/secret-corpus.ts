import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export interface CorpusCase {
  /** 1-based line in corpus.jsonl, the stable handle for the known-refusal list. */
  readonly line: number;
  readonly rule: string;
  readonly text: string;
  readonly expect: "match" | "no-match";
  readonly secret?: string;
  readonly source: string;
  readonly regexOnly?: "match" | "no-match";
}

export const CORPUS_PATH = fileURLToPath(new URL("../../../../test-fixtures/secrets/corpus.jsonl", import.meta.url));

export function loadSecretCorpus(): CorpusCase[] {
  return readFileSync(CORPUS_PATH, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, index) => {
      const raw = JSON.parse(line) as { rule: string; text: string; expect: "match" | "no-match"; secret?: string; source: string; regex_only?: "match" | "no-match" };
      return { line: index + 1, rule: raw.rule, text: raw.text, expect: raw.expect, secret: raw.secret, source: raw.source, regexOnly: raw.regex_only };
    });
}

const FAMILY_ALIASES: Record<string, string> = {
  gcp: "google",
  dockerhub: "docker",
  pem: "private-key",
  "hashicorp-vault": "vault",
  "hashicorp-tf": "hashicorp",
};

/** `gitleaks:slack-bot-token`, `secretlint:slack`, `noseyparker:np.slack.2` → `slack`. */
export function corpusFamily(rule: string): string {
  const id = rule.slice(rule.indexOf(":") + 1);
  if (id.startsWith("np.")) {
    const name = id.split(".")[1] as string;
    return FAMILY_ALIASES[name] ?? name;
  }
  if (FAMILY_ALIASES[id]) return FAMILY_ALIASES[id];
  for (const [prefix, family] of Object.entries(FAMILY_ALIASES)) if (id.startsWith(`${prefix}-`)) return family;
  if (id.startsWith("vault-")) return "vault";
  if (id.startsWith("private-key")) return "private-key";
  return id.split("-")[0] as string;
}
