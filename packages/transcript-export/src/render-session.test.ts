import matter from "gray-matter";
import { describe, expect, it } from "vitest";
import { renderClaudeSession, renderCodexSession, renderGeminiSession } from "./render-session.js";
import { fixtureAgent, fixtureNames, fixtureRecords, readFixture } from "./test-support/fixtures.js";
import { stripTerminalEscapes } from "./markdown.js";
import { noteSections, outsideFences } from "./test-support/markdown-structure.js";

const RENDERERS = { claude: renderClaudeSession, codex: renderCodexSession, gemini: renderGeminiSession };
const render = (name: string): string => RENDERERS[fixtureAgent(name)](readFixture(name));

const POMODORO = "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl";
const INLINE_SIDECHAINS = "d-kimuson__claude-code-viewer__5c0375b4-57a5-4f26-b12d-d022ee4e51b7.jsonl";
const PARALLEL_SIDECHAINS = "d-kimuson__claude-code-viewer__fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl";
const COMPACTED = "dagster-io__erk__a5c478e1-0d31-46d4-9fd6-3b6b203b3752.jsonl";
const REWIND_COMPACT = "daaain__claude-code-log__dag_compact_after_rewind.jsonl";
const CORRUPTED = "S2thend__claude-code-history__corrupted-session.jsonl";
const EDGE_CASES = "daaain__claude-code-log__edge_cases.jsonl";
const AGENT_ID_LINK = "daaain__claude-code-log__sidechain_integrated.jsonl";

describe("every fixture", () => {
  for (const name of fixtureNames()) {
    it(`renders ${name} to a stable note`, async () => {
      const note = render(name);
      expect(render(name)).toBe(note);
      await expect(note).toMatchFileSnapshot(`__snapshots__/${name.replace(/\.jsonl?$/, "")}.md`);
    });

    it(`writes frontmatter for ${name} that gray-matter reads back`, () => {
      const { data } = matter(render(name));
      for (const key of ["session_id", "agent", "project", "cwd", "git_branch", "model", "models", "started", "ended", "turns", "tool_calls", "tokens", "tags"]) {
        expect(data).toHaveProperty(key);
      }
      expect(data.agent).toBe(fixtureAgent(name));
      if (fixtureAgent(name) === "claude") expect(data).toHaveProperty("claude_version");
    });
  }
});

describe("Claude Code sessions", () => {
  it("merges the lines of one message into one section and counts its usage once, at its largest", () => {
    const records = fixtureRecords(POMODORO).filter((record) => record.type === "assistant");
    const byId = new Map<string, Record<string, number>[]>();
    for (const record of records) {
      const message = record.message as { id: string; usage: Record<string, number> };
      byId.set(message.id, [...(byId.get(message.id) ?? []), message.usage]);
    }
    expect([...byId.values()].some((usages) => usages.length > 1)).toBe(true);
    const note = renderClaudeSession(readFixture(POMODORO));
    // One `## assistant` heading per turn, however many messages the turn holds.
    const assistants = noteSections(note).filter((section) => section.heading === "assistant").length;
    expect(assistants).toBeGreaterThan(0);
    expect(assistants).toBeLessThan(byId.size);
    expect(assistants).toBeLessThanOrEqual(matter(note).data.turns);
    const largest = (field: string): number => [...byId.values()].reduce((sum, usages) => sum + Math.max(...usages.map((usage) => usage[field] ?? 0)), 0);
    expect(matter(note).data.tokens).toEqual({
      input: largest("input_tokens"),
      output: largest("output_tokens"),
      cache_creation: largest("cache_creation_input_tokens"),
      cache_read: largest("cache_read_input_tokens"),
    });
  });

  it("keeps the text of every tool result, inside the folded callout of its call", () => {
    // A callout quotes every line of its body (once per level of nesting).
    const unquoted = (text: string): string => text.split("\n").map((line) => line.replace(/^(> ?)+/, "")).join("\n");
    for (const name of fixtureNames().filter((fixture) => fixtureAgent(fixture) === "claude")) {
      const foldResultsOver = 800;
      const rendered = renderClaudeSession(readFixture(name), { foldResultsOver });
      const note = unquoted(rendered);
      expect(rendered).not.toMatch(/^(> )*> \[!(example|failure)\] Tool:/m);
      for (const record of fixtureRecords(name)) {
        const content = (record.message as { content?: unknown } | undefined)?.content;
        if (!Array.isArray(content)) continue;
        for (const block of content) {
          if (block?.type !== "tool_result") continue;
          const text = typeof block.content === "string" ? block.content : Array.isArray(block.content) ? block.content.filter((part: { type?: string }) => part.type === "text").map((part: { text: string }) => part.text).join("\n") : "";
          const expected = unquoted(stripTerminalEscapes(text).replace(/\n$/, ""));
          if (!expected) continue;
          const occurrences: number[] = [];
          for (let at = note.indexOf(expected); at >= 0; at = note.indexOf(expected, at + 1)) occurrences.push(at);
          expect(occurrences.length, `${name}: result of ${String(block.tool_use_id)}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it("pairs each result with its call by tool_use_id and marks errors", () => {
    const note = renderClaudeSession(readFixture(EDGE_CASES));
    const call = note.indexOf("> [!failure]- Tool: FailingTool (error)");
    const error = note.indexOf("**Error**", call);
    expect(call).toBeGreaterThan(0);
    expect(note.slice(error, note.indexOf("\n## ", error))).toContain("Error: Tool execution failed with error: Command not found");
  });

  it("places inline sidechains under the Task call that spawned them", () => {
    const note = renderClaudeSession(readFixture(INLINE_SIDECHAINS));
    const task = note.indexOf("Tool: Task `general-purpose` — Check package configuration");
    const subagent = note.indexOf("[!example]- Subagent conversation: Check package configuration");
    const following = note.indexOf("\n## ", task);
    const nextSection = following < 0 ? note.length : following;
    expect(task).toBeGreaterThan(0);
    expect(subagent).toBeGreaterThan(task);
    expect(subagent).toBeLessThan(nextSection);
    expect(note.slice(subagent, nextSection)).toContain("I'll examine the package.json files");
    // Sidechain turns are not the user's.
    for (const section of noteSections(note).filter((entry) => entry.heading === "user")) {
      expect(section.text).not.toContain("Examine the package.json file(s)");
    }
  });

  it("places every one of several parallel subagents under its own Task call", () => {
    const note = renderClaudeSession(readFixture(PARALLEL_SIDECHAINS));
    const tasks = fixtureRecords(PARALLEL_SIDECHAINS).flatMap((record) =>
      record.isSidechain !== true && Array.isArray((record.message as { content?: unknown })?.content)
        ? ((record.message as { content: { type: string; name?: string; input?: { description?: string } }[] }).content.filter((block) => block.type === "tool_use" && block.name === "Task"))
        : [],
    );
    expect(tasks.length).toBeGreaterThan(1);
    for (const task of tasks) expect(note).toContain(`[!example]- Subagent conversation: ${task.input?.description}`);
  });

  it("links a sidechain to its Task call through the agentId on the result", () => {
    const note = renderClaudeSession(readFixture(AGENT_ID_LINK));
    const task = note.indexOf("Tool: Task");
    const grep = note.indexOf("Tool: Grep");
    expect(task).toBeGreaterThan(0);
    expect(grep).toBeGreaterThan(task);
    expect(note.lastIndexOf("Subagent conversation", grep)).toBeGreaterThan(task);
  });

  it("shows compaction as a boundary with its summary, not as a user turn", () => {
    for (const name of [COMPACTED, REWIND_COMPACT]) {
      const note = renderClaudeSession(readFixture(name));
      expect(note).toMatch(/> \[!info\] Conversation compacted \(auto trigger, [\d,]+ tokens before\)/);
      expect(note).toContain("> [!abstract]- Summary the compacted conversation continues from");
      for (const section of noteSections(note).filter((entry) => entry.heading === "user")) {
        expect(section.text).not.toContain("This session is being continued from a previous conversation");
      }
    }
  });

  it("never renders slash commands, expanded prompts, meta or hook lines as text the user typed", () => {
    for (const name of [PARALLEL_SIDECHAINS, INLINE_SIDECHAINS, EDGE_CASES, POMODORO, "dagster-io__erk__26efdcc5-de34-4028-a984-9a094a9fa95b.jsonl"]) {
      const note = renderClaudeSession(readFixture(name));
      for (const section of noteSections(note).filter((entry) => entry.heading === "user")) {
        // What the user typed is the section's own text; what Claude Code added is in callouts.
        const typed = section.text.split("\n").filter((line) => !line.startsWith(">")).join("\n");
        expect(typed).not.toMatch(/<command-name>|<command-message>|<local-command-stdout>|<bash-input>|Caveat: The messages below/);
        expect(typed).not.toContain("Split complex tasks into independent subtasks");
      }
    }
    const note = renderClaudeSession(readFixture(PARALLEL_SIDECHAINS));
    // Running the command is the user's turn; the prompt it expands to is folded, marked as not typed.
    expect(note).toMatch(/## user\n\n(\*[^*\n]+\*\n\n)?`\/orchestrator create TODO app by Next\.js`/);
    expect(note).toContain("> [!note]- Prompt expanded from `/orchestrator` (added by Claude Code, not typed)");
  });

  it("counts malformed lines with their line numbers and renders the rest", () => {
    const corrupted = renderClaudeSession(readFixture(CORRUPTED));
    expect(matter(corrupted).data.malformed_lines).toBe(2);
    expect(corrupted).toContain("Line 3 of the session file could not be read");
    expect(corrupted).toContain("Line 4 of the session file could not be read");
    expect(corrupted).toContain("Another valid message after corruption");

    const edge = renderClaudeSession(readFixture(EDGE_CASES));
    for (const line of [13, 15, 16]) expect(edge).toContain(`Line ${line} of the session file could not be read (not a JSON object)`);
    expect(edge).toContain("Testing special characters: café, naïve, résumé, 中文");
  });

  it("does not count an unfinished last line as malformed", () => {
    const text = readFixture(CORRUPTED).split("\n").slice(0, 2).join("\n");
    const note = renderClaudeSession(`${text}\n{"type":"user","message":{"role":"us`);
    expect(matter(note).data.malformed_lines).toBe(0);
  });

  it("keeps session text from breaking the note: fences are widened and HTML is escaped", () => {
    const evil = "Here is a fence ````\nstill open ``` and <script>alert(1)</script>\n## user\n</details>";
    const lines = [
      { type: "user", uuid: "u1", sessionId: "s", timestamp: "2025-01-01T00:00:00Z", cwd: "/w", message: { role: "user", content: evil } },
      { type: "assistant", uuid: "a1", timestamp: "2025-01-01T00:00:01Z", message: { id: "m1", role: "assistant", model: "m", content: [{ type: "thinking", thinking: evil }, { type: "text", text: evil }, { type: "tool_use", id: "t1", name: "Bash", input: { command: "echo '````' <b>" } }] } },
      { type: "user", uuid: "u2", timestamp: "2025-01-01T00:00:02Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: `${evil}\n${"x".repeat(3000)}` }] } },
      { type: "assistant", uuid: "a2", timestamp: "2025-01-01T00:00:03Z", message: { id: "m2", role: "assistant", model: "m", content: [{ type: "text", text: "after" }] } },
    ];
    const note = renderClaudeSession(lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
    const visible = outsideFences(note);
    expect(visible).not.toContain("<script>");
    expect(visible).not.toMatch(/<details>|<\/details>/);
    expect(noteSections(note).map((section) => section.heading)).toEqual(["user", "assistant"]);
    expect(noteSections(note).at(-1)?.text).toContain("after");
    expect(note).toContain("````` \n".trim()); // the Bash command's fence is wider than its '````'
  });

  it("writes images beside the note and links them instead of inlining base64", () => {
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex").toString("base64");
    const assets: string[] = [];
    const note = renderClaudeSession(
      JSON.stringify({ type: "user", timestamp: "2025-01-01T00:00:00Z", message: { role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: png } }, { type: "text", text: "look" }] } }) + "\n",
      { onAsset: (fileName) => assets.push(fileName) },
    );
    expect(assets).toHaveLength(1);
    expect(note).toContain(`![image](${assets[0]})`);
    expect(note).not.toContain(png);
  });

  it("renders thinking in a folded callout, says when it is empty, and leaves it out on request", () => {
    const note = renderClaudeSession(readFixture("dagster-io__erk__26efdcc5-de34-4028-a984-9a094a9fa95b.jsonl"));
    expect(note).toContain("> [!quote]- Thinking");
    const empty = renderClaudeSession(JSON.stringify({ type: "assistant", message: { id: "m", role: "assistant", content: [{ type: "thinking", thinking: "", signature: "x" }] } }) + "\n");
    expect(empty).toContain("Thinking: empty");
    expect(renderClaudeSession(readFixture(POMODORO), { includeThinking: false })).not.toContain("[!quote]- Thinking");
  });

  it("takes project and cwd from the records, not from the encoded directory name", () => {
    const { data } = matter(renderClaudeSession(readFixture(AGENT_ID_LINK)));
    expect(data.cwd).toBe("e:\\Workspace\\src\\github\\claude-code-log");
    expect(data.project).toBe("claude-code-log");
  });
});

describe("Codex and Gemini sessions", () => {
  it("renders a Codex rollout with its prompts, shell calls paired with output, and patches", () => {
    const note = renderCodexSession(readFixture("yoavf__ai-sessions__codex-pomodor-timer.jsonl"));
    const sections = noteSections(note);
    expect(sections.filter((section) => section.heading === "user")).toHaveLength(3);
    expect(sections[0]?.text).toContain("Build a simple Pomodoro timer web app");
    expect(note).toContain("> [!example]- Tool: apply_patch");
    expect(note).toContain("Success. Updated the following files:");
    expect(note).not.toMatch(/## user\n\n[^#]*<environment_context>/);
    expect(matter(note).data.models).toEqual(["gpt-5-codex"]);
  });

  it("renders a Gemini JSONL chat, honouring $set, $rewindTo and re-appended message ids", () => {
    const lines = [
      { sessionId: "g1", projectHash: "h", startTime: "2026-01-01T00:00:00Z", kind: "main" },
      { id: "u1", timestamp: "2026-01-01T00:00:01Z", type: "user", content: [{ text: "first prompt" }] },
      { id: "a1", timestamp: "2026-01-01T00:00:02Z", type: "gemini", content: "draft answer", model: "gemini-x" },
      { id: "a1", timestamp: "2026-01-01T00:00:02Z", type: "gemini", content: "final answer", model: "gemini-x" },
      { id: "u2", timestamp: "2026-01-01T00:00:03Z", type: "user", content: "abandoned prompt" },
      { $rewindTo: "u2" },
      { $set: { summary: "A titled chat" } },
      { id: "u3", timestamp: "2026-01-01T00:00:04Z", type: "user", content: "second prompt" },
    ];
    const note = renderGeminiSession(lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
    expect(note).toContain("final answer");
    expect(note).not.toContain("draft answer");
    expect(note).not.toContain("abandoned prompt");
    expect(noteSections(note).map((section) => section.heading)).toEqual(["user", "assistant", "user"]);
    expect(matter(note).data.title).toBe("A titled chat");
  });

  it("renders the older whole-file Gemini .json chat", () => {
    const document = { sessionId: "g2", projectHash: "h", startTime: "2025-08-01T00:00:00Z", lastUpdated: "2025-08-01T00:01:00Z", messages: [
      { id: "1", timestamp: "2025-08-01T00:00:10Z", type: "user", content: "hello" },
      { id: "2", timestamp: "2025-08-01T00:00:20Z", type: "gemini", content: "hi", thoughts: [{ subject: "Greeting", description: "say hi" }], toolCalls: [{ id: "c", name: "run_shell_command", args: { command: "ls" }, status: "success", result: [{ functionResponse: { id: "c", name: "run_shell_command", response: { output: "README.md" } } }] }] },
    ] };
    const note = renderGeminiSession(JSON.stringify(document, null, 2));
    expect(note).toContain("> ```sh\n> ls\n> ```");
    expect(note).toContain("README.md");
    expect(matter(note).data.tool_calls).toBe(1);
  });
});
