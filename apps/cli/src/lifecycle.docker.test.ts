/**
 * The sandbox's lifecycle against the real engine: concurrent `sbx up` (hole 11), resource and
 * log bounds (hole 14), and `gc`/`ls` acting only on this user's own sandboxes (hole 15).
 */
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { docker } from "./test-support/docker-cli.js";
import { defaultResources } from "./sandbox-resources.js";
import { runSbx, sbxTestEnv } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test-fixtures/transcripts");
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

describe.skipIf(!environment.available)(`sbx lifecycle against the Docker engine${skipReason}`, { timeout: 600_000 }, () => {
  const login = `sbxlife${randomBytes(3).toString("hex")}`;
  const root = mkdtempSync(join(tmpdir(), "sbx-lifecycle-"));
  const home = join(root, "home");
  const env = sbxTestEnv(home, login, environment);
  const created: { containers: string[]; volumes: string[] } = { containers: [], volumes: [`${login}-llm`] };
  const project = (name: string) => {
    const dir = join(root, name);
    mkdirSync(join(dir, ".git"), { recursive: true });
    return dir;
  };
  const containerOf = async (cwd: string, withEnv = env) => {
    const status = await runSbx(["status", "--json"], { cwd, env: withEnv });
    const name = JSON.parse(status.stdout).container.name as string;
    created.containers.push(name);
    return name;
  };

  let warmUp = { stderr: "", container: "" };

  beforeAll(() => mkdirSync(home, { recursive: true }));
  afterAll(() => {
    for (const name of created.containers) docker(["rm", "-f", name], { allowFailure: true });
    for (const name of created.volumes) docker(["volume", "rm", name], { allowFailure: true });
  });

  it("hole 11: five simultaneous `sbx up --detach` in one project all exit 0, and one container results", async () => {
    // Build (or find) the image first, in another project: the race under test is the container's.
    const warm = project("warm");
    const first = await runSbx(["up", "--detach", "--yes"], { cwd: warm, env, timeoutMs: 600_000 });
    expect(first.exitCode, first.stderr).toBe(0);
    warmUp = { stderr: first.stderr, container: await containerOf(warm) };
    const dir = project("concurrent");
    const name = await containerOf(dir);
    const ups = await Promise.all(Array.from({ length: 5 }, () => runSbx(["up", "--detach", "--yes"], { cwd: dir, env, timeoutMs: 600_000 })));
    for (const up of ups) expect(up.exitCode, up.stderr).toBe(0);
    const listed = docker(["ps", "-a", "--filter", `name=^/${name}$`, "--format", "{{.Names}} {{.State}}"]).stdout.trim().split("\n");
    expect(listed).toEqual([`${name} running`]);
  });

  it("hole 14: runs the sandbox with memory (no swap beyond it), CPU, process and log bounds, shown in the audit", () => {
    const expected = defaultResources();
    const [info] = JSON.parse(docker(["inspect", warmUp.container]).stdout);
    expect(info.HostConfig.Memory).toBe(expected.memoryBytes);
    expect(info.HostConfig.MemorySwap).toBe(expected.memoryBytes);
    expect(info.HostConfig.NanoCpus).toBe(expected.nanoCpus);
    expect(info.HostConfig.PidsLimit).toBe(1024);
    const driver = docker(["info", "--format", "{{.LoggingDriver}}"]).stdout.trim();
    // Only json-file and local take a size; other drivers (journald, syslog) bound logs themselves.
    if (driver === "json-file" || driver === "local") expect(info.HostConfig.LogConfig).toEqual({ Type: driver, Config: { "max-size": "10m", "max-file": "3" } });
    expect(warmUp.stderr).toMatch(/\n  limits +memory [\d.]+ [GM]iB, \d+(\.\d+)? CPUs?, 1024 processes, logs 10m × 3\n/);
  });

  it("hole 13e: refuses to reuse a sandbox started under another login, and leaves it running", async () => {
    const dir = project("login-switch");
    expect((await runSbx(["up", "--detach", "--yes"], { cwd: dir, env, timeoutMs: 600_000 })).exitCode).toBe(0);
    const name = await containerOf(dir);
    const otherLogin = `${login}b`;
    created.volumes.push(`${otherLogin}-llm`);
    const switched = await runSbx(["up", "--detach", "--yes"], { cwd: dir, env: { ...env, SBX_LOGIN: otherLogin }, timeoutMs: 600_000 });
    expect(switched.exitCode).toBe(3);
    expect(switched.stderr).toContain(`sbx: The sandbox ${name} runs under the login ${login}, not ${otherLogin}.`);
    expect(switched.stderr).toContain("code: SBX_SANDBOX_LOGIN_MISMATCH");
    const [info] = JSON.parse(docker(["inspect", name]).stdout);
    expect([info.State.Status, info.Config.Labels["dev.sbx.login"]]).toEqual(["running", login]);
  });

  it("a detached `sbx up` exports what a killed sandbox left unexported, from the listing the login pipe's exec takes", async () => {
    const dir = project("catch-up");
    const inbox = join(root, "catch-up-inbox");
    const withInbox = { ...env, SANDBOX_INBOX_DIR: inbox };
    expect((await runSbx(["up", "--detach", "--yes"], { cwd: dir, env: withInbox, timeoutMs: 600_000 })).exitCode).toBe(0);
    const name = await containerOf(dir, withInbox);
    const session = readFileSync(join(FIXTURES, "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl"));
    const written = spawnSync("docker", ["exec", "-i", name, "sh", "-c", 'mkdir -p "$HOME/.claude/projects/-workspace" && cat > "$HOME/.claude/projects/-workspace/36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2.jsonl"'], { input: session });
    expect(written.status, written.stderr?.toString()).toBe(0);
    docker(["kill", name]);
    expect(existsSync(inbox) ? readdirSync(inbox, { recursive: true }).filter((file) => String(file).endsWith(".md")) : []).toEqual([]);

    const again = await runSbx(["up", "--detach", "--yes"], { cwd: dir, env: withInbox, timeoutMs: 600_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    const notes = readdirSync(inbox, { recursive: true }).filter((file) => String(file).endsWith(".md"));
    expect(notes).toHaveLength(1);
    expect(readFileSync(join(inbox, String(notes[0])), "utf8")).toContain("Pomodoro");
  });

  it("hole 15: another login's stopped sandbox survives `sbx gc --yes`, and `sbx ls` does not list it", async () => {
    const otherLogin = `${login}c`;
    const otherEnv = { ...env, SBX_LOGIN: otherLogin };
    created.volumes.push(`${otherLogin}-llm`);
    const mine = project("gc-mine");
    const theirs = project("gc-theirs");
    for (const [cwd, withEnv] of [[mine, env], [theirs, otherEnv]] as const) {
      const up = await runSbx(["up", "--detach", "--yes"], { cwd, env: withEnv, timeoutMs: 600_000 });
      expect(up.exitCode, up.stderr).toBe(0);
    }
    const [mineName, theirName] = [await containerOf(mine), await containerOf(theirs, otherEnv)];
    docker(["stop", "-t", "1", mineName, theirName]);

    const listed = JSON.parse((await runSbx(["ls", "--json"], { cwd: mine, env })).stdout) as Array<{ name: string }>;
    expect(listed.map((row) => row.name)).toContain(mineName);
    expect(listed.map((row) => row.name)).not.toContain(theirName);

    const gc = await runSbx(["gc", "--yes"], { cwd: mine, env });
    expect(gc.exitCode, gc.stderr).toBe(0);
    expect(gc.stderr).toContain(`sandbox ${mineName}`);
    expect(gc.stderr).not.toContain(theirName);
    expect(docker(["inspect", mineName], { allowFailure: true }).exitCode).not.toBe(0);
    expect(docker(["inspect", theirName]).exitCode).toBe(0);
  });
});
