import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { agentCommandLine, findAgent } from "./agents.js";
import { runSbx } from "./test-support/run-sbx.js";

let project: string;
let env: Record<string, string | undefined>;

beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), "sbx-agents-"));
  const home = join(root, "home");
  project = join(root, "project");
  mkdirSync(join(home, ".claude"), { recursive: true });
  mkdirSync(join(project, ".git"), { recursive: true });
  writeFileSync(join(home, ".claude/.credentials.json"), JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-test", refreshToken: "sk-ant-ort01-test", expiresAt: Date.now() + 3_600_000, subscriptionType: "max" } }));
  env = { PATH: process.env.PATH, HOME: home, SBX_BASE_IMAGE: "example/base:1" };
});

/** What `sbx run … --dry-run` would attach. */
async function attached(args: string[], extraEnv: Record<string, string> = {}): Promise<string[]> {
  const result = await runSbx(["run", "--dry-run", ...args], { cwd: project, env: { ...env, ...extraEnv } });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout).attach;
}

describe("sbx run <agent> [-- args]", () => {
  it("drops the leading -- (it ran `claude -- --version`, which hangs)", async () => {
    expect(await attached(["claude", "--", "--version"])).toEqual(["claude", "--version"]);
  });

  it("passes a command's own options after -- through (`sbx run sh -- -c 'echo hi'` failed)", async () => {
    expect(await attached(["sh", "--", "-c", "echo hi"])).toEqual(["sh", "-c", "echo hi"]);
    // A later -- is the agent's own and stays.
    expect(await attached(["sh", "--", "-c", "echo \"$@\"", "--", "x"])).toEqual(["sh", "-c", 'echo "$@"', "--", "x"]);
  });

  it("knows the four agents by name and alias", async () => {
    expect(await attached(["codex-cli"], { OPENAI_API_KEY: "sk-test" })).toEqual(["codex"]);
    expect(["claude-code", "codex", "gemini-cli", "opencode-ai"].map((name) => findAgent(name)?.command)).toEqual(["claude", "codex", "gemini", "opencode"]);
    expect(agentCommandLine("GEMINI-CLI", ["-y"])).toEqual(["gemini", "-y"]);
    expect(findAgent("bash")).toBeUndefined();
  });

  it("says which login is missing, with a hint and a code, before anything starts", async () => {
    const result = await runSbx(["run", "--dry-run", "codex"], { cwd: project, env });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("sbx: no login for codex was found on the host; run `codex login` there first or pass an API key\n");
    expect(result.stderr).toContain("code: SBX_AGENT_NO_LOGIN\n");
    expect(result.stdout).toBe("");
    // The host's Claude login reaches Claude; a command that is no agent needs none.
    expect(await attached(["claude"])).toEqual(["claude"]);
    expect(await attached(["bash"])).toEqual(["bash"]);
  });
});
