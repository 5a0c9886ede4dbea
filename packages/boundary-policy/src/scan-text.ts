import { shannonEntropy } from "./shannon-entropy.js";
import { findPrivateKeys, PRIVATE_KEY_RULE, TOKEN_RULES, type TokenFamily, type TokenRule } from "./token-rules.js";
import type { UserPattern } from "./user-patterns.js";

/** One secret found in text: `start`/`end` delimit the span to redact (end exclusive). */
export interface Finding {
  /** Rule id, e.g. `github-pat`, `private-key` or `user-pattern-1`. */
  readonly rule: string;
  /** Token family for built-in rules (`github`, `anthropic`, …); `user` for user patterns. */
  readonly family: TokenFamily | "user";
  /** What was found, for reasons: never the secret itself. */
  readonly description: string;
  readonly start: number;
  readonly end: number;
}

const REDACTION_MARKER = /\[REDACTED:[a-z0-9-]{1,64}\]/g;

export function redactionMarker(rule: string): string {
  return `[REDACTED:${rule}]`;
}

/**
 * Every secret span in `text`, sorted by start; spans wholly inside another are dropped. Spans
 * inside an existing redaction marker are ignored, so redacting twice changes nothing.
 */
export function findSecrets(text: string, userPatterns: readonly UserPattern[]): Finding[] {
  const lower = text.toLowerCase();
  const findings: Finding[] = [];
  for (const rule of TOKEN_RULES) {
    if (rule.keywords.some((keyword) => lower.includes(keyword))) collectRuleMatches(rule, text, findings);
  }
  if (lower.includes("private key")) {
    for (const span of findPrivateKeys(text)) {
      findings.push({ rule: PRIVATE_KEY_RULE.id, family: PRIVATE_KEY_RULE.family, description: PRIVATE_KEY_RULE.description, ...span });
    }
  }
  // Kept apart from the built-in findings so a user match inside a provider's own token (which
  // that provider's login may carry) is not swallowed by it.
  const userFindings: Finding[] = [];
  for (const pattern of userPatterns) {
    if (pattern.scope === "name") continue;
    collectUserMatches(pattern, text, lower, userFindings);
  }
  const merged = [...dropContained(findings), ...dropContained(userFindings)].sort((a, b) => a.start - b.start || b.end - a.end);
  return dropInsideMarkers(text, merged);
}

function collectRuleMatches(rule: TokenRule, text: string, findings: Finding[]): void {
  const pattern = rule.pattern;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const [start, end] = match.indices?.[1] ?? match.indices?.[0] ?? [match.index, match.index + match[0].length];
    const secret = text.slice(start, end);
    if (rule.minEntropy !== undefined && shannonEntropy(secret) <= rule.minEntropy) continue;
    if (rule.allow?.(secret)) continue;
    findings.push({ rule: rule.id, family: rule.family, description: rule.description, start, end });
  }
}

function collectUserMatches(pattern: UserPattern, text: string, lower: string, findings: Finding[]): void {
  const description = `text matching the refuse pattern ${JSON.stringify(pattern.source)}`;
  for (const [start, end] of pattern.findSpans(text, lower)) findings.push({ rule: pattern.rule, family: "user", description, start, end });
}

function dropContained(findings: Finding[]): Finding[] {
  findings.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: Finding[] = [];
  let reach = -1;
  for (const finding of findings) {
    if (finding.end <= reach) continue;
    kept.push(finding);
    reach = finding.end;
  }
  return kept;
}

function dropInsideMarkers(text: string, findings: Finding[]): Finding[] {
  if (findings.length === 0 || !text.includes("[REDACTED:")) return findings;
  const markers = [...text.matchAll(REDACTION_MARKER)].map((m) => [m.index, m.index + m[0].length] as const);
  return findings.filter((f) => !markers.some(([start, end]) => f.start >= start && f.end <= end));
}

/** Replaces each (merged) finding span with a marker naming the rule that fired first in it. */
export function redactFindings(text: string, findings: readonly Finding[]): string {
  let out = "";
  let cursor = 0;
  let index = 0;
  while (index < findings.length) {
    const first = findings[index] as Finding;
    let end = first.end;
    index++;
    while (index < findings.length && (findings[index] as Finding).start < end) {
      end = Math.max(end, (findings[index] as Finding).end);
      index++;
    }
    out += text.slice(cursor, first.start) + redactionMarker(first.rule);
    cursor = end;
  }
  return out + text.slice(cursor);
}
