/**
 * End-to-end `sbx up` / `exec` / `down` of the real CLI on every other Docker-API engine sbx
 * claims: Podman's API socket, a remote engine over ssh:// and one over tcp:// with TLS (started
 * by the test: packages/container-runtime/src/test-support/engines.ts). In CI (SBX_REQUIRE_DOCKER=1
 * / CI=true) they must run; elsewhere an engine that cannot be set up is skipped with the reason.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "../../../packages/container-runtime/src/docker-driver.js";
import { engineEnvironment, type EngineEnvironment, type EngineName } from "../../../packages/container-runtime/src/test-support/engines.js";
import { runSbx } from "./test-support/run-sbx.js";

const image = process.env.SBX_TEST_BASE_IMAGE;
const engines: Array<[EngineName, EngineEnvironment]> = [];
for (const name of ["podman", "ssh", "tls"] as const) engines.push([name, await engineEnvironment(name, image)]);

afterAll(async () => {
  for (const [, engine] of engines) if (engine.available) await engine.stop();
});

/**
 * The docker CLI against the engine, asynchronously: the TLS proxy lives in this process, so a
 * synchronous child would stall it.
 */
function dockerAt(env: Record<string, string>, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ exitCode: code ?? -1, stdout, stderr }));
  });
}

/** A runtime on the engine; over ssh:// the driver runs `ssh` from PATH, which must be the test's wrapper. */
async function withRuntime<T>(env: Record<string, string>, use: (runtime: DockerRuntime) => Promise<T>): Promise<T> {
  const path = process.env.PATH;
  if (env.PATH) process.env.PATH = env.PATH;
  const runtime = new DockerRuntime({ env });
  try {
    return await use(runtime);
  } finally {
    runtime.close();
    process.env.PATH = path;
  }
}

for (const [name, engine] of engines) {
  const skipped = engine.available ? "" : ` (skipped: ${engine.reason})`;
  describe.skipIf(!engine.available)(`sbx up / exec / down on ${name}${skipped}`, { timeout: 120_000 }, () => {
    const engineEnv = engine.available ? engine.env : {};
    const canary = `CANARY${randomBytes(8).toString("hex")}`;
    const login = `sbxeng${randomBytes(3).toString("hex")}`;
    let root = "";
    let project = "";
    let env: Record<string, string | undefined> = {};
    let container = "";

    beforeAll(async () => {
      root = mkdtempSync(join(tmpdir(), `sbx-e2e-${name}-`));
      const home = join(root, "home");
      mkdirSync(join(home, ".claude"), { recursive: true });
      writeFileSync(
        join(home, ".claude", ".credentials.json"),
        JSON.stringify({ claudeAiOauth: { accessToken: `sk-ant-oat01-${canary}-access`, refreshToken: `sk-ant-ort01-${canary}-refresh`, expiresAt: Date.now() + 86_400_000, scopes: ["user:inference"], subscriptionType: "max" } }),
        { mode: 0o600 },
      );
      project = join(root, "project");
      mkdirSync(join(project, ".git"), { recursive: true });
      env = { PATH: process.env.PATH, HOME: home, SBX_LOGIN: login, SBX_BASE_IMAGE: image, ...engineEnv };
      // Podman's first build of the sandbox image installs Claude Code from npm: minutes.
      const up = await runSbx(["up", "--detach", "--yes"], { cwd: project, env, timeoutMs: 20 * 60_000 });
      expect(up.exitCode, up.stderr).toBe(0);
      expect(up.stderr).toContain("logins piped");
      const status = await runSbx(["status", "--json"], { cwd: project, env });
      container = JSON.parse(status.stdout).container.name;
    }, 20 * 60_000);

    afterAll(async () => {
      try {
        await withRuntime(engineEnv, async (runtime) => {
          if (container) await runtime.removeContainer(container);
          await runtime.removeVolume(`${login}-llm`);
        });
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    it("runs commands in the sandbox as the sandbox user, and /workspace files keep that uid on the host", async () => {
      const ids = await runSbx(["exec", "--", "id", "-u"], { cwd: project, env });
      expect(ids.exitCode, ids.stderr).toBe(0);
      const uid = Number(ids.stdout.trim());
      expect(uid).toBeGreaterThan(0);
      // The sandbox user takes the host user's uid — except for root, whom it never is: then
      // the project must be the sandbox uid's to be writable (as it would be for a real user).
      if (process.getuid?.() === 0) chownSync(project, uid, uid);
      const touched = await runSbx(["exec", "--", "sh", "-c", "touch /workspace/from-sandbox"], { cwd: project, env });
      expect(touched.exitCode, touched.stderr).toBe(0);
      // No user-namespace shift between the sandbox and the host (rootful Podman, like Docker).
      expect(statSync(join(project, "from-sandbox")).uid).toBe(uid);
    });

    it("piped the login into place (mode 0600, the sandbox user's) and left nothing in /run/secrets", async () => {
      const file = "/home/sandbox/.claude/.credentials.json";
      const stat = await runSbx(["exec", "--", "stat", "-L", "-c", "%a %U", file], { cwd: project, env });
      expect(stat.stdout.trim(), stat.stderr).toBe("600 sandbox");
      expect((await runSbx(["exec", "--", "cat", file], { cwd: project, env })).stdout).toContain(canary);
      const secrets = await runSbx(["exec", "--", "sh", "-c", "ls -A /run/secrets"], { cwd: project, env });
      expect(secrets.exitCode).toBe(0);
      expect(secrets.stdout).toBe("");
    });

    it("keeps the login out of what the engine records (inspect, logs)", async () => {
      for (const args of [["inspect", container], ["logs", container]]) {
        const out = await dockerAt(engineEnv, args);
        expect(out.exitCode, out.stderr).toBe(0);
        expect(out.stdout + out.stderr, `docker ${args.join(" ")}`).not.toContain(canary);
      }
    });

    it("runs hardened: every capability set empty inside, no-new-privileges, a noexec /run/secrets", async () => {
      const status = await runSbx(["exec", "--", "cat", "/proc/self/status"], { cwd: project, env });
      for (const set of ["CapPrm", "CapEff", "CapBnd"]) expect(status.stdout).toMatch(new RegExp(`^${set}:\\s+0{16}$`, "m"));
      expect(status.stdout).toMatch(/^NoNewPrivs:\s+1$/m);
      const mounts = await runSbx(["exec", "--", "grep", " /run/secrets ", "/proc/self/mounts"], { cwd: project, env });
      expect(mounts.stdout).toMatch(/tmpfs \/run\/secrets tmpfs [^ ]*noexec/);
    });

    it("passes exit codes and stdin through the launcher's docker exec too", async () => {
      const options = { cwd: project, env, launcher: true };
      expect((await runSbx(["exec", "--", "sh", "-c", "exit 7"], options)).exitCode).toBe(7);
      const echoed = await runSbx(["exec", "--", "cat"], { ...options, input: "through-the-launcher" });
      expect(echoed.stdout, echoed.stderr).toBe("through-the-launcher");
    });

    it("`sbx down` removes the sandbox and keeps the login volume", async () => {
      const down = await runSbx(["down"], { cwd: project, env });
      expect(down.exitCode, down.stderr).toBe(0);
      await withRuntime(engineEnv, async (runtime) => {
        expect(await runtime.inspectContainer(container)).toBeUndefined();
        expect(await runtime.inspectVolume(`${login}-llm`)).toBeDefined();
      });
      const gone = await runSbx(["exec", "--", "true"], { cwd: project, env });
      expect(gone.exitCode).toBe(1);
      expect(gone.stderr).toContain("code: SBX_CONTAINER_NOT_FOUND");
    });
  });
}
