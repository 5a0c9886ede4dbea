// Defects found on real sessions the exporter had never seen (issue 13), each reproduced on a
// session file from test-fixtures/transcripts (see SOURCES.md) through exportSessions, the path
// `sbx export` takes.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import matter from "gray-matter";
import { afterEach, describe, expect, it } from "vitest";
import { exportSessions, type ExportOptions } from "./export-sessions.js";
import { FIXTURE_DIR, fixtureAgent, fixtureNames } from "./test-support/fixtures.js";
import { structuralProblems } from "./test-support/note-structure.js";

const LEGACY_CODEX = "yoavf__ai-sessions__codex-pomodor-timer__legacy-format.jsonl";
const LEGACY_CODEX_SMALL = "daaain__claude-code-log__rollout-44444444-4444-4444-8444-444444444444.jsonl";
const VSCODE_CODEX = "yoavf__ai-sessions__codex-pomodor-timer__vscode-ide-context.jsonl";
const CODEX = "yoavf__ai-sessions__codex-pomodor-timer.jsonl";
const GEMINI = "yoavf__ai-sessions__gemini-cli-pomodoro-timer.json";
const CLAUDE_21 = "dagster-io__erk__396380b6-a653-4cf2-8101-87a91b3eeb41.jsonl";
const POMODORO = "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl";
const PLAN_IMPLEMENT = "dagster-io__erk__26efdcc5-de34-4028-a984-9a094a9fa95b.jsonl";

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sbx-real-"));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Exports the fixtures (under the given file names) into a fresh inbox; returns the run and its notes. */
async function exportFixtures(files: Record<string, string>, options: Partial<ExportOptions> = {}) {
  const source = tempDir();
  const inbox = tempDir();
  for (const [fixture, target] of Object.entries(files)) {
    mkdirSync(join(source, target, ".."), { recursive: true });
    cpSync(join(FIXTURE_DIR, fixture), join(source, target));
  }
  const result = await exportSessions({ source, inbox, ...options });
  return { source, inbox, result, notes: result.notes.map((path) => ({ path, text: readFileSync(path, "utf8") })) };
}

const toolCallouts = (note: string, tool: string): number => note.split("\n").filter((line) => line.startsWith(`> [!example]- Tool: ${tool}`) || line.startsWith(`> [!failure]- Tool: ${tool}`)).length;

describe("Codex rollouts of every format", () => {
  it("renders an old-format rollout (before session_meta) with its messages and tool calls, recognised without --agent and dated", async () => {
    const { result, notes } = await exportFixtures({ [LEGACY_CODEX]: "2025/10/21/rollout-2025-10-21T20-02-50-019a085e-04c1-7f81-a09e-9555f6a1fb40.jsonl" });
    expect(result.failed).toEqual([]);
    const note = notes[0]?.text ?? "";
    const { data } = matter(note);
    expect(data.agent).toBe("codex");
    expect(data.session_id).toBe("019a085e-04c1-7f81-a09e-9555f6a1fb40");
    expect(notes[0]?.path).not.toContain("undated");
    const calls = readFileSync(join(FIXTURE_DIR, LEGACY_CODEX), "utf8").split("\n").filter((line) => /"type":"(function_call|custom_tool_call)"/.test(line)).length;
    expect(calls).toBeGreaterThan(10);
    expect(data.tool_calls).toBe(calls);
    expect(data.turns).toBeGreaterThan(0);
    expect(note).toContain("Pomodoro");
  });

  it("renders the smallest old-format rollout (a bare header, no state marker)", async () => {
    const { result, notes } = await exportFixtures({ [LEGACY_CODEX_SMALL]: LEGACY_CODEX_SMALL });
    expect(result.failed).toEqual([]);
    expect(notes[0]?.text).toContain("Open the synthetic legacy session.");
    expect(notes[0]?.text).toContain("The synthetic legacy session is open.");
  });

  it("reports a file it cannot make sense of instead of writing an empty note", async () => {
    const source = tempDir();
    const inbox = tempDir();
    writeFileSync(join(source, "rollout-2025-01-01T00-00-00-0badf11e-0000-4000-8000-000000000000.jsonl"), '{"unknown":"record"}\n{"also":"not codex"}\n');
    const result = await exportSessions({ source, inbox, agent: "codex" });
    expect(result.written).toBe(0);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]?.reason).toMatch(/no conversation/i);
  });

  it("titles a Codex VS Code session by its request, not the IDE context", async () => {
    const { notes } = await exportFixtures({ [VSCODE_CODEX]: "rollout-2025-10-21T20-02-50-019a085e-04c1-7f81-a09e-9555f6a1fb40.jsonl" });
    const { data, content } = matter(notes[0]?.text ?? "");
    expect(data.title).toMatch(/^Build a simple Pomodoro timer/);
    expect(content).toMatch(/\n# Build a simple Pomodoro timer/);
    expect(notes[0]?.path).toMatch(/build-a-simple-pomodoro-timer/);
  });

  it("drops a leading Markdown heading's # from the title", async () => {
    const source = tempDir();
    const record = { type: "user", uuid: "u1", sessionId: "5e55a0b1-0000-4000-8000-00000000c0de", timestamp: "2026-01-01T00:00:00Z", message: { role: "user", content: "# Fix the flaky build\n\nIt fails on CI only." } };
    writeFileSync(join(source, "5e55a0b1-0000-4000-8000-00000000c0de.jsonl"), `${JSON.stringify(record)}\n`);
    const result = await exportSessions({ source, inbox: tempDir(), agent: "claude" });
    expect(matter(readFileSync(result.notes[0] as string, "utf8")).data.title).toBe("Fix the flaky build");
  });

  it("names a note without a session id by the UUID in the rollout's file name, wherever the file is", async () => {
    const rollout = readFileSync(join(FIXTURE_DIR, CODEX), "utf8").split("\n").filter((line) => !line.includes('"type":"session_meta"')).join("\n");
    const name = "rollout-2025-10-21T20-02-50-019a085e-04c1-7f81-a09e-9555f6a1fb40.jsonl";
    const names: string[] = [];
    for (const folder of ["a", "b/c"]) {
      const source = tempDir();
      mkdirSync(join(source, folder), { recursive: true });
      writeFileSync(join(source, folder, name), rollout);
      const result = await exportSessions({ source, inbox: tempDir(), agent: "codex" });
      names.push(basename(result.notes[0] ?? ""));
    }
    expect(names[0]).toBe(names[1]);
    expect(names[0]).toMatch(/-019a085e\.md$/);
  });
});

describe("Gemini CLI file tools", () => {
  it("shows write_file as the file in a fenced block and replace as a diff", async () => {
    const { notes } = await exportFixtures({ [GEMINI]: "chats/session-2025-10-21T20-10-pomodoro.json" });
    const note = notes[0]?.text ?? "";
    const calls = (JSON.parse(readFileSync(join(FIXTURE_DIR, GEMINI), "utf8")) as { messages: { toolCalls?: { name: string }[] }[] }).messages.flatMap((message) => message.toolCalls ?? []);
    expect(toolCallouts(note, "write_file")).toBe(calls.filter((call) => call.name === "write_file").length);
    expect(toolCallouts(note, "replace")).toBe(calls.filter((call) => call.name === "replace").length);
    expect(calls.filter((call) => call.name === "replace").length).toBeGreaterThan(3);
    // The file's own lines, not one line of JSON with \n escapes.
    expect(note).not.toMatch(/"content": "<!DOCTYPE/);
    expect(note).toMatch(/> ```html\n> <!DOCTYPE html>/i);
    expect(note).toMatch(/> ```diff\n(> .*\n)*> [-+]/);
  });
});

describe("Claude Code 2.1 sessions", () => {
  it("filters the wrapped local-command caveat, strips terminal colours, and keeps /model's output", async () => {
    const { notes } = await exportFixtures({ [CLAUDE_21]: "-ws/396380b6-a653-4cf2-8101-87a91b3eeb41.jsonl" });
    const note = notes[0]?.text ?? "";
    expect(note).not.toContain("local-command-caveat");
    expect(note).not.toContain("Caveat: The messages below");
    expect(note).not.toMatch(/\u001b/);
    expect(note).toContain("Set model to Default (Opus 4.6");
  });

  it("keeps subagent tool calls recorded only in agent_progress lines, under their Task call", async () => {
    const { notes } = await exportFixtures({ [CLAUDE_21]: "-ws/396380b6-a653-4cf2-8101-87a91b3eeb41.jsonl" });
    const note = notes[0]?.text ?? "";
    // The subagent ran `make fast-ci` through Bash; that call lives only in agent_progress lines.
    expect(note).toMatch(/> > (> )*\[!(example|failure)\]- Tool: Bash — Run fast-ci make target and report results/);
  });

  it("picks up an in-place edit far before the end of the file, at equal size", async () => {
    const source = tempDir();
    const inbox = tempDir();
    const file = join(source, "36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2.jsonl");
    cpSync(join(FIXTURE_DIR, POMODORO), file);
    await exportSessions({ source, inbox, agent: "claude" });
    const original = readFileSync(file, "utf8");
    const at = original.indexOf("Pomodoro", 20_000);
    expect(statSync(file).size - Buffer.byteLength(original.slice(0, at))).toBeGreaterThan(64 * 1024);
    writeFileSync(file, `${original.slice(0, at)}Tomatoro${original.slice(at + "Pomodoro".length)}`);
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    const second = await exportSessions({ source, inbox, agent: "claude" });
    expect(second.written).toBe(1);
    expect(readFileSync(second.notes[0] as string, "utf8")).toContain("Tomatoro");
  });

  it("picks up an edit far before the end when the file also grew", async () => {
    const source = tempDir();
    const inbox = tempDir();
    const file = join(source, "36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2.jsonl");
    cpSync(join(FIXTURE_DIR, POMODORO), file);
    await exportSessions({ source, inbox, agent: "claude" });
    const original = readFileSync(file, "utf8");
    const at = original.indexOf("Pomodoro", 20_000);
    const lines = original.trimEnd().split("\n");
    writeFileSync(file, `${original.slice(0, at)}Tomatoro${original.slice(at + "Pomodoro".length)}${lines.at(-1)}\n`);
    const second = await exportSessions({ source, inbox, agent: "claude" });
    expect(readFileSync(second.notes[0] as string, "utf8")).toContain("Tomatoro");
  });

  it("exports a session file named just .jsonl", async () => {
    const { result } = await exportFixtures({ [POMODORO]: "-ws/.jsonl" }, { agent: "claude" });
    expect(result.written).toBe(1);
  });
});

describe("the shape of a note", () => {
  it("has one ## assistant heading per turn: 13 prompts, 13 assistant sections", async () => {
    const { notes } = await exportFixtures({ [POMODORO]: "36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2.jsonl" });
    const note = notes[0]?.text ?? "";
    const users = note.split("\n").filter((line) => line === "## user").length;
    const assistants = note.split("\n").filter((line) => line === "## assistant").length;
    expect(users).toBe(matter(note).data.turns);
    expect(assistants).toBeLessThanOrEqual(users);
    expect(assistants).toBeGreaterThan(0);
  });

  it("shows a session that starts with a slash command as the user's first turn", async () => {
    const { notes } = await exportFixtures({ [PLAN_IMPLEMENT]: "26efdcc5-de34-4028-a984-9a094a9fa95b.jsonl" });
    const note = matter(notes[0]?.text ?? "").content;
    const firstHeading = note.split("\n").find((line) => line.startsWith("## "));
    expect(firstHeading).toBe("## user");
    expect(note.slice(note.indexOf("## user"))).toMatch(/^## user\n\n(\*[^*]+\*\n\n)?`\/erk:plan-implement`/);
  });

  it("folds tool calls, results and thinking in Obsidian callouts, never HTML <details>", async () => {
    const { notes } = await exportFixtures({ [POMODORO]: "36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2.jsonl" });
    const note = notes[0]?.text ?? "";
    expect(note).not.toContain("<details>");
    expect(note).toMatch(/^> \[!example\]- Tool: Write `/m);
    expect(note).toMatch(/^> \[!quote\]- Thinking/m);
  });

  it("passes the structural check for every fixture: YAML frontmatter, one heading per turn, no raw HTML, balanced fences, no ANSI", async () => {
    const problems: Record<string, string[]> = {};
    for (const name of fixtureNames()) {
      const target = name.endsWith(".json") ? `chats/${name}` : name;
      const { notes, result } = await exportFixtures({ [name]: target }, { agent: fixtureAgent(name) });
      for (const note of notes) {
        const found = structuralProblems(note.text);
        if (found.length) problems[name] = found.slice(0, 5);
      }
      if (result.failed.length) problems[name] = result.failed.map((entry) => entry.reason);
    }
    expect(problems).toEqual({});
  });
});

describe("the host project", () => {
  it("names the host project and its path in the frontmatter, not the sandbox's /workspace", async () => {
    const { notes } = await exportFixtures({ [POMODORO]: "-workspace/36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2.jsonl" }, { project: { name: "pomodoro", path: "/home/me/src/pomodoro" } });
    const { data } = matter(notes[0]?.text ?? "");
    expect(data.project).toBe("pomodoro");
    expect(data.project_path).toBe("/home/me/src/pomodoro");
    expect(data.tags).toContain("project/pomodoro");
  });
});

it("lists every fixture with a source line in SOURCES.md", () => {
  const sources = readFileSync(join(FIXTURE_DIR, "SOURCES.md"), "utf8");
  expect(readdirSync(FIXTURE_DIR).filter((name) => /\.jsonl?$/.test(name) && !sources.includes(`\`${name}\``))).toEqual([]);
});
