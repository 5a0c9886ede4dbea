import { describe, expect, it } from "vitest";
import { mirrorPathFor } from "./session-mirror-manifest.js";

describe("mirrorPathFor", () => {
  it.each([
    "claude/projects/-workspace/0a1b.jsonl",
    "claude/projects/-workspace/0a1b/subagents/agent-1.jsonl",
    "codex/sessions/2025/10/21/rollout-2025-10-21T20-02-50-019a085e.jsonl",
    "gemini/tmp/3f9e/chats/session-2025-01-01.json",
  ])("keeps %s under the cache", (rel) => {
    expect(mirrorPathFor("/cache", rel)).toBe(`/cache/${rel}`);
  });

  it.each([
    ["a parent segment", "claude/projects/../../../etc/passwd.jsonl"],
    ["a parent segment at the end", "claude/projects/x/../../x.jsonl"],
    ["an absolute path", "/etc/x.jsonl"],
    ["a tree that is not mirrored", "claude/settings.jsonl"],
    ["the tree prefix alone", "claude/projectsX/a.jsonl"],
    ["a file that is no session", "claude/projects/-workspace/notes.txt"],
    ["a newline", "claude/projects/-w/a\nb.jsonl"],
    ["a backslash", "claude/projects/..\\..\\x.jsonl"],
    ["a name that was not UTF-8", "claude/projects/-w/\ufffd.jsonl"],
    ["an empty segment", "claude/projects//a.jsonl"],
    ["a dot segment", "claude/projects/./a.jsonl"],
    ["nothing", ""],
  ])("refuses %s", (_why, rel) => {
    expect(mirrorPathFor("/cache", rel)).toBeUndefined();
  });
});
