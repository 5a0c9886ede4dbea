/**
 * The newest Claude Code on npm, tried at test time when the registry has a newer one than the
 * image's pin: the image must build with it (and `claude --version` say so), and whether it still
 * reaches its prompt with the files sbx writes is reported — a changed first-run screen in a new
 * release is news for the next pin bump, not a failure of this change.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { DEFAULT_CLAUDE_CODE_VERSION } from "./sandbox-image.js";
import { docker } from "./test-support/docker-cli.js";
import { runSbx, SBX_BIN } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const newest = spawnSync("npm", ["view", "@anthropic-ai/claude-code", "version"], { encoding: "utf8", timeout: 60_000 }).stdout?.trim() ?? "";
const newer = /^\d+\.\d+\.\d+$/.test(newest) && newest.localeCompare(DEFAULT_CLAUDE_CODE_VERSION, undefined, { numeric: true }) > 0;
const skipReason = !environment.available ? ` (skipped: ${environment.reason})` : !newer ? ` (skipped: npm has nothing newer than ${DEFAULT_CLAUDE_CODE_VERSION}${newest ? "" : ", or was unreachable"})` : "";

describe.skipIf(!environment.available || !newer)(`the newest Claude Code on npm (${newest || "?"})${skipReason}`, () => {
  const login = `sbxnewest${randomBytes(3).toString("hex")}`;
  let container = "";

  afterAll(() => {
    if (container) docker(["rm", "-f", container], { allowFailure: true });
    docker(["volume", "rm", `${login}-llm`], { allowFailure: true });
  });

  it("builds into the image and is reported on whether it reaches its prompt with sbx's first-run files", async () => {
    const root = mkdtempSync(join(tmpdir(), "sbx-newest-"));
    const home = join(root, "home");
    const project = join(root, "project");
    mkdirSync(join(home, ".claude"), { recursive: true });
    mkdirSync(join(project, ".git"), { recursive: true });
    writeFileSync(join(home, ".claude/.credentials.json"), JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-newest-test", refreshToken: "sk-ant-ort01-newest-test", expiresAt: Date.now() + 86_400_000, scopes: ["user:inference", "user:profile"], subscriptionType: "max" } }));
    writeFileSync(join(home, ".claude.json"), JSON.stringify({ hasCompletedOnboarding: true }));
    const env = { PATH: process.env.PATH, HOME: home, SBX_LOGIN: login, SBX_BASE_IMAGE: environment.available ? environment.image : "", SBX_CLAUDE_CODE_VERSION: newest };
    const up = await runSbx(["up", "--detach", "--yes"], { cwd: project, env, timeoutMs: 15 * 60_000 });
    expect(up.exitCode, up.stderr).toBe(0);
    container = JSON.parse((await runSbx(["status", "--json"], { cwd: project, env })).stdout).container.name;
    expect(docker(["exec", container, "claude", "--version"]).stdout).toContain(newest);

    const socket = `sbx-newest-${randomBytes(3).toString("hex")}`;
    const envArgs = Object.entries(env).map(([key, value]) => `${key}='${value}'`);
    spawnSync("tmux", ["-L", socket, "new-session", "-d", "-x", "160", "-y", "45", "-s", "prompt", `cd '${project}' && env -i ${envArgs.join(" ")} TERM=xterm-256color '${process.execPath}' '${SBX_BIN}' run --yes claude; sleep 90`]);
    let screen = "";
    try {
      for (const started = Date.now(); Date.now() - started < 60_000; await new Promise((resolve) => setTimeout(resolve, 500))) {
        screen = spawnSync("tmux", ["-L", socket, "capture-pane", "-p", "-t", "prompt"], { encoding: "utf8" }).stdout ?? "";
        if (screen.includes("❯") && screen.includes("Claude Max")) break;
      }
    } finally {
      spawnSync("tmux", ["-L", socket, "kill-server"]);
    }
    const reached = screen.includes("❯") && screen.includes("Claude Max");
    // Reported, not failed: see the file's comment.
    process.stderr.write(
      reached
        ? `claude-newest: Claude Code ${newest} reaches its prompt with sbx's first-run files (pin: ${DEFAULT_CLAUDE_CODE_VERSION})\n`
        : `claude-newest: Claude Code ${newest} did NOT reach its prompt with sbx's first-run files (pin: ${DEFAULT_CLAUDE_CODE_VERSION}); its screen:\n${screen}\n`,
    );
  }, 20 * 60_000);
});
