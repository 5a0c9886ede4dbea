import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { exportSessions } from "./export-sessions.js";
import { renderClaudeSession } from "./render-session.js";
import { FIXTURE_DIR } from "./test-support/fixtures.js";

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sbx-export-"));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function notesIn(inbox: string): Map<string, number> {
  const root = join(inbox, "conversations");
  const notes = new Map<string, number>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".md")) notes.set(relative(root, path), statSync(path).mtimeMs);
    }
  };
  walk(root);
  return notes;
}

const POMODORO = "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl";

function line(record: Record<string, unknown>): string {
  return `${JSON.stringify(record)}\n`;
}

describe("exportSessions", () => {
  it("writes one note per session and nothing on a second run", async () => {
    const source = tempDir();
    const inbox = tempDir();
    cpSync(FIXTURE_DIR, source, { recursive: true });
    const first = await exportSessions({ source, inbox });
    const sessions = readdirSync(source).filter((name) => name.endsWith(".jsonl")).length;
    expect(first.written).toBe(sessions);
    expect(first.failed).toEqual([]);
    const before = notesIn(inbox);
    expect(before.size).toBe(sessions);

    const second = await exportSessions({ source, inbox });
    expect(second).toMatchObject({ written: 0, unchanged: sessions, malformedLines: [] });
    expect(notesIn(inbox)).toEqual(before);
  });

  it("reports malformed lines with file and line number", async () => {
    const source = tempDir();
    const inbox = tempDir();
    cpSync(join(FIXTURE_DIR, "S2thend__claude-code-history__corrupted-session.jsonl"), join(source, "corrupted.jsonl"));
    const result = await exportSessions({ source, inbox, agent: "claude" });
    expect(result.malformedLines.map((entry) => [relative(source, entry.file), entry.line])).toEqual([
      ["corrupted.jsonl", 3],
      ["corrupted.jsonl", 4],
    ]);
  });

  it("rewrites exactly the note of the session that grew, to the same bytes as a full render", async () => {
    const source = tempDir();
    const inbox = tempDir();
    cpSync(FIXTURE_DIR, source, { recursive: true });
    await exportSessions({ source, inbox });
    const before = notesIn(inbox);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const sessionPath = join(source, POMODORO);
    appendFileSync(
      sessionPath,
      line({ type: "user", uuid: "new-u", sessionId: "s", timestamp: "2025-10-21T21:00:00.000Z", message: { role: "user", content: "One more thing: add a dark mode." } }) +
        line({ type: "assistant", uuid: "new-a", timestamp: "2025-10-21T21:00:05.000Z", message: { id: "msg_new", role: "assistant", model: "claude-sonnet-4-5-20250929", content: [{ type: "text", text: "Dark mode added." }], usage: { input_tokens: 1, output_tokens: 2 } } }),
    );
    const result = await exportSessions({ source, inbox });
    expect(result.written).toBe(1);
    const after = notesIn(inbox);
    const changed = [...after].filter(([path, mtime]) => before.get(path) !== mtime).map(([path]) => path);
    expect(changed).toHaveLength(1);
    const note = readFileSync(join(inbox, "conversations", changed[0] as string), "utf8");
    expect(note).toContain("Dark mode added.");
    expect(note).toBe(renderClaudeSession(readFileSync(sessionPath, "utf8")));
  });

  it("writes a note larger than the body writer's buffer, and one smaller, to the same bytes as a full render", async () => {
    const source = tempDir();
    const inbox = tempDir();
    // A note under 1 MiB is written from memory; above it the body goes through a staging file.
    const big = join(source, "big.jsonl");
    const lines: string[] = [];
    for (let index = 0; index < 40; index += 1) {
      const output = `${"result line of a long command output ".repeat(40)}\n`.repeat(60);
      lines.push(
        line({ type: "user", uuid: `u${index}`, sessionId: "big", timestamp: "2025-10-21T21:00:00.000Z", message: { role: "user", content: `prompt ${index}` } }),
        line({ type: "assistant", uuid: `a${index}`, timestamp: "2025-10-21T21:00:01.000Z", message: { id: `m${index}`, role: "assistant", model: "claude-sonnet-4-5-20250929", content: [{ type: "tool_use", id: `t${index}`, name: "Bash", input: { command: "make" } }] } }),
        line({ type: "user", uuid: `r${index}`, timestamp: "2025-10-21T21:00:02.000Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: `t${index}`, content: output }] } }),
      );
    }
    lines.push(line({ type: "assistant", uuid: "last", timestamp: "2025-10-21T21:00:03.000Z", message: { id: "m-last", role: "assistant", content: [{ type: "text", text: "The very last words." }] } }));
    writeFileSync(big, lines.join(""));
    cpSync(join(FIXTURE_DIR, POMODORO), join(source, POMODORO));
    const result = await exportSessions({ source, inbox, agent: "claude" });
    expect(result.written).toBe(2);
    for (const sessionPath of [big, join(source, POMODORO)]) {
      const expected = renderClaudeSession(readFileSync(sessionPath, "utf8"));
      const note = result.notes.map((path) => readFileSync(path, "utf8")).find((text) => text === expected);
      expect(note, sessionPath).toBeDefined();
    }
    const sizes = result.notes.map((path) => statSync(path).size).sort((a, b) => a - b);
    expect(sizes[0]).toBeLessThan(1024 * 1024);
    expect(sizes[1]).toBeGreaterThan(2 * 1024 * 1024);
  });

  it("continues a large session from where it stopped: its history is not parsed again", async () => {
    const source = tempDir();
    const inbox = tempDir();
    const sessionPath = join(source, POMODORO);
    // Over the 8 MiB a whole-prefix proof covers: the proof then samples 4 KiB per MiB plus the tail.
    const lines = readFileSync(join(FIXTURE_DIR, POMODORO), "utf8").split("\n").filter(Boolean);
    const copies: string[] = [];
    for (let copy = 0; copies.join("\n").length < 9 * 1024 * 1024; copy += 1) {
      copies.push(...lines.map((text) => text.replace(/"(uuid|parentUuid|id|tool_use_id)":"([^"]+)"/g, (_, key: string, value: string) => `"${key}":"${value}-c${copy}"`)));
    }
    writeFileSync(sessionPath, `${copies.join("\n")}\n`);
    const first = await exportSessions({ source, inbox });
    const original = readFileSync(sessionPath);
    // An early byte between two samples, far from the tail: only a run that re-read history could see it.
    const marker = original.indexOf("pomodoro", 1024 * 1024 + 64 * 1024);
    expect(marker % (1024 * 1024)).toBeGreaterThan(8 * 1024);
    expect(marker).toBeLessThan(original.length - 128 * 1024);
    original.write("POMODORO", marker);
    writeFileSync(sessionPath, original);
    appendFileSync(sessionPath, line({ type: "user", uuid: "later", timestamp: "2025-10-21T22:00:00.000Z", message: { role: "user", content: "a later prompt" } }));
    const second = await exportSessions({ source, inbox });
    expect(second.written).toBe(1);
    const note = readFileSync(first.notes[0] as string, "utf8");
    expect(note).toContain("a later prompt");
    expect(note).not.toContain("POMODORO");
    // A 9 MB session exported twice: seconds on a loaded 2-core machine (no time is asserted).
  }, 60_000);

  it("leaves a half-written last line for the next run instead of reporting or dropping it", async () => {
    const source = tempDir();
    const inbox = tempDir();
    const sessionPath = join(source, "live.jsonl");
    const complete = line({ type: "user", uuid: "u1", sessionId: "live", cwd: "/w", timestamp: "2025-01-01T00:00:00Z", message: { role: "user", content: "hello" } });
    const last = line({ type: "assistant", uuid: "a1", timestamp: "2025-01-01T00:00:01Z", message: { id: "m1", role: "assistant", content: [{ type: "text", text: "written in two goes" }] } });
    writeFileSync(sessionPath, complete + last.slice(0, 40));
    const first = await exportSessions({ source, inbox, agent: "claude" });
    expect(first).toMatchObject({ written: 1, malformedLines: [] });
    const [notePath] = [...notesIn(inbox).keys()];
    expect(readFileSync(join(inbox, "conversations", notePath as string), "utf8")).not.toContain("written in two goes");

    appendFileSync(sessionPath, last.slice(40));
    const second = await exportSessions({ source, inbox, agent: "claude" });
    expect(second).toMatchObject({ written: 1, malformedLines: [] });
    const note = readFileSync(join(inbox, "conversations", notePath as string), "utf8");
    expect(note).toContain("written in two goes");
    expect(note).toBe(renderClaudeSession(readFileSync(sessionPath, "utf8")));
  });

  it("renders from the start again when a session file is rewritten rather than appended", async () => {
    const source = tempDir();
    const inbox = tempDir();
    const sessionPath = join(source, "s.jsonl");
    const prompt = (text: string, uuid: string): string => line({ type: "user", uuid, sessionId: "s1", timestamp: "2025-01-01T00:00:00Z", message: { role: "user", content: text } });
    writeFileSync(sessionPath, prompt("original first prompt", "u1") + prompt("second", "u2"));
    await exportSessions({ source, inbox, agent: "claude" });
    writeFileSync(sessionPath, prompt("replaced first prompt", "u1") + prompt("second", "u2") + prompt("third", "u3"));
    await exportSessions({ source, inbox, agent: "claude" });
    const notes = [...notesIn(inbox).keys()];
    expect(notes).toHaveLength(1);
    const note = readFileSync(join(inbox, "conversations", notes[0] as string), "utf8");
    expect(note).toBe(renderClaudeSession(readFileSync(sessionPath, "utf8")));
    expect(note).not.toContain("original first prompt");
  });

  it("writes images beside the note and places subagent files under their Task call", async () => {
    const source = tempDir();
    const inbox = tempDir();
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex").toString("base64");
    writeFileSync(
      join(source, "sess.jsonl"),
      line({ type: "user", uuid: "u1", sessionId: "sess", cwd: "/w", timestamp: "2025-01-01T00:00:00Z", message: { role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: png } }, { type: "text", text: "what is this" }] } }) +
        line({ type: "assistant", uuid: "a1", timestamp: "2025-01-01T00:00:01Z", message: { id: "m1", role: "assistant", content: [{ type: "tool_use", id: "t1", name: "Task", input: { description: "Look closer", prompt: "inspect the image", subagent_type: "general-purpose" } }] } }) +
        line({ type: "user", uuid: "u2", timestamp: "2025-01-01T00:00:09Z", toolUseResult: { agentId: "abc123" }, message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "It is a PNG header." }] } }),
    );
    writeFileSync(join(source, "agent-abc123.jsonl"), line({ type: "user", isSidechain: true, sessionId: "sess", agentId: "abc123", uuid: "s1", timestamp: "2025-01-01T00:00:02Z", message: { role: "user", content: "inspect the image" } }) + line({ type: "assistant", isSidechain: true, sessionId: "sess", agentId: "abc123", uuid: "s2", timestamp: "2025-01-01T00:00:03Z", message: { id: "sm1", role: "assistant", content: [{ type: "text", text: "The subagent looked." }] } }));
    const result = await exportSessions({ source, inbox, agent: "claude" });
    expect(result.written).toBe(1); // the agent file is part of its session, not a session
    const notePath = result.notes[0] as string;
    const note = readFileSync(notePath, "utf8");
    const image = /!\[image\]\((image-[0-9a-f]+\.png)\)/.exec(note)?.[1];
    expect(image).toBeDefined();
    expect(readFileSync(join(notePath, "..", image as string))).toEqual(Buffer.from(png, "base64"));
    const task = note.indexOf("**Task**");
    expect(note.indexOf("The subagent looked.")).toBeGreaterThan(task);
    expect(note.indexOf("The subagent looked.")).toBeLessThan(note.indexOf("It is a PNG header."));
  });
});

describe("one writer per inbox", () => {
  it("two concurrent exports into one inbox both finish and the state file holds both sets of sessions", async () => {
    const inbox = tempDir();
    const sourceA = tempDir();
    const sourceB = tempDir();
    const names = readdirSync(FIXTURE_DIR).filter((name) => name.endsWith(".jsonl") && !/codex|rollout-|v040|kvsankar/.test(name));
    names.forEach((name, index) => cpSync(join(FIXTURE_DIR, name), join(index % 2 ? sourceB : sourceA, name)));
    const [a, b] = await Promise.all([exportSessions({ source: sourceA, inbox, agent: "claude" }), exportSessions({ source: sourceB, inbox, agent: "claude" })]);
    expect(a.failed).toEqual([]);
    expect(b.failed).toEqual([]);
    expect(a.written + b.written).toBe(names.length);
    const state = JSON.parse(readFileSync(join(inbox, "conversations", ".sbx-export-state.json"), "utf8")) as { sessions: Record<string, unknown> };
    expect(Object.keys(state.sessions).sort()).toEqual([...names.map((name, index) => join(index % 2 ? sourceB : sourceA, name))].sort());
    // Nothing was lost: a third run finds every session up to date.
    const again = await Promise.all([exportSessions({ source: sourceA, inbox, agent: "claude" }), exportSessions({ source: sourceB, inbox, agent: "claude" })]);
    expect(again.map((run) => run.written)).toEqual([0, 0]);
  });

  it("names the holder in SBX_EXPORT_INBOX_LOCKED when another live export holds the inbox past the wait", async () => {
    const inbox = tempDir();
    const source = tempDir();
    cpSync(join(FIXTURE_DIR, POMODORO), join(source, POMODORO));
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(inbox, "conversations"), { recursive: true });
    // A live process (this one's parent) on this host holds the lock.
    writeFileSync(join(inbox, "conversations", ".sbx-export.lock"), JSON.stringify({ pid: process.ppid, host: (await import("node:os")).hostname(), since: new Date().toISOString() }));
    const failure = await exportSessions({ source, inbox, lockWaitMs: 200 }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: "SBX_EXPORT_INBOX_LOCKED" });
    expect((failure as Error).message).toContain(`pid ${process.ppid}`);
  });

  it("takes over a lock left by a process that is gone", async () => {
    const inbox = tempDir();
    const source = tempDir();
    cpSync(join(FIXTURE_DIR, POMODORO), join(source, POMODORO));
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(inbox, "conversations"), { recursive: true });
    const { spawnSync } = await import("node:child_process");
    const gone = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
    writeFileSync(join(inbox, "conversations", ".sbx-export.lock"), JSON.stringify({ pid: Number(gone), host: (await import("node:os")).hostname(), since: new Date().toISOString() }));
    const result = await exportSessions({ source, inbox, lockWaitMs: 0 });
    expect(result.written).toBe(1);
    expect(readdirSync(join(inbox, "conversations"))).not.toContain(".sbx-export.lock");
  });
});

describe("redacted exports", () => {
  const token = `ghp_${"A1b2C3d4E5".repeat(3)}xYz789`;
  const redact = (text: string): string => text.replace(/ghp_[A-Za-z0-9]{36}/g, "[REDACTED:github-pat]");
  function plantedSession(): string {
    const lines = readFileSync(join(FIXTURE_DIR, POMODORO), "utf8").split("\n").filter(Boolean);
    const records = lines.map((text) => JSON.parse(text) as Record<string, unknown>);
    const firstUser = records.findIndex((record) => record.type === "user");
    const user = records[firstUser] as { message: { content: unknown } };
    user.message.content = `${token} is my token, use it to push`;
    for (const record of records) if (typeof record.cwd === "string") record.cwd = `/work/${token}`;
    return `${records.map((record) => JSON.stringify(record)).join("\n")}\n{"type":"user","message":"${token}\n`;
  }
  function everythingIn(root: string): string[] {
    const found: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        found.push(path);
        if (entry.isDirectory()) walk(path);
        else found.push(readFileSync(path, "latin1"));
      }
    };
    walk(root);
    return found;
  }

  it("passes body, title, frontmatter, file name and the state file through the redactor", async () => {
    const source = tempDir();
    const inbox = tempDir();
    writeFileSync(join(source, "planted.jsonl"), plantedSession());
    const result = await exportSessions({ source, inbox, agent: "claude", redact });
    expect(result.written).toBe(1);
    const leaks = everythingIn(inbox).filter((text) => text.includes(token) || text.includes(token.slice(4)));
    expect(leaks).toEqual([]);
    const note = readFileSync(result.notes[0] as string, "utf8");
    expect(note).toContain("[REDACTED:github-pat]");
    expect(result.notes[0]).toMatch(/redacted-github-pat/);
  });

  it("re-renders without the redactor when asked (--no-redact), and removes the raw note when redaction is turned back on", async () => {
    const source = tempDir();
    const inbox = tempDir();
    writeFileSync(join(source, "planted.jsonl"), plantedSession());
    const raw = await exportSessions({ source, inbox, agent: "claude" });
    expect(readFileSync(raw.notes[0] as string, "utf8")).toContain(token);
    const redacted = await exportSessions({ source, inbox, agent: "claude", redact });
    expect(redacted.written).toBe(1);
    expect(everythingIn(inbox).filter((text) => text.includes(token))).toEqual([]);
  });
});
