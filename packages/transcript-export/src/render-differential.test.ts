// The renderer writes nested callouts once, quoting each line at its final depth (callout-doc.ts);
// before, each callout quoted its finished body, once per level. These tests hold the two to the
// same bytes: on every fixture, on damaged fixtures, and on generated sections whose text is
// whitespace, newlines and lookalikes of the quoting itself, nested several levels deep.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClaudeSessionReader } from "./claude-session.js";
import { CodexSessionReader } from "./codex-session.js";
import { GeminiSessionReader } from "./gemini-session.js";
import { feedLine, stringLines } from "./jsonl-lines.js";
import { renderSection, type Part, type Section, type ToolCall } from "./note-sections.js";
import { parseGeminiDocument } from "./render-session.js";
import { resolveRenderOptions, type ResolvedRenderOptions } from "./render-options.js";
import { fixtureAgent, fixtureNames, readFixture } from "./test-support/fixtures.js";
import { referenceRenderSection } from "./test-support/reference-note-sections.js";
import type { TranscriptReader } from "./transcript-reader.js";

function sectionsOf(text: string, agent: "claude" | "codex" | "gemini", options: ResolvedRenderOptions): Section[] {
  const sections: Section[] = [];
  const sink = (section: Section): void => {
    sections.push(section);
  };
  if (agent === "gemini") {
    const document = parseGeminiDocument(text);
    if (document !== undefined) {
      const reader = new GeminiSessionReader(sink);
      reader.pushDocument(document);
      reader.finish();
      return sections;
    }
  }
  const reader: TranscriptReader = agent === "claude" ? new ClaudeSessionReader(options, sink) : agent === "codex" ? new CodexSessionReader(sink) : new GeminiSessionReader(sink);
  for (const line of stringLines(text)) if (!feedLine(reader, line)) break;
  reader.finish();
  return sections;
}

/** Both renderers over the same sections, each with its own turn state; also the streamed form. */
function renderBoth(sections: Section[], options: ResolvedRenderOptions): { current: string; streamed: string; reference: string } {
  const turnNow = { role: null };
  const turnStreamed = { role: null };
  const turnRef = { role: null };
  let current = "";
  let streamed = "";
  let reference = "";
  for (const section of sections) {
    current += renderSection(section, { options, depth: 0, turn: turnNow });
    renderSection(section, { options, depth: 0, turn: turnStreamed }, (piece) => {
      streamed += piece;
    });
    reference += referenceRenderSection(section, { options, depth: 0, turn: turnRef });
  }
  return { current, streamed, reference };
}

describe("nested callouts written once at their final depth", () => {
  const options = resolveRenderOptions();

  it.each(fixtureNames())("give the old renderer's bytes on %s", (name) => {
    const { current, streamed, reference } = renderBoth(sectionsOf(readFixture(name), fixtureAgent(name), options), options);
    expect(reference.length).toBeGreaterThan(0);
    expect(current).toBe(reference);
    expect(streamed).toBe(reference);
  });

  it("give the old renderer's bytes on damaged fixtures", () => {
    const fixtures = fixtureNames().map((name) => ({ lines: readFixture(name).split("\n"), agent: fixtureAgent(name) }));
    fc.assert(
      fc.property(fc.nat({ max: fixtures.length - 1 }), fc.nat(), fc.integer({ min: 1, max: 60 }), fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 6 }), (which, start, count, cuts) => {
        const fixture = fixtures[which] as (typeof fixtures)[number];
        const lines = fixture.lines.slice(start % fixture.lines.length, (start % fixture.lines.length) + count);
        for (const [line, at] of cuts) if (lines.length) lines[line % lines.length] = (lines[line % lines.length] as string).slice(0, at % 400);
        const { current, streamed, reference } = renderBoth(sectionsOf(lines.join("\n"), fixture.agent, options), options);
        expect(current).toBe(reference);
        expect(streamed).toBe(reference);
      }),
      { numRuns: 200, seed: 1313 },
    );
  }, 60_000);

  // Text made of what the quoting and trimming look at: newlines, blank lines, trailing spaces,
  // tabs, \r, NBSP, `>` and fences; and pieces long enough to cross the streamed writer's 16 KiB.
  const tricky = fc.oneof(
    fc.string({ unit: fc.constantFrom("\n", " ", "\t", "\r", "\u00a0", ">", "> ", "a", "`", "```", "#", "\u2028"), maxLength: 30 }),
    fc.string({ maxLength: 20 }),
    fc.constantFrom("", " ", "\n", "\n\n", "x\n", "\nx", "  \n  ", "a".repeat(20000) + "\n\n" + "b\n".repeat(5000) + "  "),
  );
  const result = fc.record({ text: tricky, isError: fc.boolean(), images: fc.constant<{ mediaType: string; data: string }[]>([]) });
  const part: fc.Memo<Part> = fc.memo((depth) =>
    fc.oneof(
      { depthSize: "small" },
      fc.record({ type: fc.constant("text" as const), text: tricky }),
      fc.record({ type: fc.constant("thinking" as const), text: tricky }),
      fc.record({ type: fc.constant("notice" as const), kind: fc.constantFrom("note", "info"), title: tricky, body: fc.option(tricky, { nil: undefined }), folded: fc.boolean() }),
      fc.record({ type: fc.constant("tool" as const), call: call(depth) }),
    ),
  );
  const call = (depth: number): fc.Arbitrary<ToolCall> =>
    fc.record({
      id: fc.constant("call"),
      name: fc.constantFrom("Bash", "Task", "Read", "Other"),
      input: fc.oneof(fc.constant(undefined), fc.record({ command: tricky, description: tricky }), fc.record({ prompt: tricky, description: tricky }), fc.record({ anything: tricky, more: fc.array(tricky, { maxLength: 2 }) })),
      result: fc.option(result, { nil: undefined }),
      subagents:
        depth <= 1
          ? fc.constant([])
          : fc.array(fc.record({ label: tricky, sections: fc.array(section(depth - 1), { maxLength: 3 }) }), { maxLength: 2 }),
    });
  const section = (depth: number): fc.Arbitrary<Section> =>
    fc.oneof(
      fc.record({ kind: fc.constant("user" as const), timestamp: fc.option(fc.constant("2025-01-01T00:00:00Z"), { nil: undefined }), parts: fc.array(part(depth), { maxLength: 3 }) }),
      fc.record({ kind: fc.constant("assistant" as const), model: fc.option(fc.constantFrom("m", " x "), { nil: undefined }), parts: fc.array(part(depth), { maxLength: 3 }) }),
      fc.record({ kind: fc.constant("event" as const), part: part(depth) }),
    );

  it("give the old renderer's bytes on generated sections nested up to four callouts deep", () => {
    fc.assert(
      fc.property(fc.array(section(4), { minLength: 1, maxLength: 4 }), fc.boolean(), (sections, includeThinking) => {
        const opts = { ...options, includeThinking };
        const { current, streamed, reference } = renderBoth(sections, opts);
        expect(current).toBe(reference);
        expect(streamed).toBe(reference);
      }),
      { numRuns: 1500, seed: 2026 },
    );
    // 1 500 runs take ~2 s on a quiet machine; a loaded one must not turn that into a failure.
  }, 60_000);
});
