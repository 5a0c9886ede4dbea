/**
 * The library interface for agent loops (`@sbx/cli/library`) against the real Docker engine: two
 * named sandboxes of one project, commands with exit codes, output, env, workdir, stdin, a
 * timeout and streaming, then removal that keeps the login volume.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "../../../packages/container-runtime/src/docker-driver.js";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import type { Sandbox } from "./library.js";

// The built package entry (`@sbx/cli/library`), as a loop imports it: the sandbox image's assets
// are found beside dist/, not src/.
const { createSandbox, execInSandbox, removeSandbox, sandboxContainerName } = (await import(new URL("../dist/library.js", import.meta.url).href)) as typeof import("./library.js");

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

describe("sandboxContainerName", () => {
  it("is the project's container without a name, and sbx--<name>--<project id> with one", () => {
    expect(sandboxContainerName({ projectId: "app-1234abcd" })).toBe("sbx-app-1234abcd");
    expect(sandboxContainerName({ projectId: "app-1234abcd" }, "reviewer")).toBe("sbx--reviewer--app-1234abcd");
  });

  it.each(["", "Reviewer", "-x", "x-", "a--b", "a/b", "a b", "x".repeat(41), "../../etc"])("refuses the name %j with SBX_SANDBOX_NAME_INVALID", (name) => {
    expect(() => sandboxContainerName({ projectId: "app-1234abcd" }, name)).toThrow(expect.objectContaining({ code: "SBX_SANDBOX_NAME_INVALID" }));
  });
});

describe.skipIf(!environment.available)(`the library against the Docker engine${skipReason}`, { timeout: 120_000 }, () => {
  const login = `sbxlib${randomBytes(3).toString("hex")}`;
  const canary = `CANARY${randomBytes(8).toString("hex")}`;
  let root = "";
  let implementer: Sandbox;
  let reviewer: Sandbox;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "sbx-library-"));
    const home = join(root, "home");
    mkdirSync(home);
    const project = join(root, "project");
    mkdirSync(join(project, ".git"), { recursive: true });
    writeFileSync(join(project, "story.md"), "make the test pass\n");
    const env = { PATH: process.env.PATH, HOME: home, SBX_LOGIN: login, ANTHROPIC_API_KEY: `sk-ant-api03-${canary}` };
    const options = { workspace: project, env, home, baseImage: environment.available ? environment.image : "" };
    [implementer, reviewer] = await Promise.all([createSandbox({ ...options, name: "implementer" }), createSandbox({ ...options, name: "reviewer" })]);
  }, 15 * 60_000);

  afterAll(async () => {
    const runtime = new DockerRuntime();
    try {
      for (const sandbox of [implementer, reviewer]) if (sandbox) await runtime.removeContainer(sandbox.name);
      // The login volume and the project's conversations volume.
      for (const volume of await runtime.listVolumes({ labels: { "dev.sbx.login": login } })) await runtime.removeVolume(volume.name);
    } finally {
      runtime.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("creates two named sandboxes of one project side by side, on one login volume", () => {
    expect(implementer.name).toMatch(/^sbx--implementer--project-[0-9a-f]{8}$/);
    expect(reviewer.name).toBe(implementer.name.replace(/^sbx--implementer--/, "sbx--reviewer--"));
    expect(implementer.volume).toBe(`${login}-llm`);
    expect(reviewer.volume).toBe(implementer.volume);
    expect(implementer.action).toBe("created");
  });

  it("returns exit code, stdout and stderr apart", async () => {
    const result = await execInSandbox(implementer, { cmd: ["sh", "-c", "echo out; echo err >&2; exit 5"] });
    expect(result).toMatchObject({ exitCode: 5, stdout: "out\n", stderr: "err\n", timedOut: false });
  });

  it("runs in /workspace by default, or the workdir given, with the env given", async () => {
    expect((await execInSandbox(implementer, { cmd: ["cat", "story.md"] })).stdout).toBe("make the test pass\n");
    const result = await execInSandbox(implementer, { cmd: ["sh", "-c", 'pwd; echo "$STORY"'], workdir: "/tmp", env: { STORY: "42" } });
    expect(result.stdout).toBe("/tmp\n42\n");
  });

  it("feeds stdin and closes it", async () => {
    const result = await execInSandbox(reviewer, { cmd: ["sh", "-c", "wc -c"], stdin: "12345" });
    expect(result.stdout.trim()).toBe("5");
  });

  it("kills a command that outlives its timeout and says so", async () => {
    const result = await execInSandbox(implementer, { cmd: ["sh", "-c", "sleep 30; echo never"], timeoutMs: 1000 });
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).toBe(124);
    expect(result.stdout).toBe("");
    const after = await execInSandbox(implementer, { cmd: ["sh", "-c", "ps -eo args | grep -c '[s]leep 30' || true"] });
    expect(after.stdout.trim()).toBe("0");
  });

  it("does not call a command that exits 124 by itself a timeout", async () => {
    const result = await execInSandbox(implementer, { cmd: ["sh", "-c", "exit 124"], timeoutMs: 30_000 });
    expect(result).toMatchObject({ exitCode: 124, timedOut: false });
  });

  it("streams output as it comes when given streams", async () => {
    const stdout = new PassThrough();
    const chunks: string[] = [];
    stdout.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
    const result = await execInSandbox(implementer, { cmd: ["sh", "-c", "echo one; sleep 0.3; echo two"], stdout });
    expect(result.stdout).toBe("");
    expect(chunks.join("")).toBe("one\ntwo\n");
    expect(chunks.length).toBeGreaterThanOrEqual(2);
  });

  it("loads the piped API key only when asked for the agent's environment", async () => {
    expect((await execInSandbox(implementer, { cmd: ["sh", "-c", 'echo "${ANTHROPIC_API_KEY:-unset}"'] })).stdout).toBe("unset\n");
    expect((await execInSandbox(implementer, { cmd: ["printenv", "ANTHROPIC_API_KEY"], agentEnv: true })).stdout).toBe(`sk-ant-api03-${canary}\n`);
  });

  it("removes one sandbox and leaves the other and the login volume", async () => {
    await removeSandbox(reviewer);
    const runtime = new DockerRuntime();
    try {
      expect(await runtime.inspectContainer(reviewer.name)).toBeUndefined();
      expect((await runtime.inspectContainer(implementer.name))?.state).toBe("running");
      expect(await runtime.inspectVolume(`${login}-llm`)).toBeDefined();
    } finally {
      runtime.close();
    }
    expect((await execInSandbox(implementer, { cmd: ["true"] })).exitCode).toBe(0);
  });
});
