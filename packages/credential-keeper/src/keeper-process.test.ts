import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostCredentialStores } from "@sbx/auth-probes";
import { describe, expect, it } from "vitest";
import { describeKeeper, keeperHealth, keeperPaths, runKeeper, type KeeperStateFile } from "./keeper-process.js";
import { LocalRuntime } from "./test-support/local-runtime.js";

const login = (rt: string) => JSON.stringify({ claudeAiOauth: { accessToken: `at-CANARY-${rt}`, refreshToken: `rt-CANARY-${rt}`, expiresAt: Date.now() + 3_600_000 } });

function setup() {
  const home = mkdtempSync(join(tmpdir(), "sbx-keeper-proc-"));
  mkdirSync(join(home, ".claude"));
  writeFileSync(join(home, ".claude", ".credentials.json"), login("1"), { mode: 0o600 });
  const sandboxDir = mkdtempSync(join(tmpdir(), "sbx-keeper-proc-box-"));
  mkdirSync(join(sandboxDir, "claude"));
  writeFileSync(join(sandboxDir, "claude", ".credentials.json"), login("1"));
  const runtime = new LocalRuntime();
  runtime.addContainer("sbx-box", { "dev.sbx.login": "ada" }, sandboxDir);
  const stateDir = join(home, ".local", "state", "sbx");
  return { home, runtime, stateDir, sandboxDir, options: { login: "ada", runtime, stores: hostCredentialStores({ home, env: {}, platform: "linux" }), stateDir, periodMs: 20, graceMs: 100, listEveryMs: 20 } };
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const stateFile = (stateDir: string) => JSON.parse(readFileSync(keeperPaths(stateDir, "ada").state, "utf8")) as KeeperStateFile;

describe("runKeeper", () => {
  it("keeps running while a sandbox of its login runs, lets no second keeper in, and stops once none does", async () => {
    const { runtime, stateDir, options, sandboxDir } = setup();
    const running = runKeeper(options);
    await until(() => keeperHealth(stateDir, "ada").state === "running");
    expect(keeperHealth(stateDir, "ada")).toMatchObject({ state: "running", file: { pid: process.pid, sandboxes: ["sbx-box"] } });
    // Another keeper in the same process would share our pid; a live holder with another pid is what counts.
    writeFileSync(keeperPaths(stateDir, "ada").lock, "1");
    expect(await runKeeper({ ...options, stateDir })).toBe("already-running");
    writeFileSync(keeperPaths(stateDir, "ada").lock, String(process.pid));

    writeFileSync(join(sandboxDir, "claude", ".credentials.json"), login("2"));
    await until(() => readFileSync(keeperPaths(stateDir, "ada").log, "utf8").includes("carried to the host"));
    for (const container of runtime.containers) container.state = "exited";
    expect(await running).toBe("stopped");
    const file = stateFile(stateDir);
    expect(file).toMatchObject({ running: false, stopReason: "no sandbox of this login runs" });
    expect(keeperHealth(stateDir, "ada").state).toBe("stopped");
    const log = readFileSync(keeperPaths(stateDir, "ada").log, "utf8");
    expect(log).toContain("carried to the host");
    expect(log).not.toContain("CANARY");
    expect(JSON.stringify(file)).not.toContain("CANARY");
  });

  it("takes over the lock of a keeper that died", async () => {
    const { stateDir, options, runtime } = setup();
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(keeperPaths(stateDir, "ada").lock, "999999");
    for (const container of runtime.containers) container.state = "exited";
    expect(await runKeeper(options)).toBe("stopped");
  });
});

describe("keeperHealth", () => {
  const write = (stateDir: string, file: Partial<KeeperStateFile>) => {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(keeperPaths(stateDir, "ada").state, JSON.stringify({ login: "ada", sandboxes: [], providers: [], startedAt: 0, periodMs: 2000, ...file }));
  };

  it("tells a live keeper from a dead pid and from a heartbeat gone stale", () => {
    const stateDir = mkdtempSync(join(tmpdir(), "sbx-keeper-health-"));
    expect(keeperHealth(stateDir, "ada")).toEqual({ state: "stopped" });
    write(stateDir, { pid: process.pid, running: true, heartbeatAt: Date.now() });
    expect(keeperHealth(stateDir, "ada").state).toBe("running");
    write(stateDir, { pid: 999999, running: true, heartbeatAt: Date.now() });
    expect(keeperHealth(stateDir, "ada").state).toBe("dead");
    write(stateDir, { pid: process.pid, running: true, heartbeatAt: Date.now() - 60_000 });
    expect(keeperHealth(stateDir, "ada").state).toBe("dead");
  });

  it("says who refreshed and where it went, in one line", () => {
    const at = new Date(2026, 11, 1, 14, 2, 0).getTime();
    const line = describeKeeper(
      {
        state: "running",
        file: {
          login: "ada",
          pid: 42,
          running: true,
          startedAt: at,
          heartbeatAt: at,
          periodMs: 2000,
          lastSyncAt: at,
          sandboxes: ["sbx-app"],
          providers: [{ provider: "claude", where: "/h/.claude/.credentials.json", lastRefresh: { side: "sandbox sbx-app", at }, lastCarried: { to: "host", at } }, { provider: "codex", where: "/h/.codex/auth.json" }],
        },
      },
      at,
    );
    expect(line).toBe("running (pid 42) · last sync 14:02:00 · claude: sandbox sbx-app refreshed at 14:02:00, carried to host");
  });
});
