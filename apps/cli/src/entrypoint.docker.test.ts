/**
 * The entrypoint and the sandbox's layout against the real Docker engine, attacked from inside as
 * a hostile agent would (issue 8: holes 4, 6, 8, 10, 14, 17). Canary credentials are planted in a
 * temporary HOME; the real `sbx` is run as a user runs it.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { docker, dockerOutputContains } from "./test-support/docker-cli.js";
import { runSbx, sbxTestEnv } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

const CANARY = `CANARY${randomBytes(8).toString("hex")}`;
const login = `sbxtest${randomBytes(3).toString("hex")}`;

function plantHome(root: string): string {
  const home = join(root, "home");
  const write = (path: string, content: string) => {
    mkdirSync(join(home, path, ".."), { recursive: true });
    writeFileSync(join(home, path), content, { mode: 0o600 });
  };
  write(
    ".claude/.credentials.json",
    JSON.stringify({ claudeAiOauth: { accessToken: `sk-ant-oat01-${CANARY}-access`, refreshToken: `sk-ant-ort01-${CANARY}-refresh`, expiresAt: Date.now() + 30 * 86_400_000, scopes: ["user:inference"], subscriptionType: "max" } }),
  );
  write(".claude.json", JSON.stringify({ hasCompletedOnboarding: true, oauthAccount: { accountUuid: "11111111-1111-4111-8111-111111111111", emailAddress: `${CANARY}@example.com` } }));
  write(".codex/auth.json", JSON.stringify({ OPENAI_API_KEY: null, tokens: { access_token: `${CANARY}-codex`, refresh_token: `${CANARY}-codex-r` } }));
  // The user's own config: a plain passthrough variable, and a profile with a read-write mount.
  write(".config/sbx/config.json", JSON.stringify({ passthroughEnv: ["FOO"], profiles: { shared: { mounts: [{ host: join(root, "shared"), container: "/data/shared", readOnly: false }] } } }));
  mkdirSync(join(root, "shared"));
  return home;
}

/** Every file under `dir` (recursively) that holds `needle`. */
function filesContaining(dir: string, needle: string): string[] {
  return spawnSync("grep", ["-rl", "--", needle, dir], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
}

describe.skipIf(!environment.available)(`the entrypoint against the Docker engine${skipReason}`, { timeout: 180_000 }, () => {
  let root = "";
  let env: Record<string, string | undefined> = {};
  const a = { project: "", container: "", projectId: "" };
  const b = { project: "", container: "", projectId: "" };
  const sbx = (project: string, args: string[], timeoutMs = 120_000) => runSbx(args, { cwd: project, env, timeoutMs });
  const inside = (project: string, script: string) => sbx(project, ["exec", "--", "sh", "-c", script]);
  const up = async (project: string, ...extra: string[]) => {
    const result = await sbx(project, ["up", "--detach", "--yes", ...extra], 15 * 60_000);
    expect(result.exitCode, result.stderr).toBe(0);
    return result;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "sbx-entrypoint-e2e-"));
    const home = plantHome(root);
    a.project = join(root, "project-a");
    b.project = join(root, "project-b");
    for (const project of [a.project, b.project]) mkdirSync(join(project, ".git"), { recursive: true });
    env = {
      ...sbxTestEnv(home, login, environment),
      ANTHROPIC_API_KEY: `sk-ant-api03-${CANARY}-apikey`,
      FOO: "bar-plain",
    };
    await up(a.project, "--profile", "shared");
    a.container = JSON.parse((await sbx(a.project, ["status", "--json"])).stdout).container.name;
    a.projectId = a.container.replace(/^sbx-/, "");
  }, 15 * 60_000);

  afterAll(() => {
    for (const container of [a.container, b.container]) if (container) docker(["rm", "-f", container], { allowFailure: true });
    const volumes = docker(["volume", "ls", "-q", "--filter", `label=dev.sbx.login=${login}`], { allowFailure: true }).stdout.split("\n").filter(Boolean);
    for (const volume of new Set([...volumes, `${login}-llm`])) docker(["volume", "rm", volume], { allowFailure: true });
  });

  it("hole 4: a plain variable from passthroughEnv reaches the agent, and `sbx run` exits 0", async () => {
    const run = await sbx(a.project, ["run", "--yes", "--profile", "shared", "printenv", "FOO"]);
    expect(run.stderr).not.toContain("is not a provider login variable");
    expect([run.exitCode, run.stdout.trim()]).toEqual([0, "bar-plain"]);
    // The API key still crosses as Claude's piped login.
    const key = docker(["exec", a.container, "node", "/opt/sbx/entrypoint.mjs", "agent", "printenv", "ANTHROPIC_API_KEY"]);
    expect(key.stdout.trim()).toBe(`sk-ant-api03-${CANARY}-apikey`);
  });

  it("hole 10: the piped API key lives only on a tmpfs: not in `docker export` or `docker commit`, not in the profile's host mount", async () => {
    expect(docker(["exec", a.container, "stat", "-f", "-c", "%T", "/run/sbx"]).stdout.trim()).toBe("tmpfs");
    expect(docker(["exec", a.container, "cat", "/run/sbx/agent-env.json"]).stdout).toContain(CANARY);
    expect(docker(["exec", a.container, "sh", "-c", "ls -A ~/.sbx; test ! -e ~/.sbx/agent-env.json"]).exitCode).toBe(0);
    expect(await dockerOutputContains(["export", a.container], CANARY)).toBe(false);
    expect(filesContaining(join(root, "shared"), CANARY)).toEqual([]);
    // `docker commit` keeps the writable layer only: the tmpfs and the volumes stay out of it.
    const committed = `sbx-commit-test:${randomBytes(4).toString("hex")}`;
    // --pause=false: the freezer cgroup is not what this checks, and on cgroup v1 a freeze of a
    // container whose shim lost its state once hung `docker commit` (and CI) for good.
    docker(["commit", "--pause=false", a.container, committed]);
    try {
      expect(await dockerOutputContains(["save", committed], CANARY)).toBe(false);
    } finally {
      docker(["rmi", committed], { allowFailure: true });
    }
  });

  it("hole 14: runs with a read-only root filesystem, with the home and /tmp on tmpfs for agents' scratch space", async () => {
    const [info] = JSON.parse(docker(["inspect", a.container]).stdout);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect((await inside(a.project, "touch /usr/local/lib/x")).exitCode).not.toBe(0);
    const scratch = await inside(a.project, "touch /tmp/x ~/.cache-probe && mkdir -p ~/.cache/a ~/.npm/a ~/.config/a && echo ok > ~/.cache/a/f && cat ~/.cache/a/f");
    expect([scratch.exitCode, scratch.stdout]).toEqual([0, "ok\n"]);
    // `npm install -g` (how other agents get installed inside) lands in the home, and runs.
    const pkg = `mkdir -p /tmp/hello && cd /tmp/hello && printf '%s' '{"name":"sbx-hello","version":"1.0.0","bin":{"sbx-hello":"hello.js"}}' > package.json && printf '#!/usr/bin/env node\\nconsole.log("hello")\\n' > hello.js`;
    const global = await inside(a.project, `${pkg} && npm install -g --offline --no-audit --no-fund /tmp/hello >/dev/null && sbx-hello && command -v sbx-hello`);
    expect([global.exitCode, global.stdout]).toEqual([0, "hello\n/home/sandbox/.local/bin/sbx-hello\n"]);
        // Claude runs (the prompt test in sandbox.docker.test.ts drives it to its prompt).
    expect((await inside(a.project, "claude --version")).exitCode).toBe(0);
    // The home's links into the volume are made at start.
    expect((await inside(a.project, 'test "$(readlink ~/.claude)" = /home/sandbox/.llm/claude && test -s ~/.claude/.credentials.json')).exitCode).toBe(0);
  });

  it("hole 6: a file planted where a store's link belongs is moved aside, and every later `sbx up` works", async () => {
    expect((await inside(a.project, "rm ~/.llm/claude/projects && echo x > ~/.llm/claude/projects")).exitCode).toBe(0);
    await up(a.project, "--profile", "shared");
    const check = await inside(a.project, "test -L ~/.llm/claude/projects && test -d ~/.claude/projects/ && cat ~/.llm/claude/projects.in-the-way-*");
    expect([check.exitCode, check.stdout]).toEqual([0, "x\n"]);
    // A fresh container on the same volume starts too.
    expect((await sbx(a.project, ["down"])).exitCode).toBe(0);
    await up(a.project, "--profile", "shared");
  });

  it("hole 8: links planted at ~/.claude and ~/.llm/codex never make `sbx up` write the host's logins into the project", async () => {
    // Writable by the sandbox user whoever owns the project (these tests may run as root).
    mkdirSync(join(a.project, "leak"));
    chmodSync(join(a.project, "leak"), 0o777);
    const plant = "rm ~/.claude && ln -s /workspace/leak ~/.claude && mv ~/.llm/codex ~/.llm/codex.mine && ln -s /workspace/leak ~/.llm/codex";
    expect((await inside(a.project, plant)).exitCode).toBe(0);
    await up(a.project, "--profile", "shared");
    expect(readdirSync(join(a.project, "leak"))).toEqual([]);
    expect(filesContaining(a.project, CANARY)).toEqual([]);
    // Repaired, and the logins are where they belong.
    const check = await inside(a.project, 'test "$(readlink ~/.claude)" = /home/sandbox/.llm/claude && test -d ~/.llm/codex && test ! -L ~/.llm/codex && grep -q codex ~/.codex/auth.json');
    expect(check.exitCode).toBe(0);
  });

  it("hole 11: five `sbx up` at once on the running sandbox all install, and the login arrives whole", async () => {
    const ups = await Promise.all(Array.from({ length: 5 }, () => sbx(a.project, ["up", "--detach", "--yes", "--profile", "shared"], 300_000)));
    expect(ups.map((result) => [result.exitCode, result.exitCode === 0 ? "" : result.stderr])).toEqual(Array.from({ length: 5 }, () => [0, ""]));
    const credentials = JSON.parse(docker(["exec", a.container, "cat", "/home/sandbox/.claude/.credentials.json"]).stdout);
    expect(credentials.claudeAiOauth.accessToken).toBe(`sk-ant-oat01-${CANARY}-access`);
    expect(docker(["exec", a.container, "sh", "-c", "ls -A /run/secrets"]).stdout).toBe("");
  });

  it("hole 17: project B's sandbox cannot list or read project A's conversations, via any path", async () => {
    const idA = `aaaaaaaa-0000-4000-8000-${randomBytes(6).toString("hex")}`;
    const secretPrompt = `only-project-a-${randomBytes(6).toString("hex")}`;
    const line = JSON.stringify({ type: "user", sessionId: idA, cwd: "/workspace", timestamp: "2026-11-23T10:00:00.000Z", message: { role: "user", content: secretPrompt } });
    expect((await inside(a.project, `mkdir -p ~/.claude/projects/-workspace && printf '%s\\n' '${line}' > ~/.claude/projects/-workspace/${idA}.jsonl`)).exitCode).toBe(0);
    await up(b.project);
    b.container = JSON.parse((await sbx(b.project, ["status", "--json"])).stdout).container.name;
    b.projectId = b.container.replace(/^sbx-/, "");
    // Neither by name anywhere in B's filesystem, nor by content under any writable place.
    const byName = await inside(b.project, `find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -name '*${idA}*' -print 2>/dev/null; true`);
    expect(byName.stdout).toBe("");
    const byContent = await inside(b.project, `grep -rl '${secretPrompt}' /home /run /tmp /workspace /data 2>/dev/null; true`);
    expect(byContent.stdout).toBe("");
    expect((await inside(b.project, "ls ~/.claude/projects/-workspace 2>/dev/null; true")).stdout).toBe("");
    // A still has its own, on a volume labelled as A's.
    expect((await inside(a.project, `cat ~/.claude/projects/-workspace/${idA}.jsonl`)).stdout).toContain(secretPrompt);
    const [volume] = JSON.parse(docker(["volume", "inspect", `${login}-${a.projectId}-conversations`]).stdout);
    expect(volume.Labels).toMatchObject({ "dev.sbx.managed": "true", "dev.sbx.login": login, "dev.sbx.project": a.project });
  });

  it("hole 17: a project's conversations from the shared login volume move to its own volume on its next start", async () => {
    const legacy = `legacy-${randomBytes(4).toString("hex")}`;
    // What sbx kept before each project had its own volume: ~/.llm/by-project/<id> on the login volume.
    const plant = `mkdir -p ~/.llm/by-project/${a.projectId}/claude/projects/-workspace && echo '{"legacy":"${legacy}"}' > ~/.llm/by-project/${a.projectId}/claude/projects/-workspace/${legacy}.jsonl`;
    expect((await inside(a.project, plant)).exitCode).toBe(0);
    expect((await sbx(a.project, ["down"])).exitCode).toBe(0);
    await up(a.project, "--profile", "shared");
    expect((await inside(a.project, `cat ~/.claude/projects/-workspace/${legacy}.jsonl`)).stdout).toContain(legacy);
    const shared = await inside(a.project, `ls -A ~/.llm/by-project 2>/dev/null; true`);
    expect(shared.stdout).not.toContain(a.projectId);
    if (b.container) expect((await inside(b.project, `grep -rl '${legacy}' /home 2>/dev/null; true`)).stdout).toBe("");
  });
});
