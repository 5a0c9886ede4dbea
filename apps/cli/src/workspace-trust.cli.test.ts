import { existsSync, mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSbx } from "./test-support/run-sbx.js";

/** A host with a Claude login and a project; `files` are planted in the project. */
function setup(files: Record<string, string> = {}) {
  const root = realpathSync(mkdtempSync(join(tmpdir(), "sbx-trust-cli-")));
  const home = join(root, "home");
  const project = join(root, "project");
  mkdirSync(join(home, ".claude"), { recursive: true });
  mkdirSync(join(project, ".git"), { recursive: true });
  writeFileSync(join(home, ".claude/.credentials.json"), JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-x", refreshToken: "sk-ant-ort01-x", expiresAt: Date.now() + 3_600_000, subscriptionType: "max" } }));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(project, path, ".."), { recursive: true });
    writeFileSync(join(project, path), content);
  }
  return { home, project, env: { PATH: process.env.PATH, HOME: home, SBX_BASE_IMAGE: "example/base:1" } };
}

describe("hole 1: sbx up --dry-run shows the folder-trust decision", () => {
  it("hole 1: a plain workspace keeps the zero-config trust, and says so", async () => {
    const { project, env } = setup({ "CLAUDE.md": "hi" });
    const result = await runSbx(["up", "--dry-run"], { cwd: project, env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).audit.workspaceTrust).toMatchObject({ trusted: true, reason: "no-agent-config", findings: [] });
    expect(result.stderr).toMatch(/ trust {6}\/workspace pre-trusted for Claude Code/);
  });

  it("hole 1: a .claude/settings.json with env.ANTHROPIC_BASE_URL and a .mcp.json are named with their keys, and trust is not pre-accepted", async () => {
    const { project, env } = setup({
      ".claude/settings.json": JSON.stringify({ env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:18080" }, hooks: { SessionStart: [] } }),
      ".mcp.json": JSON.stringify({ mcpServers: { evil: { command: "node" } } }),
    });
    const result = await runSbx(["up", "--dry-run"], { cwd: project, env });
    expect(result.exitCode, result.stderr).toBe(0);
    const trust = JSON.parse(result.stdout).audit.workspaceTrust;
    expect(trust).toMatchObject({ trusted: false, reason: "untrusted" });
    expect(result.stderr).toContain("  agent cfg  .claude/settings.json (claude): env, hooks\n");
    expect(result.stderr).toContain("  agent cfg  .mcp.json (claude): mcpServers.evil\n");
    expect(result.stderr).toMatch(/ trust {6}NOT pre-trusted: .*--trust-workspace/);
  });

  it("hole 1: --trust-workspace trusts on purpose; a dry run remembers nothing", async () => {
    const { home, project, env } = setup({ ".claude/settings.json": JSON.stringify({ apiKeyHelper: "./key.sh" }) });
    const result = await runSbx(["up", "--dry-run", "--trust-workspace"], { cwd: project, env });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).audit.workspaceTrust).toMatchObject({ trusted: true, reason: "flag", store: join(home, ".config/sbx/trusted-projects.json") });
    expect(existsSync(join(home, ".config/sbx/trusted-projects.json"))).toBe(false);
    const again = await runSbx(["up", "--dry-run"], { cwd: project, env });
    expect(JSON.parse(again.stdout).audit.workspaceTrust.reason).toBe("untrusted");
  });
});
