import { MemoryRuntime } from "@sbx/container-runtime";
import { describe, expect, it } from "vitest";
import { CliError } from "./cli-error.js";
import { ensureContainer } from "./sandbox.js";
import { LABELS } from "./sandbox-identity.js";

const IMAGE = "sbx-sandbox:test";

function planFor(login: string, owner = "1000:ada", inputsHash = "inputs-1") {
  const identity = { projectDir: "/src/p", projectId: "p-1234abcd", containerName: "sbx-p-1234abcd", login, volumeName: `${login}-llm`, owner };
  return {
    identity,
    image: { inputsHash },
    network: { tier: "full" },
    spec: {
      name: identity.containerName,
      image: IMAGE,
      user: "1000:1000",
      cmd: ["true"],
      labels: { [LABELS.managed]: "true", [LABELS.login]: login, [LABELS.owner]: owner, [LABELS.imageInputs]: inputsHash, [LABELS.bounds]: "memory=2147483648,nanocpus=2000000000,pids=1024,log=10m*3" },
      mounts: [{ type: "volume" as const, source: identity.volumeName, target: "/home/sandbox/.llm" }],
      pidsLimit: 1024,
      memoryBytes: 2 * 1024 ** 3,
      nanoCpus: 2e9,
      logMaxSize: "10m",
      logMaxFiles: 3,
    },
  } as unknown as Parameters<typeof ensureContainer>[1];
}

const quiet = () => {};

describe("ensureContainer (hole 11: concurrent `sbx up` in one project)", () => {
  it("converges five simultaneous calls on one running container: one creates it, the others reuse it", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const plan = planFor("ada");
    // Each looked before any of them created it, as five processes started at once do.
    const actions = await Promise.all(Array.from({ length: 5 }, () => ensureContainer(runtime, plan, undefined, quiet)));
    expect(actions.filter((action) => action === "created")).toHaveLength(1);
    expect(actions.every((action) => ["created", "started", "reused"].includes(action))).toBe(true);
    const containers = await runtime.listContainers({ labels: { [LABELS.managed]: "true" } });
    expect(containers.map((container) => [container.name, container.state])).toEqual([["sbx-p-1234abcd", "running"]]);
  });

  it("converges five simultaneous calls that all found an outdated sandbox on one new one", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    await ensureContainer(runtime, planFor("ada", "1000:ada", "old"), undefined, quiet);
    const plan = planFor("ada");
    const stale = await runtime.inspectContainer(plan.spec.name);
    const actions = await Promise.all(Array.from({ length: 5 }, () => ensureContainer(runtime, plan, stale, quiet)));
    expect(actions).toContain("recreated");
    const [container, ...others] = await runtime.listContainers({ labels: { [LABELS.managed]: "true" } });
    expect([others.length, container?.state, container?.labels[LABELS.imageInputs]]).toEqual([0, "running", "inputs-1"]);
  });

  it("recreates a container whose image inputs changed, and reuses a running one as it is", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    expect(await ensureContainer(runtime, planFor("ada", "1000:ada", "old"), undefined, quiet)).toBe("created");
    const plan = planFor("ada");
    expect(await ensureContainer(runtime, plan, await runtime.inspectContainer(plan.spec.name), quiet)).toBe("recreated");
    expect(await ensureContainer(runtime, plan, await runtime.inspectContainer(plan.spec.name), quiet)).toBe("reused");
    expect((await runtime.inspectContainer(plan.spec.name))?.labels[LABELS.imageInputs]).toBe("inputs-1");
  });
});

describe("ensureContainer (hole 14: bounds)", () => {
  it("replaces a sandbox made without the bounds (or with other ones), so none keeps running unbounded", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const plan = planFor("ada");
    const { memoryBytes: _m, nanoCpus: _c, logMaxSize: _l, ...unbounded } = plan.spec;
    const { [LABELS.bounds]: _b, ...labels } = plan.spec.labels ?? {};
    await runtime.createContainer({ ...unbounded, labels });
    const logged: string[] = [];
    expect(await ensureContainer(runtime, plan, await runtime.inspectContainer(plan.spec.name), (line) => logged.push(line))).toBe("recreated");
    expect(logged).toEqual(["replacing sbx-p-1234abcd: its resource limits changed"]);
    expect((await runtime.inspectContainer(plan.spec.name))?.resources).toEqual({ memoryBytes: 2 * 1024 ** 3, nanoCpus: 2e9, logDriver: "json-file", logMaxSize: "10m", logMaxFiles: 3 });
    expect(await ensureContainer(runtime, plan, await runtime.inspectContainer(plan.spec.name), quiet)).toBe("reused");
    // Other `resources` in the config: replaced again.
    const smaller = { ...plan, spec: { ...plan.spec, memoryBytes: 1024 ** 3, labels: { ...plan.spec.labels, [LABELS.bounds]: "memory=1073741824,nanocpus=2000000000,pids=1024,log=10m*3" } } };
    expect(await ensureContainer(runtime, smaller, await runtime.inspectContainer(plan.spec.name), quiet)).toBe("recreated");
    expect((await runtime.inspectContainer(plan.spec.name))?.resources.memoryBytes).toBe(1024 ** 3);
  });

  it("keeps a sandbox whose engine could not apply a limit (it reports 0) instead of replacing it on every up", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    const plan = planFor("ada");
    // The label records what was asked; the engine (no memory cgroup) applied no memory limit.
    const { memoryBytes: _m, ...withoutMemory } = plan.spec;
    await runtime.createContainer(withoutMemory);
    expect(await ensureContainer(runtime, plan, await runtime.inspectContainer(plan.spec.name), quiet)).toBe("started");
  });
});

describe("ensureContainer (hole 13e: SBX_LOGIN changed under a sandbox)", () => {
  it("refuses to reuse a sandbox started under another login, saying which and how to go on", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    await ensureContainer(runtime, planFor("ada"), undefined, quiet);
    const plan = planFor("bob");
    const failure = await ensureContainer(runtime, plan, await runtime.inspectContainer(plan.spec.name), quiet).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CliError);
    expect((failure as CliError).code).toBe("SBX_SANDBOX_LOGIN_MISMATCH");
    expect((failure as CliError).message).toBe("The sandbox sbx-p-1234abcd runs under the login ada, not bob.");
    expect((failure as CliError).hint).toContain("sbx down");
    // Nothing was replaced: ada's sandbox is still ada's.
    expect((await runtime.inspectContainer(plan.spec.name))?.labels[LABELS.login]).toBe("ada");
  });

  it("refuses a sandbox another user of a shared engine made, also when it is found only after losing the create race", async () => {
    const runtime = new MemoryRuntime({ images: [IMAGE] });
    await ensureContainer(runtime, planFor("ada", "1001:eve"), undefined, quiet);
    const failure = await ensureContainer(runtime, planFor("ada", "1000:ada"), undefined, quiet).catch((error: unknown) => error);
    expect((failure as CliError).code).toBe("SBX_SANDBOX_NOT_YOURS");
  });
});
