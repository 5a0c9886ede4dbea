import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatAudit, planCrossing } from "./crossing-audit.js";

// Synthetic, assembled so the source holds no scanner-bait literal.
const SETUP_TOKEN = "sk-ant-oat01-" + "Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3Gh5Ij7Kl9Mn1Op3Qr5St7Uv9Wx1Yz3Ab5Cd7Ef9Gh1Ij3Kl5Mn7Op9Qr1St3Uv5";

describe("the crossing audit", () => {
  it("shows a host CLAUDE_CODE_OAUTH_TOKEN as the Claude login it is, with its limits, never its value", async () => {
    const home = mkdtempSync(join(tmpdir(), "sbx-audit-home-"));
    const project = join(home, "project");
    mkdirSync(join(project, ".git"), { recursive: true });
    const plan = await planCrossing({ projectDir: project, env: { HOME: home, CLAUDE_CODE_OAUTH_TOKEN: SETUP_TOKEN }, home, logins: [] });
    expect(plan.agentEnv.CLAUDE_CODE_OAUTH_TOKEN).toBe(SETUP_TOKEN);
    expect(plan.audit.env).toContainEqual(expect.objectContaining({ name: "CLAUDE_CODE_OAUTH_TOKEN", from: expect.stringContaining("claude setup-token") }));
    const text = formatAudit(plan.audit, "sbx-project");
    expect(text).toContain("CLAUDE_CODE_OAUTH_TOKEN (Claude login from `claude setup-token`: inference only, no refresh");
    expect(text).not.toContain(SETUP_TOKEN);
  });
});
