import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryRuntime } from "@sbx/container-runtime";
import { describe, expect, it } from "vitest";
import { CliError } from "../cli-error.js";
import { LABELS } from "../sandbox-identity.js";
import { gc, planGc } from "./gc.js";

const MANAGED = { [LABELS.managed]: "true" };

/** Two logins' volumes, three sbx images, a running sandbox and a stopped one, plus things sbx does not own. */
async function engine(): Promise<MemoryRuntime> {
  const runtime = new MemoryRuntime({ images: ["someone-elses:latest"] });
  const context = mkdtempSync(join(tmpdir(), "sbx-gc-"));
  writeFileSync(join(context, "Dockerfile"), "FROM scratch\n");
  for (const tag of ["sbx-sandbox:old", "sbx-sandbox:used", "sbx-sandbox:newest"]) await runtime.buildImage({ contextDir: context, tag, labels: MANAGED });
  await runtime.ensureVolume("ada-llm", { ...MANAGED, [LABELS.login]: "ada" });
  await runtime.ensureVolume("bob-llm", { ...MANAGED, [LABELS.login]: "bob" });
  await runtime.ensureVolume("not-ours");
  const sandbox = (name: string, image: string, volume: string, project: string) =>
    runtime.createContainer({ name, image, user: "1000:1000", cmd: ["true"], labels: { ...MANAGED, [LABELS.project]: project }, mounts: [{ type: "volume", source: volume, target: "/home/sandbox/.llm" }] });
  await sandbox("sbx-running-1", "sbx-sandbox:used", "ada-llm", "/src/running");
  await runtime.startContainer("sbx-running-1");
  await sandbox("sbx-stopped-2", "sbx-sandbox:old", "bob-llm", "/src/stopped");
  await runtime.createContainer({ name: "not-sbx", image: "someone-elses:latest", user: "1000:1000", cmd: ["true"] });
  return runtime;
}

describe("sbx gc", () => {
  it("plans to delete stopped sandboxes and unused images, keeping the running one's, the newest, and what sbx does not own", async () => {
    const plan = await planGc(await engine(), {});
    expect(plan.containers).toEqual([{ name: "sbx-stopped-2", project: "/src/stopped", state: "created" }]);
    // :used is the running sandbox's and :newest the next `sbx up`'s; :old only the stopped one's.
    expect(plan.images.map((image) => image.ref)).toEqual(["sbx-sandbox:old"]);
    expect(plan.volumes).toEqual([]);
  });

  it("keeps the newest sandbox image even when an egress proxy image is newer, and takes a gone sandbox's proxy and network with it", async () => {
    const runtime = await engine();
    const context = mkdtempSync(join(tmpdir(), "sbx-gc-"));
    writeFileSync(join(context, "Dockerfile"), "FROM scratch\n");
    const egress = { ...MANAGED, "dev.sbx.role": "egress" };
    await runtime.buildImage({ contextDir: context, tag: "sbx-egress:old", labels: egress });
    await runtime.buildImage({ contextDir: context, tag: "sbx-egress:new", labels: egress });
    for (const [sandbox, network] of [["sbx-running-1", "sbx-running-1-net"], ["sbx-stopped-2", "sbx-stopped-2-net"]] as const) {
      await runtime.createNetwork({ name: network, internal: true, labels: egress });
      await runtime.createContainer({ name: `${sandbox}-egress`, image: "sbx-egress:new", user: "65534:65534", cmd: [], labels: egress, network: "bridge" });
      await runtime.startContainer(`${sandbox}-egress`);
      await runtime.connectNetwork(network, `${sandbox}-egress`);
      await runtime.connectNetwork(network, sandbox);
    }
    const plan = await planGc(runtime, {});
    expect(plan.containers.map((container) => container.name).sort()).toEqual(["sbx-stopped-2", "sbx-stopped-2-egress"]);
    expect(plan.networks).toEqual([{ name: "sbx-stopped-2-net" }]);
    expect(plan.images.map((image) => image.ref)).toEqual(["sbx-sandbox:old", "sbx-egress:old"]);
    await gc(runtime, { yes: true }, { write: () => true } as unknown as NodeJS.WritableStream);
    expect(await runtime.inspectNetwork("sbx-stopped-2-net")).toBeUndefined();
    expect(await runtime.inspectNetwork("sbx-running-1-net")).toBeDefined();
    expect(await runtime.inspectImage("sbx-sandbox:newest")).toBeDefined();
  });

  it("with --volumes, also plans the state volumes no running sandbox mounts", async () => {
    const plan = await planGc(await engine(), { volumes: true });
    expect(plan.volumes).toEqual([{ name: "bob-llm", login: "bob" }]);
  });

  it("deletes what it listed with --yes, and leaves the rest", async () => {
    const runtime = await engine();
    const said: string[] = [];
    const code = await gc(runtime, { yes: true, volumes: true }, { write: (text: string) => said.push(text) } as unknown as NodeJS.WritableStream);
    expect(code).toBe(0);
    expect(said.join("")).toContain("sandbox sbx-stopped-2 (created; project /src/stopped)");
    expect(said.join("")).toContain("state volume bob-llm: the saved logins and every project's conversations of bob");
    expect(await runtime.inspectContainer("sbx-stopped-2")).toBeUndefined();
    expect(await runtime.inspectVolume("bob-llm")).toBeUndefined();
    expect(await runtime.inspectImage("sbx-sandbox:old")).toBeUndefined();
    for (const kept of ["sbx-running-1", "not-sbx"]) expect(await runtime.inspectContainer(kept)).toBeDefined();
    for (const kept of ["sbx-sandbox:used", "someone-elses:latest"]) expect(await runtime.inspectImage(kept)).toBeDefined();
    for (const kept of ["ada-llm", "not-ours"]) expect(await runtime.inspectVolume(kept)).toBeDefined();
    // A second run finds nothing left to do.
    expect((await planGc(runtime, { volumes: true })).containers).toEqual([]);
  });

  it("deletes nothing on --dry-run, and refuses without --yes when no one can answer", async () => {
    const runtime = await engine();
    const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
    expect(await gc(runtime, { dryRun: true, volumes: true }, quiet)).toBe(0);
    const refused = await gc(runtime, { volumes: true }, quiet).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as CliError).code).toBe("SBX_CONFIRM_REQUIRED");
    expect(await runtime.inspectContainer("sbx-stopped-2")).toBeDefined();
    expect(await runtime.inspectVolume("bob-llm")).toBeDefined();
  });
});
