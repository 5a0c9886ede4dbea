import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AgentName } from "../session-stats.js";

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), "../../../../test-fixtures/transcripts");

/** Which renderer a fixture needs, from what SOURCES.md says about it. */
export function fixtureAgent(name: string): AgentName {
  if (/gemini/.test(name)) return "gemini";
  if (/codex|rollout-|kvsankar/.test(name)) return "codex";
  if (/jsonl_v040|gemini/.test(name)) return "gemini";
  return "claude";
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURE_DIR).filter((name) => name.endsWith(".jsonl") || name.endsWith(".json")).sort();
}

export function readFixture(name: string): string {
  return readFileSync(join(FIXTURE_DIR, name), "utf8");
}

export function fixtureRecords(name: string): Record<string, unknown>[] {
  return readFixture(name)
    .split("\n")
    .flatMap((line) => {
      try {
        const value = JSON.parse(line) as unknown;
        return typeof value === "object" && value !== null && !Array.isArray(value) ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}
