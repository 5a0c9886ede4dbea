/**
 * scripts/ensure-podman.sh as scripts/test.sh runs it: inside `$(…)`, which returns only when
 * nothing holds its pipe. The script starts a long-lived `podman system service`; if any process
 * it leaves behind keeps the pipe, CI hangs until its timeout (it did, for 90 minutes). The test
 * starts a service of its own on a socket in a temp directory and stops it afterwards.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const script = resolve(import.meta.dirname, "../../../scripts/ensure-podman.sh");
const hasPodman = spawnSync("sh", ["-c", "command -v podman"]).status === 0;
const required = process.env.SBX_REQUIRE_DOCKER === "1" || process.env.CI === "true";
const socketDir = mkdtempSync(join(tmpdir(), "sbx-podman-test-"));

function runInCommandSubstitution(timeoutMs: number): Promise<{ finished: boolean; stdout: string; stderr: string }> {
  return new Promise((done) => {
    // detached: its own process group, so a timeout can stop whatever the script left behind.
    const child = spawn("bash", ["-c", 'host=$(bash "$0") && printf "%s" "$host"', script], {
      env: { ...process.env, SBX_PODMAN_SOCKET_DIR: socketDir },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      done({ finished: false, stdout, stderr });
    }, timeoutMs);
    child.on("close", () => {
      clearTimeout(timer);
      done({ finished: true, stdout, stderr });
    });
  });
}

function stopService(): void {
  spawnSync("pkill", ["-f", `podman system service --time=0 unix://${socketDir}/podman.sock`]);
}

describe.skipIf(!hasPodman && !required)("scripts/ensure-podman.sh", () => {
  afterAll(() => {
    stopService();
    rmSync(socketDir, { recursive: true, force: true });
  });

  it("starts the service and returns from $(…) with its DOCKER_HOST", async () => {
    const result = await runInCommandSubstitution(90_000);
    expect(result.finished, `still running after 90 s; stderr: ${result.stderr}`).toBe(true);
    expect(result.stdout).toBe(`unix://${socketDir}/podman.sock`);
    const version = spawnSync("podman", ["--url", result.stdout, "version", "--format", "{{.Server.Version}}"], {
      encoding: "utf8",
    });
    expect(version.status, version.stderr).toBe(0);
  }, 120_000);
});
