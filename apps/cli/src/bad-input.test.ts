/**
 * Hole 13: bad input that crashed or misled. Each case ends in one sentence, a hint, a stable
 * code and a non-zero exit — or, for a broken login, in a skip the audit explains.
 */
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { muteEngine } from "../../../packages/container-runtime/src/test-support/mute-engine.js";
import { runSbx } from "./test-support/run-sbx.js";

const root = mkdtempSync(join(tmpdir(), "sbx-bad-input-"));
chmodSync(root, 0o755);
const project = join(root, "project");
mkdirSync(join(project, ".git"), { recursive: true });
const dead = "unix:///nonexistent/docker.sock";

function homeWithClaudeLogin(name: string, credentials: string): string {
  const home = join(root, name);
  mkdirSync(join(home, ".claude"), { recursive: true });
  writeFileSync(join(home, ".claude", ".credentials.json"), credentials);
  return home;
}

describe("hole 13a/b: a login file holding JSON that is not a login", () => {
  for (const [content, what] of [["null", "null"], ["[]", "an array"], ["7", "a number"]] as const) {
    it(`lists Claude's .credentials.json holding ${what} as skipped in the audit of \`sbx up\`, with the reason`, async () => {
      const home = homeWithClaudeLogin(`home-${what.replace(/\W/g, "")}`, content);
      const env = { PATH: process.env.PATH, HOME: home, SBX_BASE_IMAGE: "example/base:1", DOCKER_HOST: dead };
      const up = await runSbx(["up", "--detach", "--yes"], { cwd: project, env });
      expect(up.stderr).toContain(`skipped    claude login: ${home}/.claude/.credentials.json holds ${what} where a JSON object belongs.`);
      expect(up.stderr).not.toContain("SBX_INTERNAL");
      // It gets as far as Docker, which this test has none of.
      expect(up.stderr).toContain("code: SBX_DOCKER_UNREACHABLE");
    });

    it(`makes \`sbx doctor\` report Claude's .credentials.json holding ${what} as a failed check with a fix, not a crash`, async () => {
      const home = homeWithClaudeLogin(`doctor-${what.replace(/\W/g, "")}`, content);
      const doctor = await runSbx(["doctor", "--json"], { cwd: project, env: { PATH: process.env.PATH, HOME: home, DOCKER_HOST: dead } });
      expect(doctor.exitCode).toBe(1);
      expect(doctor.stderr).toBe("");
      const report = JSON.parse(doctor.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string; fix?: string }> };
      expect(report.checks.find((check) => check.name === "login:claude")).toEqual({
        name: "login:claude",
        ok: false,
        detail: `${home}/.claude/.credentials.json holds ${what} where a JSON object belongs.`,
        fix: `Fix or remove ${home}/.claude/.credentials.json, then log in again on the host.`,
      });
    });
  }
});

describe("hole 13d: an engine that accepts connections and never answers", () => {
  const { socketPath } = muteEngine(join(root, "mute.sock"));
  const env = () => ({ PATH: process.env.PATH, HOME: join(root, "mute-home"), DOCKER_HOST: `unix://${socketPath}`, SBX_DOCKER_TIMEOUT: "1", SBX_BASE_IMAGE: "example/base:1" });

  for (const args of [["status"], ["ls"], ["down"], ["up", "--detach", "--yes"], ["exec", "--", "true"]]) {
    it(`makes \`sbx ${args.join(" ")}\` give up with SBX_DOCKER_TIMEOUT and say so`, async () => {
      const result = await runSbx(args, { cwd: project, env: env(), timeoutMs: 20_000 });
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toMatch(new RegExp(`sbx: Docker at unix://${socketPath.replace(/[.]/g, "\\.")} did not answer [A-Z]+ /\\S+ within 1 s\\.\\n`));
      expect(result.stderr).toContain("hint: The engine may be hung or overloaded");
      expect(result.stderr).toContain("code: SBX_DOCKER_TIMEOUT\n");
    });
  }

  it("makes `sbx doctor` finish, failing the docker check with the reason and how to fix it", async () => {
    const doctor = await runSbx(["doctor", "--json"], { cwd: project, env: env(), timeoutMs: 20_000 });
    expect(doctor.exitCode).toBe(1);
    const report = JSON.parse(doctor.stdout) as { checks: Array<{ name: string; ok: boolean; detail: string; fix?: string }> };
    expect(report.checks[0]).toMatchObject({ name: "docker", ok: false, detail: `Docker at unix://${socketPath} did not answer GET /_ping within 1 s.` });
    expect(report.checks[0]?.fix).toMatch(/SBX_DOCKER_TIMEOUT/);
  });
});

describe("hole 13c: a Docker socket this user may not open", () => {
  // As root, permissions do not apply: the command runs as nobody against a root-only socket.
  const asRoot = process.getuid?.() === 0;
  const socketPath = join(root, "private.sock");
  let server: Server;
  beforeAll(async () => {
    server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    chmodSync(socketPath, asRoot ? 0o600 : 0o000);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(socketPath, { force: true });
  });

  it("says permission denied with SBX_DOCKER_PERMISSION_DENIED and the ways in, not \"Start Docker\"", async () => {
    const home = join(root, "nobody-home");
    mkdirSync(home, { recursive: true });
    if (asRoot) chownSync(home, 65534, 65534);
    const env = { PATH: process.env.PATH, HOME: home, DOCKER_HOST: `unix://${socketPath}` };
    const result = await runSbx(["status"], { cwd: project, env, ...(asRoot ? { uid: 65534, gid: 65534 } : {}) });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`sbx: Permission denied on the Docker socket unix://${socketPath}.\n`);
    expect(result.stderr).toMatch(/hint: .*docker group.*rootless.*DOCKER_HOST/);
    expect(result.stderr).toContain("code: SBX_DOCKER_PERMISSION_DENIED\n");
    expect(result.stderr).not.toContain("Start Docker");
  });
});

// Only a root process can be root on the host and hand a directory to another uid; elsewhere the
// rule is covered by workspace-user.test.ts.
describe.runIf(process.getuid?.() === 0)("hole 13f: sbx run as root", () => {
  const env = { PATH: process.env.PATH, HOME: join(root, "root-home"), SBX_BASE_IMAGE: "example/base:1", DOCKER_HOST: dead };

  it("says in the audit that the sandbox user cannot write a root-owned project, instead of read-write", async () => {
    const owned = join(root, "root-owned");
    mkdirSync(join(owned, ".git"), { recursive: true });
    chmodSync(owned, 0o755);
    const plan = JSON.parse((await runSbx(["up", "--dry-run"], { cwd: owned, env })).stdout);
    expect(plan.container.user).toBe("1000:1000");
    expect(plan.audit.workspaceReadOnly).toMatch(/^read-only for the sandbox user 1000:1000: .*root-owned belongs to root \(0:0, mode 755\)/);
    const up = await runSbx(["up", "--detach", "--yes"], { cwd: owned, env });
    expect(up.stderr).toMatch(/workspace +\S+root-owned → \/workspace \(read-only for the sandbox user 1000:1000/);
    expect(up.stderr).not.toContain("(read-write)");
  });

  it("runs the sandbox as the project's owner when that is not root, and it stays read-write", async () => {
    const bobs = join(root, "bobs-project");
    mkdirSync(join(bobs, ".git"), { recursive: true });
    chownSync(bobs, 1234, 1234);
    const plan = JSON.parse((await runSbx(["up", "--dry-run"], { cwd: bobs, env })).stdout);
    expect(plan.container.user).toBe("1234:1234");
    expect(plan.image.buildArgs).toMatchObject({ SBX_UID: "1234", SBX_GID: "1234" });
    expect(plan.audit.workspaceReadOnly).toBeUndefined();
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));
