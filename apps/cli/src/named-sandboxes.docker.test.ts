/**
 * Named sandboxes against the real engine (issue 14): five `sbx create --name` at once in one
 * project, ten `sbx exec` at once into one sandbox (through bin/sbx's docker fast path and through
 * Node), all on one login volume and one conversations volume, and `sbx rm --name` taking one.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { sandboxIdentity } from "./sandbox-identity.js";
import { docker } from "./test-support/docker-cli.js";
import { sessionWithTokens } from "./test-support/planted-tokens.js";
import { runSbx, sbxTestEnv } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

describe.skipIf(!environment.available)(`named sandboxes against the Docker engine${skipReason}`, { timeout: 600_000 }, () => {
  const login = `sbxnamed${randomBytes(3).toString("hex")}`;
  const root = mkdtempSync(join(tmpdir(), "sbx-named-"));
  const home = join(root, "home");
  const project = join(root, "loop");
  const env = sbxTestEnv(home, login, environment);
  const NAMES = ["planner", "implementer", "test-writer", "reviewer", "docs"];
  const containerOf = (name?: string) => sandboxIdentity(project, env, name).containerName;
  const inspect = (name: string) => JSON.parse(docker(["inspect", name]).stdout)[0];

  beforeAll(() => {
    mkdirSync(home, { recursive: true });
    mkdirSync(join(project, ".git"), { recursive: true });
  });
  afterAll(() => {
    const ours = docker(["ps", "-aq", "--filter", `label=dev.sbx.login=${login}`], { allowFailure: true }).stdout.split("\n").filter(Boolean);
    if (ours.length) docker(["rm", "-f", ...ours], { allowFailure: true });
    // The egress proxy and its network carry no login label: by name.
    docker(["rm", "-f", `${containerOf("fenced")}-egress`], { allowFailure: true });
    docker(["network", "rm", `${containerOf("fenced")}-net`], { allowFailure: true });
    const volumes = docker(["volume", "ls", "-q", "--filter", `label=dev.sbx.login=${login}`], { allowFailure: true }).stdout.split("\n").filter(Boolean);
    if (volumes.length) docker(["volume", "rm", ...volumes], { allowFailure: true });
    rmSync(root, { recursive: true, force: true });
  });

  it("five `sbx create --name` at once in one project all exit 0: five running sandboxes on one login volume and one conversations volume", async () => {
    // The image first (built once, or found): the race under test is the sandboxes'.
    const warm = await runSbx(["up", "--detach", "--yes"], { cwd: project, env, timeoutMs: 600_000 });
    expect(warm.exitCode, warm.stderr).toBe(0);
    const creates = await Promise.all(NAMES.map((name) => runSbx(["create", "--name", name, "--yes", project], { cwd: root, env, timeoutMs: 600_000 })));
    for (const create of creates) expect(create.exitCode, create.stderr).toBe(0);
    const volumesOf = (container: string) =>
      (inspect(container).Mounts as Array<{ Type: string; Name?: string; Destination: string }>)
        .filter((mount) => mount.Type === "volume")
        .map((mount) => `${mount.Name} → ${mount.Destination}`)
        .sort();
    const expected = volumesOf(containerOf());
    expect(expected).toHaveLength(2);
    for (const name of NAMES) {
      const info = inspect(containerOf(name));
      expect([info.State.Status, info.Config.Labels["dev.sbx.name"], info.Config.Labels["dev.sbx.project"]]).toEqual(["running", name, project]);
      expect(volumesOf(containerOf(name))).toEqual(expected);
    }
    const listed = JSON.parse((await runSbx(["ls", "--json"], { cwd: root, env })).stdout) as Array<{ sandbox: string | null; state: string; project: string }>;
    expect(listed.map((row) => [row.sandbox, row.state, row.project])).toEqual([[null, "running", project], ...[...NAMES].sort().map((name) => [name, "running", project])]);
  });

  it("ten `sbx exec --name` at once into one sandbox all succeed with their own output, through docker and through Node", async () => {
    for (const extra of [{}, { SBX_NO_DOCKER_CLI: "1" }]) {
      const runs = await Promise.all(
        Array.from({ length: 10 }, (_, index) =>
          runSbx(["exec", "--name", "implementer", "--", "sh", "-c", 'printf "%s:%s" "$1" "$(cat)"; exit "$2"', "sh", `run${index}`, String(index % 3)], {
            cwd: project,
            env: { ...env, ...extra },
            input: `stdin${index}`,
            launcher: true,
          }),
        ),
      );
      expect(runs.map((run) => [run.exitCode, run.stdout])).toEqual(Array.from({ length: 10 }, (_, index) => [index % 3, `run${index}:stdin${index}`]));
    }
  });

  it("sandboxes of one project share its conversations volume: what one writes, the others read, and writes at once all land", async () => {
    // Each session is its own file (per session id), so sandboxes writing at once never share a file.
    const store = "/home/sandbox/.llm/claude/projects/-workspace";
    const words = Object.fromEntries(Array.from({ length: 10 }, (_, index) => [`w${index}`, `word${index}`]));
    const sessionId = (index: number) => `5e55a0b1-0000-4000-8000-00000000000${index}`;
    const writes = await Promise.all(
      NAMES.map((name, index) =>
        runSbx(["exec", "--name", name, "--", "sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", `${store}/${sessionId(index)}.jsonl`], {
          cwd: project,
          env,
          input: sessionWithTokens(words, sessionId(index)),
          launcher: true,
        }),
      ),
    );
    for (const write of writes) expect(write.exitCode, write.stderr).toBe(0);
    const read = await runSbx(["exec", "--", "sh", "-c", `ls ${store}`], { cwd: project, env, launcher: true });
    expect(read.stdout.split("\n").filter(Boolean).sort()).toEqual(NAMES.map((_, index) => `${sessionId(index)}.jsonl`).sort());
  });

  it("`sbx rm --name` removes that sandbox only; `sbx exec --name` then says it is gone", async () => {
    const removed = await runSbx(["rm", "--name", "docs"], { cwd: project, env });
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(docker(["inspect", containerOf("docs")], { allowFailure: true }).exitCode).not.toBe(0);
    expect(inspect(containerOf()).State.Status).toBe("running");
    expect(inspect(containerOf("planner")).State.Status).toBe("running");
    const gone = await runSbx(["exec", "--name", "docs", "--", "true"], { cwd: project, env, launcher: true });
    expect(gone.exitCode).not.toBe(0);
    expect(gone.stderr).toContain("code: SBX_CONTAINER_NOT_FOUND");
  });

  it("`sbx create --agent` needs the agent's login on the host, and keeps the agent on the sandbox for `sbx ls`", async () => {
    const refused = await runSbx(["create", "--name", "coder", "--agent", "claude", "--yes"], { cwd: project, env, timeoutMs: 600_000 });
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain("code: SBX_AGENT_NO_LOGIN");
    expect(docker(["inspect", containerOf("coder")], { allowFailure: true }).exitCode).not.toBe(0);
    // An obviously fake key: only its presence is checked, nothing is sent anywhere.
    const withKey = { ...env, ANTHROPIC_API_KEY: `sk-ant-api03-FAKE${randomBytes(8).toString("hex")}` };
    const made = await runSbx(["create", "--name", "coder", "--agent", "claude", "--yes"], { cwd: project, env: withKey, timeoutMs: 600_000 });
    expect(made.exitCode, made.stderr).toBe(0);
    expect(inspect(containerOf("coder")).Config.Labels["dev.sbx.agent"]).toBe("claude");
  });

  it("a named sandbox under --network allowlist gets its own egress proxy and network, and `sbx rm --name` takes them with it", async () => {
    const made = await runSbx(["create", "--name", "fenced", "--network", "allowlist", "--yes"], { cwd: project, env, timeoutMs: 600_000 });
    expect(made.exitCode, made.stderr).toBe(0);
    const sandbox = containerOf("fenced");
    const [proxy, network] = [`${sandbox}-egress`, `${sandbox}-net`];
    expect(inspect(proxy).State.Status).toBe("running");
    expect(Object.keys(inspect(sandbox).NetworkSettings.Networks)).toEqual([network]);
    // The project's default sandbox is still on the plain bridge, with no proxy of its own.
    expect(Object.keys(inspect(containerOf()).NetworkSettings.Networks)).toEqual(["bridge"]);
    const status = JSON.parse((await runSbx(["status", "--json", "--name", "fenced"], { cwd: project, env })).stdout);
    expect([status.name, status.network, status.egressProxy?.name]).toEqual(["fenced", "allowlist", proxy]);
    // Its network log is its own proxy's; the default sandbox has none.
    const log = JSON.parse((await runSbx(["network", "log", "--json", "--name", "fenced"], { cwd: project, env })).stdout);
    expect([log.tier, log.proxy]).toEqual(["allowlist", proxy]);
    expect(JSON.parse((await runSbx(["network", "log", "--json"], { cwd: project, env })).stdout).proxy).toBeNull();
    const removed = await runSbx(["rm", "--name", "fenced"], { cwd: project, env });
    expect(removed.exitCode, removed.stderr).toBe(0);
    for (const name of [sandbox, proxy]) expect(docker(["inspect", name], { allowFailure: true }).exitCode).not.toBe(0);
    expect(docker(["network", "inspect", network], { allowFailure: true }).exitCode).not.toBe(0);
    expect(inspect(containerOf()).State.Status).toBe("running");
  });

  it("`sbx export` reads the project's conversations through a named sandbox when the default one is down", async () => {
    expect((await runSbx(["down"], { cwd: project, env })).exitCode).toBe(0);
    const exported = await runSbx(["export", "--json", "--inbox", join(root, "inbox")], { cwd: project, env });
    expect(exported.exitCode, exported.stderr + exported.stdout).toBe(0);
    // The five sessions the sandboxes wrote above (the "docs" one's sandbox is gone, its session is not).
    const report = JSON.parse(exported.stdout);
    expect([report.written, report.sandbox.container.startsWith("sbx--")]).toEqual([NAMES.length, true]);
  });
});
