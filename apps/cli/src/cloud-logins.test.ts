import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { planCrossing } from "./crossing-audit.js";

const ADC = JSON.stringify({ type: "authorized_user", client_id: "764086051850-test.apps.googleusercontent.com", client_secret: "d-test", refresh_token: "1//0g-test-refresh" });
const AWS = { AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", AWS_BEARER_TOKEN_BEDROCK: "bedrock-api-key-test" };

function setup(config?: unknown): { home: string; project: string } {
  const root = mkdtempSync(join(tmpdir(), "sbx-cloud-"));
  const home = join(root, "home");
  const project = join(root, "project");
  mkdirSync(join(home, ".config/gcloud"), { recursive: true });
  mkdirSync(join(project, ".git"), { recursive: true });
  writeFileSync(join(home, ".config/gcloud/application_default_credentials.json"), ADC);
  if (config) {
    mkdirSync(join(home, ".config/sbx"), { recursive: true });
    writeFileSync(join(home, ".config/sbx/config.json"), JSON.stringify(config));
  }
  return { home, project };
}

const plan = (dirs: { home: string; project: string }, env: Record<string, string>, profile?: string) =>
  planCrossing({ projectDir: dirs.project, home: dirs.home, env: { HOME: dirs.home, ...env }, logins: [], ...(profile ? { profile } : {}) });

describe("cloud-provider logins", () => {
  it("refuses AWS credentials and leaves the gcloud ADC file home by default", async () => {
    const crossing = await plan(setup(), { CLAUDE_CODE_USE_BEDROCK: "1", AWS_REGION: "us-east-1", ...AWS });
    expect(Object.keys(crossing.agentEnv)).toEqual([]);
    expect(crossing.audit.refused.map((item) => item.name)).toEqual(expect.arrayContaining(["AWS_SECRET_ACCESS_KEY", "AWS_BEARER_TOKEN_BEDROCK"]));
    expect(crossing.logins).toEqual([]);
  });

  it("lets Claude on Bedrock cross with one line in a profile, shown in the audit", async () => {
    const dirs = setup({ profiles: { bedrock: { cloudLogins: ["bedrock"] } } });
    const crossing = await plan(dirs, { CLAUDE_CODE_USE_BEDROCK: "1", AWS_REGION: "us-east-1", ...AWS }, "bedrock");
    expect(crossing.agentEnv).toEqual({ CLAUDE_CODE_USE_BEDROCK: "1", AWS_REGION: "us-east-1", ...AWS });
    expect(crossing.audit.env).toEqual(expect.arrayContaining([expect.objectContaining({ name: "AWS_SECRET_ACCESS_KEY", from: "cloud login bedrock" })]));
    expect(crossing.audit.refused).toEqual([]);
  });

  it("pipes the gcloud ADC file (never a mount) and the Vertex settings with `cloudLogins: [\"vertex\"]`", async () => {
    const dirs = setup({ cloudLogins: ["vertex"] });
    const crossing = await plan(dirs, { CLAUDE_CODE_USE_VERTEX: "1", ANTHROPIC_VERTEX_PROJECT_ID: "my-project", CLOUD_ML_REGION: "us-east5", GOOGLE_CLOUD_PROJECT: "my-project", VERTEX_LOCATION: "global" });
    expect(crossing.agentEnv).toEqual({ CLAUDE_CODE_USE_VERTEX: "1", ANTHROPIC_VERTEX_PROJECT_ID: "my-project", CLOUD_ML_REGION: "us-east5", GOOGLE_CLOUD_PROJECT: "my-project", VERTEX_LOCATION: "global" });
    const [adc] = crossing.logins;
    expect(adc?.status === "found" && adc.files.map((file) => [file.destination, file.content.toString()])).toEqual([["~/.config/gcloud/application_default_credentials.json", ADC]]);
    expect(crossing.audit.logins).toEqual([{ provider: "cloud", description: "Google Application Default Credentials (cloud login vertex)", destinations: ["~/.config/gcloud/application_default_credentials.json"] }]);
    expect(crossing.extraMounts).toEqual([]);
  });

  it("calls a misspelt cloud login an error, not a silently ignored key", async () => {
    await expect(plan(setup({ cloudLogins: ["vertx"] }), {})).rejects.toMatchObject({ code: "SBX_POLICY_BAD_CONFIG", message: expect.stringContaining('"vertex", "bedrock"') });
  });
});
