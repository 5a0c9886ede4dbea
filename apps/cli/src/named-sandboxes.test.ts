/**
 * Named sandboxes (issue 14): several sandboxes of one project, whose names never collide with
 * another project's — not by a name chosen to match, not by a project directory named to match.
 * Against the in-memory engine; named-sandboxes.docker.test.ts runs the parallel cases for real.
 */
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryRuntime } from "@sbx/container-runtime";
import { describe, expect, it, vi } from "vitest";
import { down } from "./commands/down.js";
import { status } from "./commands/status.js";
import { EXEC_USAGE, parseExecArgs } from "./commands/exec.js";
import { gc, planGc } from "./commands/gc.js";
import { ls } from "./commands/ls.js";
import { sandboxContainerName } from "./library.js";
import { ensureContainer } from "./sandbox.js";
import { egressNames, NETWORK_LABELS } from "./sandbox-network.js";
import { runSbx } from "./test-support/run-sbx.js";
import { LABELS, sandboxIdentity, type SandboxIdentity } from "./sandbox-identity.js";

// The built module: the plan finds the sandbox image's assets beside dist/, not src/.
const { planSandbox } = (await import(new URL("../dist/sandbox.js", import.meta.url).href)) as typeof import("./sandbox.js");
const root = realpathSync(mkdtempSync(join(tmpdir(), "sbx-named-")));
const hash8 = (path: string) => createHash("sha256").update(path).digest("hex").slice(0, 8);
const IMAGE = "sbx-sandbox:test";
const quiet = () => {};

/** Two projects arranged so that A's sandbox named after B's hash is spelled as B's default. */
function collidingProjects(): { a: string; b: string; name: string } {
  const a = join(root, "one", "app");
  // B's directory is named "<A's slug>-<A's hash>": B's default name then starts as A's named ones.
  const b = join(root, "two", `app-${hash8(a)}`);
  for (const dir of [a, b]) mkdirSync(join(dir, ".git"), { recursive: true });
  return { a, b, name: hash8(b) };
}

function planFor(identity: SandboxIdentity) {
  return {
    identity,
    image: { inputsHash: "inputs-1" },
    network: { tier: "full" },
    spec: {
      name: identity.containerName,
      image: IMAGE,
      user: "1000:1000",
      cmd: ["idle"],
      labels: {
        [LABELS.managed]: "true",
        [LABELS.project]: identity.projectDir,
        [LABELS.login]: identity.login,
        [LABELS.owner]: identity.owner,
        [LABELS.imageInputs]: "inputs-1",
        [LABELS.bounds]: "b",
      },
      mounts: [],
    },
  } as unknown as Parameters<typeof ensureContainer>[1];
}

describe("named sandboxes never take another project's name", () => {
  it("a name chosen to match cannot spell another project's default sandbox", () => {
    const { a, b, name } = collidingProjects();
    expect(sandboxContainerName(sandboxIdentity(a, {}), name)).not.toBe(sandboxIdentity(b, {}).containerName);
  });

  it("nor another project's named sandbox, however the names and directories are split", () => {
    // A "x-<hash>" named "n" against A named "<hash>-n": the old `<project>-<name>` joined both the same.
    const a = join(root, "three", "x");
    const b = join(root, "four", `x-${hash8(a)}`);
    for (const dir of [a, b]) mkdirSync(join(dir, ".git"), { recursive: true });
    const names = new Set([sandboxContainerName(sandboxIdentity(a, {}), `${hash8(b)}-n`), sandboxContainerName(sandboxIdentity(b, {}), "n")]);
    expect(names.size).toBe(2);
  });

  it("refuses to reuse a container under this project's name that another project made (SBX_SANDBOX_OTHER_PROJECT)", async () => {
    const { a, b } = collidingProjects();
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const victim = sandboxIdentity(b, {});
    // What an older sbx made for project A under a name that is B's default (labels say A).
    const foreign = planFor({ ...sandboxIdentity(a, {}), containerName: victim.containerName });
    await ensureContainer(runtime, foreign, undefined, quiet);
    const plan = planFor(victim);
    await expect(ensureContainer(runtime, plan, await runtime.inspectContainer(victim.containerName), quiet)).rejects.toMatchObject({ code: "SBX_SANDBOX_OTHER_PROJECT" });
    expect((await runtime.inspectContainer(victim.containerName))?.labels[LABELS.project]).toBe(a);
  });
});

const projectWith = (name: string) => {
  const dir = join(root, "projects", name);
  mkdirSync(join(dir, ".git"), { recursive: true });
  return dir;
};

describe("a named sandbox's plan", () => {
  it("is the project's plan under its own container, egress proxy and network, on the same login and conversations volumes", async () => {
    const project = projectWith("plan");
    const home = join(root, "home-plan");
    mkdirSync(home, { recursive: true });
    const base = { cwd: project, env: { HOME: home, SBX_LOGIN: "ada" }, home, log: quiet, network: "allowlist" };
    const [own, named] = await Promise.all([planSandbox(base), planSandbox({ ...base, name: "reviewer", agent: "claude" })]);
    expect(named.spec.name).toBe(`sbx--reviewer--${own.identity.projectId}`);
    expect(named.spec.labels).toMatchObject({ [LABELS.name]: "reviewer", [LABELS.agent]: "claude", [LABELS.project]: project });
    expect(own.spec.labels?.[LABELS.name]).toBeUndefined();
    // One login (one token family) and one conversations store for the project...
    expect([named.identity.volumeName, named.identity.conversationsVolumeName]).toEqual([own.identity.volumeName, own.identity.conversationsVolumeName]);
    expect(named.spec.mounts?.filter((mount) => mount.type === "volume")).toEqual(own.spec.mounts?.filter((mount) => mount.type === "volume"));
    // ...but its own proxy: one sandbox's --allow never widens another's, and `down` of one never
    // takes the other's network away.
    expect(named.network.egress?.proxyName).toBe(`${named.spec.name}-egress`);
    expect(named.network.egress?.networkName).not.toBe(own.network.egress?.networkName);
    expect(named.spec.network).toBe(named.network.egress?.networkName);
  });

  it("refuses a bad name before anything is planned (SBX_SANDBOX_NAME_INVALID)", async () => {
    const project = projectWith("bad-name");
    await expect(planSandbox({ cwd: project, env: {}, home: root, log: quiet, name: "Not Valid" })).rejects.toMatchObject({ code: "SBX_SANDBOX_NAME_INVALID" });
  });
});

describe("sbx exec --name", () => {
  it("parses -n and --name, and refuses one without a value", () => {
    expect(parseExecArgs(["-n", "planner", "--", "ls"])).toEqual({ command: ["ls"], help: false, name: "planner" });
    expect(parseExecArgs(["-T", "--name", "x", "-w", "/tmp", "true"])).toEqual({ command: ["true"], help: false, tty: false, workdir: "/tmp", name: "x" });
    expect(() => parseExecArgs(["--name"])).toThrow(expect.objectContaining({ code: "SBX_USAGE" }));
    expect(EXEC_USAGE).toContain("--name NAME");
  });
});

/** An engine holding project P's default sandbox (running, allowlist) and two named ones (one stopped). */
async function engineWithNamed(project: string) {
  const runtime = new MemoryRuntime({ images: [IMAGE] });
  const me = sandboxIdentity(project, { SBX_LOGIN: "ada" });
  const make = async (name: string | undefined, state: "running" | "stopped", extra: Record<string, string> = {}) => {
    const identity = sandboxIdentity(project, { SBX_LOGIN: "ada" }, name);
    const labels = { [LABELS.managed]: "true", [LABELS.project]: project, [LABELS.login]: "ada", [LABELS.owner]: me.owner, [NETWORK_LABELS.tier]: "allowlist", ...(name ? { [LABELS.name]: name } : {}), ...extra };
    const { networkName, proxyName } = egressNames(identity);
    await runtime.createNetwork({ name: networkName, internal: true, labels: { [LABELS.managed]: "true", [LABELS.login]: "ada", [LABELS.owner]: me.owner, [NETWORK_LABELS.role]: "egress" } });
    await runtime.createContainer({ name: proxyName, image: IMAGE, user: "65534:65534", cmd: [], labels: { [LABELS.managed]: "true", [NETWORK_LABELS.role]: "egress", [LABELS.login]: "ada", [LABELS.owner]: me.owner }, network: networkName });
    await runtime.startContainer(proxyName);
    await runtime.createContainer({ name: identity.containerName, image: IMAGE, user: "1000:1000", cmd: ["idle"], labels, network: networkName, mounts: [{ type: "volume", source: "ada-llm", target: "/home/sandbox/.llm" }] });
    if (state === "running") await runtime.startContainer(identity.containerName);
    return identity;
  };
  const own = await make(undefined, "running");
  const planner = await make("planner", "running", { [LABELS.agent]: "codex" });
  const reviewer = await make("reviewer", "stopped");
  return { runtime, me, own, planner, reviewer };
}

describe("ls, gc and down with named sandboxes", () => {
  it("ls shows each sandbox's short name, project, agent, state, image, network tier and age, and --json the same", async () => {
    const project = projectWith("listed");
    const { runtime, me } = await engineWithNamed(project);
    const text: string[] = [];
    const out = (into: string[]) => ({ write: (chunk: string) => into.push(chunk) }) as unknown as NodeJS.WritableStream;
    const now = Date.now() + 2 * 3600_000;
    await ls(runtime, { identity: me, out: out(text), now });
    const lines = text.join("").trimEnd().split("\n");
    expect(lines[0]?.split(/\s+/)).toEqual(["NAME", "PROJECT", "AGENT", "STATE", "IMAGE", "NETWORK", "AGE"]);
    expect(lines.slice(1).map((line) => line.split(/\s+/))).toEqual([
      ["(default)", "listed", "-", "running", IMAGE, "allowlist", "2h"],
      ["planner", "listed", "codex", "running", IMAGE, "allowlist", "2h"],
      ["reviewer", "listed", "-", "created", IMAGE, "allowlist", "2h"],
    ]);
    const json: string[] = [];
    await ls(runtime, { identity: me, out: out(json), json: true, now });
    const rows = JSON.parse(json.join("")) as Array<Record<string, unknown>>;
    expect(rows.map((row) => [row.sandbox, row.agent, row.project, row.network])).toEqual([
      [null, null, project, "allowlist"],
      ["planner", "codex", project, "allowlist"],
      ["reviewer", null, project, "allowlist"],
    ]);
    expect(rows[1]?.name).toBe(`sbx--planner--${me.projectId}`);
    expect(rows.every((row) => typeof row.createdAt === "string" && row.ageSeconds === 7200)).toBe(true);
  });

  it("gc takes a stopped named sandbox with its own egress proxy and network, and keeps the running ones' proxies", async () => {
    const project = projectWith("collected");
    const { runtime, me, own, planner, reviewer } = await engineWithNamed(project);
    const plan = await planGc(runtime, { identity: me });
    expect(plan.containers.map((container) => container.name).sort()).toEqual([egressNames(reviewer).proxyName, reviewer.containerName].sort());
    expect(plan.networks.map((network) => network.name)).toEqual([egressNames(reviewer).networkName]);
    await gc(runtime, { identity: me, yes: true }, { write: () => true } as unknown as NodeJS.WritableStream);
    const left = (await runtime.listContainers()).map((container) => container.name).sort();
    expect(left).toEqual([own.containerName, egressNames(own).proxyName, planner.containerName, egressNames(planner).proxyName].sort());
    expect((await runtime.listNetworks()).map((network) => network.name).sort()).toEqual([egressNames(own).networkName, egressNames(planner).networkName].sort());
  });

  it("down --name removes that sandbox and its proxy and network only; the default and the others keep running", async () => {
    const project = projectWith("downed");
    process.env.XDG_STATE_HOME = join(root, "state");
    const { runtime, own, planner, reviewer } = await engineWithNamed(project);
    const stderr = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      await down(runtime, { cwd: project, name: "planner" });
    } finally {
      process.stderr.write = stderr;
    }
    expect(await runtime.inspectContainer(planner.containerName)).toBeUndefined();
    expect(await runtime.inspectContainer(egressNames(planner).proxyName)).toBeUndefined();
    expect(await runtime.inspectNetwork(egressNames(planner).networkName)).toBeUndefined();
    expect((await runtime.inspectContainer(own.containerName))?.state).toBe("running");
    expect((await runtime.inspectContainer(egressNames(own).proxyName))?.state).toBe("running");
    expect(await runtime.inspectContainer(reviewer.containerName)).toBeDefined();
  });

  it("down refuses a container under this project's name that another project made, and leaves it", async () => {
    const { a, b } = collidingProjects();
    process.env.XDG_STATE_HOME = join(root, "state");
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const victim = sandboxIdentity(b, {});
    await ensureContainer(runtime, planFor({ ...sandboxIdentity(a, {}), containerName: victim.containerName }), undefined, quiet);
    await expect(down(runtime, { cwd: b })).rejects.toMatchObject({ code: "SBX_SANDBOX_OTHER_PROJECT" });
    expect(await runtime.inspectContainer(victim.containerName)).toBeDefined();
  });

  it("status names a container under this project's name that another project made, in text and --json", async () => {
    const { a, b } = collidingProjects();
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const victim = sandboxIdentity(b, {});
    await ensureContainer(runtime, planFor({ ...sandboxIdentity(a, {}), containerName: victim.containerName }), undefined, quiet);
    const written: string[] = [];
    const write = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (written.push(String(chunk)), true));
    try {
      await status(runtime, { cwd: b });
      await status(runtime, { cwd: b, json: true });
    } finally {
      write.mockRestore();
    }
    expect(written[0]).toContain(`not this project's sandbox: The container ${victim.containerName} belongs to the project ${a}`);
    expect(JSON.parse(written[1] as string).container.mismatch).toBe("SBX_SANDBOX_OTHER_PROJECT");
  });
});

describe("sbx create's mistakes, before anything is created", () => {
  const env = { PATH: process.env.PATH, HOME: join(root, "home-cli"), DOCKER_HOST: "unix:///nonexistent/docker.sock" };
  const project = projectWith("cli");
  it.each([
    [["create"], "SBX_USAGE", "required option '-n, --name <name>' not specified"],
    [["create", "--name", "Bad Name"], "SBX_SANDBOX_NAME_INVALID", 'The sandbox name "Bad Name" is not valid.'],
    [["create", "--name", "x", join(root, "nowhere")], "SBX_WORKSPACE_NOT_FOUND", "is not a directory."],
    [["create", "--name", "x", "--agent", "copilot"], "SBX_AGENT_UNKNOWN", '"copilot" is not an agent sbx knows.'],
    [["up", "--name", "a--b"], "SBX_SANDBOX_NAME_INVALID", "is not valid"],
    [["down", "--name", "-x"], "SBX_SANDBOX_NAME_INVALID", "is not valid"],
    [["status", "--name", "x".repeat(41)], "SBX_SANDBOX_NAME_INVALID", "is not valid"],
  ])("%j fails with %s, one sentence and no stack", async (args, code, message) => {
    const result = await runSbx(args, { cwd: project, env });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`code: ${code}`);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
