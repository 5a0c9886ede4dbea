import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { policyCheck, type PolicyCheckOptions, type PolicyCheckReport } from "./policy.js";

const GITHUB_PAT = "ghp_" + "R8q2Lx7mN4vB1cZ9kT3wY6pH0sD5fJ2gA8eU";

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "sbx-policy-check-"));
  await mkdir(join(root, "home"), { recursive: true });
  await mkdir(join(root, "project"), { recursive: true });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(options: Partial<PolicyCheckOptions>): Promise<{ code: number; output: string }> {
  const stdout = new PassThrough();
  let output = "";
  stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await policyCheck({
    cwd: join(root, "project"),
    home: join(root, "home"),
    env: {},
    stdout,
    readStdin: async () => "",
    ...options,
  });
  return { code, output };
}

describe("sbx policy check", () => {
  it("exits 0 for a clean environment", async () => {
    const { code, output } = await run({ env: { PATH: "/usr/bin", LANG: "C.UTF-8" } });
    expect(code).toBe(0);
    expect(output).toBe("Nothing refused (2 environment variables checked).\n");
  });

  it("exits 3 and names the refused variable without its value", async () => {
    const { code, output } = await run({ env: { PATH: "/usr/bin", GITHUB_TOKEN: GITHUB_PAT } });
    expect(code).toBe(3);
    expect(output).toContain("refused  GITHUB_TOKEN  GITHUB_TOKEN is a source-forge credential");
    expect(output).not.toContain(GITHUB_PAT);
  });

  it("judges a provider's own key as piped to its agent", async () => {
    const key = "sk-ant-api03-" + "Zq7Lm2Xv9Bc4Nk8Rt1Wy5Hp3Sd6Fg0Ja-Ue_Ti7Ko2Pl9Mn4Qb8Vc1Xz5Ws3Ed6Rf0Tg2Yh7Uj4Ik9Ol1Pa8Sd3Fg6Hj5Kl0Zx2Cv7Bn4".slice(0, 93) + "AA";
    expect((await run({ env: { ANTHROPIC_API_KEY: key } })).code).toBe(0);
    expect((await run({ env: { SOME_TOOL_KEY: key } })).code).toBe(3);
  });

  it("checks an env file and prints the stable JSON shape", async () => {
    await writeFile(join(root, "project/.env.ci"), `LANG=C\nDEPLOY_ARGS="--token ${GITHUB_PAT}"\n`);
    const { code, output } = await run({ envFile: ".env.ci", json: true });
    expect(code).toBe(3);
    const report = JSON.parse(output) as PolicyCheckReport;
    expect(report).toEqual({
      ok: false,
      target: "env-file",
      source: join(root, "project/.env.ci"),
      profile: null,
      checked: 2,
      refused: [{ kind: "env", name: "DEPLOY_ARGS", rule: "github-pat", reason: "DEPLOY_ARGS holds a GitHub personal access token (rule github-pat)." }],
    });
  });

  it("checks a mount path", async () => {
    const refused = await run({ path: "~", json: true });
    expect(refused.code).toBe(3);
    expect((JSON.parse(refused.output) as PolicyCheckReport).refused[0]).toMatchObject({ kind: "mount", rule: "mount-deny-list" });
    expect((await run({ path: join(root, "project") })).code).toBe(0);
  });

  it("scans stdin and points at the line", async () => {
    const { code, output } = await run({ stdin: true, readStdin: async () => `ok\nuse ${GITHUB_PAT}\n` });
    expect(code).toBe(3);
    expect(output).toContain("refused  stdin:2:5  Line 2 holds a GitHub personal access token.");
    expect(output).not.toContain(GITHUB_PAT);
  });

  it("applies the user's refuse patterns and profile", async () => {
    await mkdir(join(root, "home/.config/sbx"), { recursive: true });
    await writeFile(join(root, "home/.config/sbx/config.json"), JSON.stringify({ profiles: { work: { refusePatterns: ["value:*.acme.corp"] } } }));
    const env = { NPM_REGISTRY: "https://npm.acme.corp/" };
    expect((await run({ env })).code).toBe(0);
    const { code, output } = await run({ env, profile: "work", json: true });
    expect(code).toBe(3);
    expect(JSON.parse(output)).toMatchObject({ profile: "work", refused: [{ name: "NPM_REGISTRY", rule: "user-pattern-1" }] });
  });

  it("hole 3: says refused for --path through a symlink to ~/.ssh", async () => {
    await mkdir(join(root, "home/.ssh"), { recursive: true });
    await symlink(join(root, "home/.ssh"), join(root, "project/keys"));
    const { code, output } = await run({ path: join(root, "project/keys") });
    expect(code).toBe(3);
    expect(output).toContain("refused");
    expect(output).toContain("~/.ssh");
    expect(output).not.toContain("Nothing refused");
  });
});
