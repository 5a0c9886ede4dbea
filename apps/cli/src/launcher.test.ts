import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sandboxIdentity } from "./sandbox-identity.js";
import { runSbx, SBX_LAUNCHER } from "./test-support/run-sbx.js";

const root = realpathSync(mkdtempSync(join(tmpdir(), "sbx-launcher-")));

function launcherName(cwd: string, options: string[] = []): string {
  const result = spawnSync(SBX_LAUNCHER, ["exec", ...options, "--", "true"], { cwd, env: { ...process.env, SBX_PRINT_CONTAINER: "1" }, encoding: "utf8" });
  return result.stdout.trim();
}

describe("bin/sbx, the launcher", () => {
  // Directory names chosen to hit each step of the slug: case, runs of odd characters, leading
  // dots and dashes, trailing dashes, the 40-character cut, and a git root above the cwd.
  const projects = [
    "plain",
    "My Project (v2)",
    "--..leading",
    "trailing---",
    "x".repeat(39) + "-yyyy",
    "a".repeat(60),
    "dots.and_underscores-ok",
    "!!!",
  ];
  for (const name of projects) {
    it(`names the sandbox exactly as the CLI does for "${name}"`, () => {
      const project = join(root, name);
      mkdirSync(join(project, "deep", "er"), { recursive: true });
      writeFileSync(join(project, ".git"), "gitdir: elsewhere\n");
      for (const cwd of [project, join(project, "deep", "er")]) expect(launcherName(cwd)).toBe(sandboxIdentity(cwd).containerName);
    });
  }

  // Names at each edge of checkSandboxName: one character, forty, each allowed punctuation, a digit first.
  const names = ["a", "x".repeat(40), "test-writer", "v1.2_rc", "9lives", "a-b-c"];
  for (const name of names) {
    it(`names the named sandbox "${name}" exactly as the CLI does, with -n and --name`, () => {
      const project = join(root, "My Project (v2)");
      mkdirSync(join(project, "deep"), { recursive: true });
      writeFileSync(join(project, ".git"), "gitdir: elsewhere\n");
      const expected = sandboxIdentity(project, process.env, name).containerName;
      expect(expected).not.toBe(sandboxIdentity(project).containerName);
      for (const options of [["-n", name], ["--name", name], ["-T", "--name", name, "-w", "/tmp"]]) {
        expect(launcherName(join(project, "deep"), options), options.join(" ")).toBe(expected);
      }
    });
  }

  it("hands every name checkSandboxName refuses to Node, which says what is wrong with it", async () => {
    const project = join(root, "named");
    mkdirSync(join(project, ".git"), { recursive: true });
    for (const name of ["", "Planner", "-x", "x-", "a--b", "a/b", "a b", "x".repeat(41), "../../etc", "é"]) {
      const result = await runSbx(["exec", "--name", name, "--", "true"], { cwd: project, env: { ...process.env, SBX_PRINT_CONTAINER: "1" }, launcher: true });
      expect(result.stdout, JSON.stringify(name)).toBe("");
      expect(result.stderr, JSON.stringify(name)).toContain("code: SBX_SANDBOX_NAME_INVALID");
      expect(result.exitCode).toBe(2);
    }
    const missing = await runSbx(["exec", "-n"], { cwd: project, env: process.env, launcher: true });
    expect(missing.stderr).toContain("-n needs a sandbox name.");
  });

  it("uses the working directory when no git root is above it", () => {
    const bare = join(root, "no-git-here");
    mkdirSync(bare);
    expect(launcherName(bare)).toBe(sandboxIdentity(bare).containerName);
  });

  it("leaves names outside ASCII to the Node CLI, which explains errors itself", async () => {
    const project = join(root, "Ünïcode");
    mkdirSync(join(project, ".git"), { recursive: true });
    // Only the shell route honours SBX_PRINT_CONTAINER: a printed name would mean it kept the call.
    const env = { ...process.env, SBX_PRINT_CONTAINER: "1", DOCKER_HOST: "unix:///nonexistent/docker.sock" };
    const result = await runSbx(["exec", "--", "true"], { cwd: project, env, launcher: true });
    expect(result.stdout).toBe("");
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("code: SBX_DOCKER_UNREACHABLE");
  });

  it("hole 13g: hands a directory name ending in a newline to Node, never to the sandbox of the name without it", async () => {
    // "proj\n" and "proj" side by side: `$(pwd)` drops trailing newlines, which made the shell
    // compute "proj"'s sandbox name for "proj\n" and run the command in the other project.
    const victim = join(root, "proj");
    const tricky = join(root, "proj\n");
    for (const dir of [victim, tricky]) mkdirSync(join(dir, ".git"), { recursive: true });
    expect(sandboxIdentity(tricky).containerName).not.toBe(sandboxIdentity(victim).containerName);
    const env = { ...process.env, SBX_PRINT_CONTAINER: "1", DOCKER_HOST: "unix:///nonexistent/docker.sock" };
    for (const name of ["proj\n", "tab\there", "bell\u0007"]) {
      const dir = join(root, name);
      mkdirSync(join(dir, ".git"), { recursive: true });
      const result = await runSbx(["exec", "--", "true"], { cwd: dir, env, launcher: true });
      expect(result.stdout, JSON.stringify(name)).toBe("");
      expect(result.stderr).toContain("code: SBX_DOCKER_UNREACHABLE");
    }
  });

  it("hands every other command, and exec's own errors, to the Node CLI", async () => {
    const version = await runSbx(["--version"], { cwd: root, env: process.env, launcher: true });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const noCommand = await runSbx(["exec"], { cwd: root, env: process.env, launcher: true });
    expect(noCommand.exitCode).toBe(2);
    expect(noCommand.stderr).toContain("sbx exec needs a command to run.");
    const unknown = await runSbx(["exec", "-t", "--weird", "--", "true"], { cwd: root, env: process.env, launcher: true });
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("Unknown option for exec: --weird.");
    const badDockerHost = await runSbx(["exec", "--", "true"], { cwd: root, env: { ...process.env, DOCKER_HOST: "ftp://example" }, launcher: true });
    expect(badDockerHost.stderr).toContain("code: SBX_DOCKER_HOST_INVALID");
  });
});
