/**
 * End-to-end tests of `sbx` against the real Docker engine. They run in CI (SBX_REQUIRE_DOCKER=1);
 * elsewhere, without an engine or a base image, they report themselves skipped with the reason.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { docker, dockerOutputContains, imageBytesContain } from "./test-support/docker-cli.js";
import { plantCanaryHome } from "./test-support/canary-home.js";
import { runSbx, SBX_BIN, sbxTestEnv } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

const CANARY = `CANARY${randomBytes(8).toString("hex")}`;
const login = `sbxtest${randomBytes(3).toString("hex")}`;
/** A GitHub token on the host: the audit must name it, and it must never reach the sandbox. */
const HOST_GITHUB_TOKEN = `ghp_${randomBytes(18).toString("hex")}`;

interface Sandbox {
  home: string;
  project: string;
  env: Record<string, string | undefined>;
  container: string;
  image: string;
}

describe.skipIf(!environment.available)(`sbx against the Docker engine${skipReason}`, { timeout: 120_000 }, () => {
  const sandbox = {} as Sandbox;
  const argvSeen: string[] = [];
  let upOutput = "";

  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "sbx-e2e-"));
    sandbox.home = plantCanaryHome(root, CANARY);
    sandbox.project = join(root, "project");
    mkdirSync(join(sandbox.project, ".git"), { recursive: true });
    sandbox.env = {
      ...sbxTestEnv(sandbox.home, login, environment),
      ANTHROPIC_API_KEY: `sk-ant-api03-${CANARY}-apikey`,
      GITHUB_TOKEN: HOST_GITHUB_TOKEN,
    };
    // Watch the host's process list for the whole of `sbx up`: no argv may carry a secret.
    const watcher = setInterval(() => {
      const ps = spawnSync("ps", ["-eo", "args"], { encoding: "utf8" });
      argvSeen.push(ps.stdout);
    }, 25);
    try {
      const up = await runSbx(["up", "--detach", "--yes"], { cwd: sandbox.project, env: sandbox.env, timeoutMs: 15 * 60_000 });
      expect(up.stderr).toContain("logins piped");
      expect(up.exitCode, up.stderr).toBe(0);
      upOutput = up.stderr;
    } finally {
      clearInterval(watcher);
    }
    const status = await runSbx(["status", "--json"], { cwd: sandbox.project, env: sandbox.env });
    const report = JSON.parse(status.stdout);
    sandbox.container = report.container.name;
    sandbox.image = report.container.image;
  }, 15 * 60_000);

  afterAll(async () => {
    if (sandbox.container) docker(["rm", "-f", sandbox.container], { allowFailure: true });
    docker(["volume", "rm", `${login}-llm`], { allowFailure: true });
    // Each project's conversations volume, labelled with the login.
    for (const volume of docker(["volume", "ls", "-q", "--filter", `label=dev.sbx.login=${login}`], { allowFailure: true }).stdout.split("\n").filter(Boolean)) {
      docker(["volume", "rm", volume], { allowFailure: true });
    }
  });

  describe("the canary audit: no secret in any place Docker records", () => {
    it("is in none of docker inspect (container and image), docker history or the container logs", () => {
      for (const args of [["inspect", sandbox.container], ["inspect", sandbox.image], ["history", "--no-trunc", sandbox.image], ["logs", sandbox.container]]) {
        const out = docker(args);
        expect(out.stdout + out.stderr, `docker ${args.join(" ")}`).not.toContain(CANARY);
      }
    });

    it("is in none of the image's layer tars", async () => {
      expect(await imageBytesContain(sandbox.image, CANARY)).toBe(false);
    });

    it("hole 10: is nowhere in `docker export` of the running container (the piped API key lives on a tmpfs)", async () => {
      expect(await dockerOutputContains(["export", sandbox.container], CANARY)).toBe(false);
    });

    it("never appeared in the host's process list while sbx piped the logins", () => {
      expect(argvSeen.length).toBeGreaterThan(3);
      expect(argvSeen.join("\n")).not.toContain(CANARY);
    });

    it("is gone from /run/secrets once the entrypoint installed it", () => {
      const listing = docker(["exec", sandbox.container, "sh", "-c", "ls -A /run/secrets; cat /run/secrets/* 2>/dev/null; true"]);
      expect(listing.stdout).toBe("");
    });

    it("is in each destination file, mode 0600, owned by the sandbox user — and the MCP servers stayed home", () => {
      const files = ["/home/sandbox/.claude/.credentials.json", "/home/sandbox/.codex/auth.json", "/home/sandbox/.gemini/oauth_creds.json", "/home/sandbox/.local/share/opencode/auth.json", "/run/sbx/agent-env.json"];
      for (const file of files) {
        const stat = docker(["exec", sandbox.container, "stat", "-L", "-c", "%a %U", file]);
        expect(stat.stdout.trim(), file).toBe("600 sandbox");
        expect(docker(["exec", sandbox.container, "cat", file]).stdout, file).toContain(CANARY);
      }
      const config = JSON.parse(docker(["exec", sandbox.container, "cat", "/home/sandbox/.claude/.claude.json"]).stdout);
      expect(config.hasCompletedOnboarding).toBe(true);
      expect(config.projects["/workspace"].hasTrustDialogAccepted).toBe(true);
      expect(config.mcpServers).toBeUndefined();
      expect(config.projects["/home/ada/employer"]).toBeUndefined();
    });

    it("keeps API keys out of the container's environment (they are loaded only for the agent)", () => {
      expect(docker(["exec", sandbox.container, "printenv"]).stdout).not.toContain(CANARY);
      const agentEnv = docker(["exec", sandbox.container, "node", "/opt/sbx/entrypoint.mjs", "agent", "printenv", "ANTHROPIC_API_KEY"]);
      expect(agentEnv.stdout.trim()).toBe(`sk-ant-api03-${CANARY}-apikey`);
    });
  });

  it("is in none of the agents' first-run files sbx merged (Codex, Gemini, opencode)", () => {
    const files = docker(["exec", sandbox.container, "sh", "-c", "cat ~/.codex/config.toml ~/.gemini/settings.json ~/.gemini/trustedFolders.json ~/.config/opencode/opencode.json"]);
    expect(files.exitCode, files.stderr).toBe(0);
    expect(files.stdout).toContain("daemon_auto_start = false");
    expect(files.stdout).not.toContain(CANARY);
  });

  it("refuses the host's GITHUB_TOKEN in the audit by name, never by value, and the sandbox never sees it", async () => {
    expect(upOutput).toMatch(/refused\s+GITHUB_TOKEN: GITHUB_TOKEN is a source-forge credential/);
    expect(upOutput).toMatch(/logins\s+claude \(Claude Max/);
    expect(upOutput).not.toContain(HOST_GITHUB_TOKEN);
    expect(argvSeen.join("\n")).not.toContain(HOST_GITHUB_TOKEN);
    expect(docker(["inspect", sandbox.container]).stdout).not.toContain(HOST_GITHUB_TOKEN);
    const agentEnv = docker(["exec", sandbox.container, "node", "/opt/sbx/entrypoint.mjs", "agent", "printenv"]);
    expect(agentEnv.stdout).not.toContain("GITHUB_TOKEN");
    expect(agentEnv.stdout).not.toContain(HOST_GITHUB_TOKEN);
  });

  it("runs hardened: non-root user, all capabilities dropped, no-new-privileges, pids limit, the state volume, a noexec /run/secrets tmpfs", () => {
    const [info] = JSON.parse(docker(["inspect", sandbox.container]).stdout);
    expect(info.Config.User).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(info.HostConfig.CapDrop).toContain("ALL");
    expect(info.HostConfig.CapAdd ?? []).toEqual([]);
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
    expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
    expect(info.HostConfig.Privileged).toBe(false);
    expect(info.Mounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Type: "volume", Name: `${login}-llm`, Destination: "/home/sandbox/.llm" }),
        expect.objectContaining({ Type: "bind", Source: sandbox.project, Destination: "/workspace" }),
      ]),
    );
    expect(info.HostConfig.Tmpfs["/run/secrets"]).toMatch(/noexec/);
    expect(info.Config.Labels["dev.sbx.managed"]).toBe("true");
    // No host path other than the workspace is mounted, and nothing from the host's ~/.claude.
    expect(info.Mounts.filter((mount: { Type: string }) => mount.Type === "bind")).toHaveLength(1);
  });

  it("keeps a file on the state volume across `sbx down` and `sbx up --detach`", async () => {
    const marker = `survives-${randomBytes(4).toString("hex")}`;
    expect((await runSbx(["exec", "--", "sh", "-c", `echo ${marker} > ~/.claude/marker`], { cwd: sandbox.project, env: sandbox.env })).exitCode).toBe(0);
    const down = await runSbx(["down"], { cwd: sandbox.project, env: sandbox.env });
    expect(down.exitCode).toBe(0);
    // With no sandbox, both routes explain it the same way.
    for (const launcher of [false, true]) {
      const missing = await runSbx(["exec", "--", "true"], { cwd: sandbox.project, env: sandbox.env, launcher });
      expect(missing.exitCode).toBe(1);
      expect(missing.stderr).toContain(`sbx: No such container: ${sandbox.container}.`);
      expect(missing.stderr).toContain("code: SBX_CONTAINER_NOT_FOUND");
    }
    expect(docker(["inspect", sandbox.container], { allowFailure: true }).exitCode).not.toBe(0);
    expect(docker(["volume", "inspect", `${login}-llm`]).exitCode).toBe(0);
    expect((await runSbx(["up", "--detach", "--yes"], { cwd: sandbox.project, env: sandbox.env, timeoutMs: 120_000 })).exitCode).toBe(0);
    const read = await runSbx(["exec", "--", "cat", "/home/sandbox/.claude/marker"], { cwd: sandbox.project, env: sandbox.env });
    expect(read.stdout).toBe(`${marker}\n`);
  });

  it("keeps each project's conversations to itself on the shared login volume, and exports only its own", async () => {
    const other = { project: join(sandbox.home, "..", "other-project"), container: "" };
    mkdirSync(join(other.project, ".git"), { recursive: true });
    const inA = (script: string) => runSbx(["exec", "--", "sh", "-c", script], { cwd: sandbox.project, env: sandbox.env });
    const inB = (script: string) => runSbx(["exec", "--", "sh", "-c", script], { cwd: other.project, env: sandbox.env });
    /** A one-turn Claude session, written where Claude Code writes it: keyed by the cwd, /workspace. */
    const session = (id: string, prompt: string) =>
      `mkdir -p ~/.claude/projects/-workspace && printf '%s\\n' '${JSON.stringify({ type: "user", sessionId: id, uuid: `${id}-u`, cwd: "/workspace", timestamp: "2026-11-23T10:00:00.000Z", message: { role: "user", content: prompt } })}' > ~/.claude/projects/-workspace/${id}.jsonl`;
    const idA = `aaaaaaaa-0000-4000-8000-${randomBytes(6).toString("hex")}`;
    const idB = `bbbbbbbb-0000-4000-8000-${randomBytes(6).toString("hex")}`;
    try {
      expect((await inA(session(idA, "a prompt only project A has seen"))).exitCode).toBe(0);
      const up = await runSbx(["up", "--detach", "--yes"], { cwd: other.project, env: sandbox.env, timeoutMs: 120_000 });
      expect(up.exitCode, up.stderr).toBe(0);
      other.container = JSON.parse((await runSbx(["status", "--json"], { cwd: other.project, env: sandbox.env })).stdout).container.name;
      expect(other.container).not.toBe(sandbox.container);
      expect((await inB(session(idB, "a prompt only project B has seen"))).exitCode).toBe(0);

      // What `claude --resume` lists is the directory of its cwd: each project sees its own only.
      expect((await inA("ls ~/.claude/projects/-workspace")).stdout.trim()).toBe(`${idA}.jsonl`);
      expect((await inB("ls ~/.claude/projects/-workspace")).stdout.trim()).toBe(`${idB}.jsonl`);
      // The login is still one: both read the same credentials on the volume.
      expect((await inB("test -s ~/.claude/.credentials.json && test -L ~/.llm/claude/projects")).exitCode).toBe(0);

      for (const [project, mine, theirs] of [[sandbox.project, idA, idB], [other.project, idB, idA]] as const) {
        const inbox = mkdtempSync(join(tmpdir(), "sbx-inbox-"));
        const exported = await runSbx(["export", "--inbox", inbox, "--agent", "claude", "--json"], { cwd: project, env: sandbox.env });
        expect(exported.exitCode, exported.stderr + exported.stdout).toBe(0);
        const notes = spawnSync("grep", ["-rl", "session_id", join(inbox, "conversations")], { encoding: "utf8" }).stdout;
        const text = notes.trim().split("\n").filter(Boolean).map((note) => readFileSync(note, "utf8")).join("\n");
        expect(text).toContain(mine);
        expect(text).not.toContain(theirs);
      }

      // Stopped, B's sandbox is what `sbx gc` offers to delete; the running one, its image and the
      // login's volume (which the running one mounts) are not.
      docker(["stop", "-t", "1", other.container]);
      const gc = await runSbx(["gc", "--dry-run", "--volumes", "--json"], { cwd: sandbox.project, env: sandbox.env });
      expect(gc.exitCode, gc.stderr).toBe(0);
      const plan = JSON.parse(gc.stdout) as { containers: { name: string }[]; images: { ref: string }[]; volumes: { name: string }[] };
      expect(plan.containers.map((container) => container.name)).toContain(other.container);
      expect(plan.containers.map((container) => container.name)).not.toContain(sandbox.container);
      expect(plan.images.map((image) => image.ref)).not.toContain(sandbox.image);
      expect(plan.volumes.map((volume) => volume.name)).not.toContain(`${login}-llm`);
      expect(docker(["inspect", other.container]).exitCode).toBe(0);
    } finally {
      if (other.container) docker(["rm", "-f", other.container], { allowFailure: true });
    }
  });

  it("keeps a store from before per-project isolation aside, untouched, and links the store again", async () => {
    const old = "rm ~/.llm/codex/sessions && mkdir -p ~/.llm/codex/sessions/2025 && echo old > ~/.llm/codex/sessions/2025/rollout.jsonl";
    expect((await runSbx(["exec", "--", "sh", "-c", old], { cwd: sandbox.project, env: sandbox.env })).exitCode).toBe(0);
    expect((await runSbx(["down"], { cwd: sandbox.project, env: sandbox.env })).exitCode).toBe(0);
    expect((await runSbx(["up", "--detach", "--yes"], { cwd: sandbox.project, env: sandbox.env, timeoutMs: 120_000 })).exitCode).toBe(0);
    const check = await runSbx(["exec", "--", "sh", "-c", "cat ~/.llm/codex/sessions.before-per-project/2025/rollout.jsonl && test -L ~/.llm/codex/sessions && ls -A ~/.codex/sessions"], { cwd: sandbox.project, env: sandbox.env });
    expect([check.exitCode, check.stdout]).toEqual([0, "old\n"]);
  });

  for (const launcher of [false, true]) {
    it(`passes exec exit codes and stdin through (${launcher ? "bin/sbx → docker exec" : "the Node CLI"})`, async () => {
      const options = { cwd: sandbox.project, env: sandbox.env, launcher };
      expect((await runSbx(["exec", "--", "sh", "-c", "exit 42"], options)).exitCode).toBe(42);
      expect((await runSbx(["exec", "--", "cat"], { ...options, input: "through stdin\n" })).stdout).toBe("through stdin\n");
      expect((await runSbx(["exec", "--", "pwd"], options)).stdout).toBe("/workspace\n");
      expect((await runSbx(["exec", "--", "id", "-un"], options)).stdout).toBe("sandbox\n");
      // An exit 1 of the command's own is passed on as it is, with no sbx explanation added.
      const own = await runSbx(["exec", "--", "sh", "-c", "echo own >&2; exit 1"], options);
      expect([own.exitCode, own.stderr]).toEqual([1, "own\n"]);
    });
  }

  it("lists the sandbox in `sbx ls --json`", async () => {
    const listed = JSON.parse((await runSbx(["ls", "--json"], { cwd: sandbox.project, env: sandbox.env })).stdout);
    expect(listed).toEqual(expect.arrayContaining([expect.objectContaining({ name: sandbox.container, state: "running", project: sandbox.project })]));
  });

  it("the prompt test: `sbx run claude` shows Claude's ❯ prompt and the plan within 60 s, with no first-run screen", async () => {
    const socket = `sbx-prompt-${randomBytes(3).toString("hex")}`;
    // As a user with only a Claude login would: no API key on the host (it was removed since the
    // last `up`, so this also checks that the stale key is withdrawn from the reused sandbox).
    const envArgs = Object.entries(sandbox.env)
      .filter(([key, value]) => value !== undefined && key !== "ANTHROPIC_API_KEY")
      .map(([key, value]) => `${key}='${value}'`);
    const command = `cd '${sandbox.project}' && env -i ${envArgs.join(" ")} TERM=xterm-256color '${process.execPath}' '${SBX_BIN}' run --yes claude; sleep 30`;
    spawnSync("tmux", ["-L", socket, "new-session", "-d", "-x", "160", "-y", "45", "-s", "prompt", command]);
    const capture = () => spawnSync("tmux", ["-L", socket, "capture-pane", "-p", "-t", "prompt"], { encoding: "utf8" }).stdout ?? "";
    try {
      const started = Date.now();
      let screen = "";
      while (Date.now() - started < 60_000) {
        screen = capture();
        if (screen.includes("❯") && screen.includes("Claude Max")) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(screen).toContain("❯");
      expect(screen).toContain("Claude Max");
      for (const firstRun of ["Choose the text style", "Select login method", "Unable to connect", "Do you trust the files", "Yes, proceed", "Detected a custom API key"]) {
        expect(screen).not.toContain(firstRun);
      }
      expect(JSON.parse(docker(["exec", sandbox.container, "cat", "/run/sbx/agent-env.json"]).stdout)).toEqual({ env: {}, pipedLogins: [] });
    } finally {
      spawnSync("tmux", ["-L", socket, "kill-server"]);
    }
  }, 90_000);

  it("refuses to start when GITHUB_TOKEN is injected straight into the container, naming it and never its value", () => {
    const token = `ghp_${"A1b2C3d4E5f6G7h8I9j0".repeat(2).slice(0, 36)}`;
    const run = docker(["run", "--rm", "-e", `GITHUB_TOKEN=${token}`, sandbox.image], { allowFailure: true });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain("GITHUB_TOKEN");
    expect(run.stderr + run.stdout).not.toContain(token);
    const agent = docker(["exec", "-e", `GITHUB_TOKEN=${token}`, sandbox.container, "node", "/opt/sbx/entrypoint.mjs", "agent", "true"], { allowFailure: true });
    expect(agent.exitCode).not.toBe(0);
    expect(agent.stderr).toContain("GITHUB_TOKEN");
    expect(agent.stderr).not.toContain(token);
  });
});

