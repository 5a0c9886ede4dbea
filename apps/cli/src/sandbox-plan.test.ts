import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runSbx } from "./test-support/run-sbx.js";

describe("planning a sandbox", () => {
  it("hole 12: refuses a login over 1 MiB on the host, before anything is created, naming the file and its size", async () => {
    const root = mkdtempSync(join(tmpdir(), "sbx-plan-"));
    const home = join(root, "home");
    const project = join(root, "project");
    mkdirSync(join(home, ".claude"), { recursive: true });
    mkdirSync(join(project, ".git"), { recursive: true });
    const login = { claudeAiOauth: { accessToken: "sk-ant-oat01-x", refreshToken: "sk-ant-ort01-x", expiresAt: Date.now() + 86_400_000, scopes: ["user:inference"], subscriptionType: "max" }, padding: "p".repeat(1_100_000) };
    writeFileSync(join(home, ".claude/.credentials.json"), JSON.stringify(login), { mode: 0o600 });
    // A dry run plans exactly what `up` would create; the refusal comes from that plan.
    const result = await runSbx(["up", "--dry-run"], { cwd: project, env: { PATH: process.env.PATH, HOME: home, SBX_LOGIN: "sbxplantest" } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/sbx: ~\/\.claude\/\.credentials\.json \(the claude login, from [^)]+\) is 1\.1 MB; sbx pipes at most 1 MiB\./);
    expect(result.stderr).toContain("code: SBX_SECRET_TOO_LARGE");
    expect(result.stdout).toBe("");
  });
});
