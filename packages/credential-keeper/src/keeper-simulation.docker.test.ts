/**
 * The keeper against real containers: a fake OAuth server with single-use rotating refresh tokens
 * (strict: reusing a spent one revokes the family), a "host agent" and three "sandbox agents" that
 * refresh the way Claude Code does (see test-support/sim-agent.mjs), and the real keeper process
 * (dist/keeper-main.js, started detached exactly as `sbx up` starts it, talking to the containers
 * through the Docker engine's exec). Run with the keeper off first, to show the problem, then on,
 * with the keeper killed and restarted in between.
 *
 * The containers are plain ones from the offline base image with the sandbox's login layout (the
 * per-login state directory at /home/sandbox/.llm, Claude's login at claude/.credentials.json in
 * it, the `dev.sbx.login` label), not full `sbx up` sandboxes: the keeper finds and talks to them
 * exactly as to a real one. Two of them share one state directory, as every sandbox of a login
 * shares its state volume; the third has its own, as a sandbox on another volume would.
 *
 *   SBX_SIM_ON_MS / SBX_SIM_OFF_MS      how long each run lasts (default 240 s / 25 s)
 *   SBX_SIM_ACCESS_TTL_MS               access-token lifetime (default 18000)
 *   SBX_SIM_PERIOD_MS / SBX_SIM_SKEW_MS the keeper's period and skew step (default 250 / 8000)
 *   SBX_SIM_RESTARTS                    how many times the keeper is stopped and restarted (default 8)
 *   SBX_SIM_DEBUG                       write the keeper's log and the server's timelines to tmpdir
 *
 * A run that ends in a forced re-login or a revocation prints the server's timeline around the
 * first one and the keeper's log lines of that moment (neither holds a token value).
 *
 * The agents refresh 400 ms before expiry; the copy on the second state directory is skewed 2 steps,
 * the first 1 step, the host none: a refresh happens every 18000 − 16000 − 400 = 1600 ms (or as
 * soon as the keeper re-skews the copy that refreshed), in the sandbox with the largest skew, and
 * the keeper has one skew step (8 s) to carry it to the others before the next side comes due, a
 * keeper restart and a copy lagging one generation behind included — the real keeper's 5 minutes
 * against about a second of carrying, scaled down. (Steps of 1–5 s were too short on the shared
 * 2-core machine this was written on, where at load 9–28 one exec took up to 2 s and a round up to
 * 4 s: measured, a revocation whenever a restart or a slow round landed just after a refresh.)
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerRuntime } from "@sbx/container-runtime";
import { afterAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../container-runtime/src/test-support/docker-environment.js";
import { ensureKeeper, keeperHealth, keeperPaths } from "./keeper-process.js";
import { FakeOAuthServer, type OAuthScore } from "./test-support/fake-oauth-server.js";

const environment = await dockerTestEnvironment();
const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE = dirname(HERE);
const KEEPER_MAIN = join(PACKAGE, "dist", "keeper-main.js");
const SIM_DIR = join(HERE, "test-support");
const SANDBOX_UID = 1000;

const numberEnv = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const ON_MS = numberEnv("SBX_SIM_ON_MS", 240_000);
const OFF_MS = numberEnv("SBX_SIM_OFF_MS", 25_000);
const ACCESS_TTL_MS = numberEnv("SBX_SIM_ACCESS_TTL_MS", 18_000);
const PERIOD_MS = numberEnv("SBX_SIM_PERIOD_MS", 250);
const SKEW_MS = numberEnv("SBX_SIM_SKEW_MS", 8000);
const RESTARTS = numberEnv("SBX_SIM_RESTARTS", 8);
const MARGIN_MS = 400;
/** In every token this run's fake server issues, and in a secret the keeper must not inherit. */
const CANARY = `CANARY${randomBytes(6).toString("hex")}`;

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

interface RunResult {
  score: OAuthScore;
  agents: Array<Record<string, unknown>>;
  keeperLog: string;
  keeperState: string;
  keeperEnviron: string[];
  psSamples: string[];
  keeperStoppedAfterSandboxes: boolean | undefined;
  restarts: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function simulate(runtime: DockerRuntime, image: string, mode: { keeper: boolean; durationMs: number }): Promise<RunResult> {
  const login = `sbx-sim-${randomBytes(4).toString("hex")}`;
  const home = mkdtempSync(join(tmpdir(), "sbx-sim-home-"));
  const volumes = [mkdtempSync(join(tmpdir(), "sbx-sim-vol-a-")), mkdtempSync(join(tmpdir(), "sbx-sim-vol-b-"))];
  cleanups.push(() => [home, ...volumes].forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const server = new FakeOAuthServer({ accessTtlMs: ACCESS_TTL_MS, strict: true, marker: CANARY });
  const url = await server.listen();
  cleanups.push(() => server.close());

  // The host's login, and the copy `sbx up` pipes into each state volume. Every agent starts at
  // `startAt` (after the containers and the keeper are up); the first login is fresh then.
  const startAt = Date.now() + 6000;
  const first = server.login(startAt - Date.now() + ACCESS_TTL_MS);
  const credentials = `${JSON.stringify({ claudeAiOauth: { ...first, scopes: ["user:inference"], subscriptionType: "max" } })}\n`;
  const hostFile = join(home, ".claude", ".credentials.json");
  mkdirSync(dirname(hostFile), { recursive: true, mode: 0o700 });
  writeFileSync(hostFile, credentials, { mode: 0o600 });
  for (const volume of volumes) {
    chmodSync(volume, 0o700);
    mkdirSync(join(volume, "claude"), { mode: 0o700 });
    writeFileSync(join(volume, "claude", ".credentials.json"), credentials, { mode: 0o600 });
    for (const path of [volume, join(volume, "claude"), join(volume, "claude", ".credentials.json")]) chownSync(path, SANDBOX_UID, SANDBOX_UID);
  }

  const agentArgs = (side: string, file: string) => ["--tick-min-ms", "80", "--tick-max-ms", "240", "--side", side, "--file", file, "--server", url, "--margin-ms", String(MARGIN_MS), "--duration-ms", String(mode.durationMs), "--start-at", String(startAt)];
  const sandboxes = [
    { name: `${login}-s1`, volume: volumes[0] as string },
    { name: `${login}-s2`, volume: volumes[0] as string },
    { name: `${login}-s3`, volume: volumes[1] as string },
  ];
  for (const sandbox of sandboxes) {
    cleanups.push(() => runtime.removeContainer(sandbox.name));
    await runtime.createContainer({
      name: sandbox.name,
      image,
      user: `${SANDBOX_UID}:${SANDBOX_UID}`,
      cmd: ["node", "/opt/sim/sim-agent.mjs", ...agentArgs(sandbox.name, "/home/sandbox/.llm/claude/.credentials.json")],
      env: { HOME: "/home/sandbox" },
      labels: { "dev.sbx.login": login },
      mounts: [
        { type: "bind", source: sandbox.volume, target: "/home/sandbox/.llm" },
        { type: "bind", source: SIM_DIR, target: "/opt/sim", readOnly: true },
      ],
      // The fake OAuth server listens on the host's loopback only.
      network: "host",
    });
  }
  await Promise.all(sandboxes.map((sandbox) => runtime.startContainer(sandbox.name)));
  const hostAgent = spawn(process.execPath, [join(SIM_DIR, "sim-agent.mjs"), ...agentArgs("host", hostFile)], { stdio: ["ignore", "pipe", "inherit"] });
  cleanups.push(() => hostAgent.kill("SIGKILL"));
  let hostAgentOut = "";
  hostAgent.stdout?.on("data", (chunk: Buffer) => (hostAgentOut += chunk));
  const hostAgentDone = new Promise((resolve) => hostAgent.on("exit", resolve));

  const stateDir = join(home, ".local", "state", "sbx");
  const keeperEnv = {
    HOME: home,
    PATH: process.env.PATH,
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    // A secret in the starting process's environment must not reach the keeper's.
    ANTHROPIC_API_KEY: `sk-${CANARY}-env`,
    ...(process.env.SBX_SIM_DEBUG ? { SBX_KEEPER_DEBUG: "1" } : {}),
  };
  const keeperArgs = ["--period-ms", String(PERIOD_MS), "--skew-ms", String(SKEW_MS), "--list-every-ms", "1000", "--grace-ms", "3000"];
  const keep = () => ensureKeeper({ login, stateDir, env: keeperEnv, entry: KEEPER_MAIN, args: keeperArgs });
  const psSamples: string[] = [];
  let keeperEnviron: string[] = [];
  let restarts = 0;

  server.startScoring();
  if (mode.keeper) {
    // Started the way `sbx up` does, from a process that is then killed: the keeper must outlive it.
    const launcher = startLauncher({ login, stateDir, env: keeperEnv, entry: KEEPER_MAIN, args: keeperArgs });
    await waitFor(() => keeperHealth(stateDir, login).state === "running", 10_000);
    launcher.kill("SIGKILL");
    const pid = runningPid(stateDir, login);
    keeperEnviron = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    let round = 0;
    while (Date.now() - startAt < mode.durationMs - 8000) {
      await sleep(mode.durationMs / RESTARTS);
      psSamples.push(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }));
      const victim = runningPid(stateDir, login);
      if (!victim) {
        keep();
        continue;
      }
      // Alternately killed outright and stopped politely; the next "sbx command" starts it again.
      process.kill(victim, round % 2 === 0 ? "SIGKILL" : "SIGTERM");
      await waitFor(() => !alive(victim), 5000);
      await sleep(150);
      keep();
      restarts += 1;
      round += 1;
      await waitFor(() => keeperHealth(stateDir, login).state === "running", 10_000);
    }
  }

  await hostAgentDone;
  await waitFor(async () => (await runtime.listContainers({ labels: { "dev.sbx.login": login } })).every((info) => info.state !== "running"), 30_000);
  const score = server.stopScoring();
  const agents = [JSON.parse(hostAgentOut.trim() || "{}") as Record<string, unknown>];
  for (const sandbox of sandboxes) {
    const lines = (await runtime.logs(sandbox.name)).trim().split("\n");
    agents.push(JSON.parse(lines.find((line) => line.startsWith("{")) ?? "{}") as Record<string, unknown>);
  }
  let keeperStoppedAfterSandboxes: boolean | undefined;
  if (mode.keeper) {
    keeperStoppedAfterSandboxes = await waitFor(() => keeperHealth(stateDir, login).state === "stopped", 20_000).then(
      () => true,
      () => false,
    );
  }
  const paths = keeperPaths(stateDir, login);
  return {
    score,
    agents,
    keeperLog: existsSync(paths.log) ? readFileSync(paths.log, "utf8") : "",
    keeperState: existsSync(paths.state) ? readFileSync(paths.state, "utf8") : "",
    keeperEnviron,
    psSamples,
    keeperStoppedAfterSandboxes,
    restarts,
  };
}

function startLauncher(options: Parameters<typeof ensureKeeper>[0]): ChildProcess {
  const index = join(PACKAGE, "dist", "index.js");
  // The options ride in the launcher's environment (they hold the canary secret of its env).
  const script = `import { ensureKeeper } from ${JSON.stringify(index)}; ensureKeeper(JSON.parse(process.env.SIM_KEEPER_OPTIONS)); setInterval(() => {}, 1 << 30);`;
  return spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "ignore", env: { ...process.env, SIM_KEEPER_OPTIONS: JSON.stringify(options) } });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function runningPid(stateDir: string, login: string): number | undefined {
  const health = keeperHealth(stateDir, login);
  return health.state === "running" ? health.file.pid : undefined;
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function canaryHits(result: RunResult): number {
  return [result.keeperLog, result.keeperState, ...result.psSamples, result.keeperEnviron.join("\n")].filter((text) => text.includes(CANARY)).length;
}

/**
 * What a failed run leaves to read: the server's timeline around its first revocation or forced
 * re-login, and the keeper's log lines from 10 s before it to 3 s after (no token value in either).
 */
function aroundFirstFailure(result: RunResult): string {
  const timeline = result.score.timeline;
  const first = timeline.findIndex((line) => / revoked$| login$/.test(line));
  if (first < 0) return "";
  const at = timeline[first]?.slice(0, 12) ?? "";
  const clock = (time: string) => Number(time.slice(0, 2)) * 3_600_000 + Number(time.slice(3, 5)) * 60_000 + Number(time.slice(6, 8)) * 1000 + Number(time.slice(9, 12));
  const keeperLines = result.keeperLog.split("\n").filter((line) => {
    const offset = clock(line.slice(11, 23)) - clock(at);
    return offset >= -10_000 && offset <= 3000;
  });
  return [`\nfirst failure at ${at}; the server's timeline around it:`, ...timeline.slice(Math.max(0, first - 30), first + 10).map((line) => `  ${line}`), "the keeper's log then:", ...keeperLines.map((line) => `  ${line}`), ""].join("\n");
}

function report(label: string, result: RunResult): string {
  const { score } = result;
  const stale = Object.entries(score.longestStaleBySide)
    .map(([side, ms]) => `${side.replace(/^sbx-sim-[0-9a-f]+-/, "")} ${ms}`)
    .join(", ");
  return [
    `keeper ${label}: ${score.refreshes} refresh cycles (${Object.entries(score.refreshesBySide).map(([side, n]) => `${side.replace(/^sbx-sim-[0-9a-f]+-/, "")} ${n}`).join(", ")})`,
    `  forced re-logins      ${score.forcedRelogins}`,
    `  family revocations    ${score.familyRevocations}`,
    `  longest stale token   ${score.longestStaleMs} ms${stale ? ` (${stale})` : ""}`,
    `  refused refreshes     ${score.rejectedRefreshes}; API calls with a dead access token ${score.rejectedUses}`,
    ...(label === "ON" ? [`  keeper restarts       ${result.restarts} (every other one by SIGKILL)`] : []),
  ].join("\n");
}

describe.skipIf(!environment.available)("the credential keeper with real containers", () => {
  it(
    "keeps the host and every sandbox on one token family: no forced re-login, no revocation; without it both happen",
    async () => {
      if (!environment.available) return;
      expect(existsSync(KEEPER_MAIN), "build the package first (pnpm build)").toBe(true);
      const runtime = new DockerRuntime();
      cleanups.push(() => runtime.close());

      const off = await simulate(runtime, environment.image, { keeper: false, durationMs: OFF_MS });
      const on = await simulate(runtime, environment.image, { keeper: true, durationMs: ON_MS });
      process.stdout.write(
        `\nkeeper simulation: access tokens live ${ACCESS_TTL_MS} ms, keeper period ${PERIOD_MS} ms, skew step ${SKEW_MS} ms, strict server (reuse revokes the family)\n` +
          `${report("OFF", off)}\n${report("ON", on)}\n` +
          `  sync window           ${PERIOD_MS} ms period + one exec per sandbox (stat; reads only on change) + one write exec\n` +
          `  canary hits           ${canaryHits(on)} (keeper log, state file, environment, ${on.psSamples.length} samples of every host process's argv)\n\n`,
      );

      if (process.env.SBX_SIM_DEBUG) {
        writeFileSync(join(tmpdir(), "sbx-sim-on-keeper.log"), on.keeperLog);
        writeFileSync(join(tmpdir(), "sbx-sim-on-timeline.log"), on.score.timeline.join("\n"));
        writeFileSync(join(tmpdir(), "sbx-sim-off-timeline.log"), off.score.timeline.join("\n"));
      }
      if (on.score.forcedRelogins + on.score.familyRevocations > 0) process.stdout.write(aroundFirstFailure(on));
      // Without the keeper the shared login falls apart within seconds.
      expect(off.score.forcedRelogins + off.score.familyRevocations).toBeGreaterThan(0);
      // With it: one family throughout.
      expect(on.score.refreshes).toBeGreaterThanOrEqual(100);
      expect(on.score.forcedRelogins).toBe(0);
      expect(on.score.familyRevocations).toBe(0);
      expect(on.restarts).toBeGreaterThanOrEqual(2);
      // Refreshes happened in the sandboxes and reached everyone else (the host did not need to).
      expect(on.keeperLog).toMatch(/carried to the host/);
      expect(on.keeperStoppedAfterSandboxes).toBe(true);

      // The canary audit: no token (every one the server issued holds the canary) in the keeper's log,
      // its state file, its environment, or any process's argv on the host (the containers'
      // processes, the keeper's own execs, included) while it was syncing.
      expect(on.psSamples.length).toBeGreaterThan(0);
      for (const text of [on.keeperLog, on.keeperState, ...on.psSamples, on.keeperEnviron.join("\n")]) expect(text).not.toContain(CANARY);
      expect(on.keeperEnviron.some((entry) => entry.startsWith("HOME="))).toBe(true);
    },
    (ON_MS + OFF_MS) * 1.5 + 120_000,
  );
});
