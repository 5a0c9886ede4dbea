import { randomBytes } from "node:crypto";

/**
 * Fresh real-format tokens of ten families the boundary policy knows, random on every call so a
 * test can search the inbox for exactly these strings (they are no one's credentials).
 */
export function plantedTokens(): Record<string, string> {
  const alnum = (n: number): string => {
    const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    return [...randomBytes(n)].map((byte) => chars[byte % chars.length]).join("");
  };
  const base32 = (n: number): string => [...randomBytes(n)].map((byte) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[byte % 32]).join("");
  return {
    "github-pat": `ghp_${alnum(36)}`,
    "gitlab-pat": `glpat-${alnum(20)}`,
    "slack-bot-token": `xoxb-${String(1e9 + (randomBytes(3).readUIntBE(0, 3) % 9e8))}-1234567890123-${alnum(24)}`,
    "aws-access-token": `AKIA${base32(16)}`,
    "gcp-api-key": `AIza${alnum(35)}`,
    "anthropic-api-key": `sk-ant-api03-${alnum(93)}AA`,
    "anthropic-oauth-token": `sk-ant-oat01-${alnum(93)}AA`,
    "openai-api-key": `sk-proj-${alnum(74)}T3BlbkFJ${alnum(74)}`,
    "npm-access-token": `npm_${alnum(36)}`,
    "stripe-access-token": `sk_live_${alnum(24)}`,
  };
}

/**
 * A Claude Code session with `tokens` everywhere an agent's text goes: the first prompt (so the
 * title and the file name), the cwd and branch (frontmatter), assistant text, a Bash command,
 * its output, and a line that is not JSON (its parse error quotes it).
 */
export function sessionWithTokens(tokens: Record<string, string>, sessionId = "5e55a0b1-0000-4000-8000-00000000beef"): string {
  const all = Object.values(tokens);
  const base = { sessionId, version: "2.1.3", isSidechain: false, userType: "external", cwd: `/workspace/${all[0]}`, gitBranch: `fix/${all[1]}` };
  const lines = [
    { ...base, type: "user", uuid: "u1", parentUuid: null, timestamp: "2026-03-01T10:00:00.000Z", message: { role: "user", content: `${all[2]} deploy with this key and ${all[3]}` } },
    {
      ...base,
      type: "assistant",
      uuid: "a1",
      parentUuid: "u1",
      timestamp: "2026-03-01T10:00:05.000Z",
      message: {
        role: "assistant",
        model: "claude-sonnet-4-5",
        content: [
          { type: "text", text: `Using ${all[4]} and ${all[5]}.` },
          { type: "tool_use", id: "t1", name: "Bash", input: { command: `curl -H "Authorization: Bearer ${all[6]}" https://api.example.test`, description: `call with ${all[7]}` } },
        ],
      },
    },
    { ...base, type: "user", uuid: "u2", parentUuid: "a1", timestamp: "2026-03-01T10:00:06.000Z", message: { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: `export NPM_TOKEN=${all[8]}\nSTRIPE=${all[9]}` }] } },
  ];
  return `${lines.map((line) => JSON.stringify(line)).join("\n")}\n${all.join(" ")} not json\n`;
}

/**
 * A Claude Code session in which the agent runs each command with the Bash tool and reads back
 * its output (the note shows both in one tool callout, the output in its **Result** block).
 */
export function sessionWithCommands(runs: ReadonlyArray<{ command: string; output: string }>, sessionId = "5e55a0b1-0000-4000-8000-00000000c0de"): string {
  const base = { sessionId, version: "2.1.3", isSidechain: false, userType: "external", cwd: "/workspace", gitBranch: "main" };
  const lines: unknown[] = [{ ...base, type: "user", uuid: "u0", parentUuid: null, timestamp: "2026-03-01T10:00:00.000Z", message: { role: "user", content: "set the services up" } }];
  let parent = "u0";
  runs.forEach(({ command, output }, n) => {
    const at = (seconds: number): string => new Date(Date.UTC(2026, 2, 1, 10, 1 + n, seconds)).toISOString();
    lines.push({ ...base, type: "assistant", uuid: `a${n}`, parentUuid: parent, timestamp: at(0), message: { role: "assistant", model: "claude-sonnet-4-5", content: [{ type: "tool_use", id: `t${n}`, name: "Bash", input: { command } }] } });
    lines.push({ ...base, type: "user", uuid: `r${n}`, parentUuid: `a${n}`, timestamp: at(1), message: { role: "user", content: [{ type: "tool_result", tool_use_id: `t${n}`, content: output }] } });
    parent = `r${n}`;
  });
  return `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`;
}
