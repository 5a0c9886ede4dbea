import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryRuntime } from "@sbx/container-runtime";
import { describe, expect, it } from "vitest";
import { CliError } from "../cli-error.js";
import { hostOwner, LABELS } from "../sandbox-identity.js";
import { gc, planGc } from "./gc.js";
import { ls } from "./ls.js";

/** The user running sbx: ada (uid 1000) with her default login. */
const ME = { login: "ada", owner: "1000:ada" };
const labelsOf = (login: string, owner: string) => ({ [LABELS.managed]: "true", [LABELS.login]: login, [LABELS.owner]: owner });
const MINE = labelsOf("ada", "1000:ada");
/** Ada again, under her other login (SBX_LOGIN=ada-work): not what `gc` of the login ada touches. */
const MY_OTHER_LOGIN = labelsOf("ada-work", "1000:ada");
/** Eve, another user of the same engine. */
const EVE = labelsOf("eve", "1001:eve");

/**
 * A shared engine: ada's images (old, used, newest), eve's image, ada's stopped sandbox, her other
 * login's running one, eve's stopped one, a managed container not named sbx-…, and things sbx does
 * not own at all.
 */
async function engine(): Promise<MemoryRuntime> {
  const runtime = new MemoryRuntime({ images: ["someone-elses:latest"] });
  const context = mkdtempSync(join(tmpdir(), "sbx-gc-"));
  writeFileSync(join(context, "Dockerfile"), "FROM scratch\n");
  for (const tag of ["sbx-sandbox:old", "sbx-sandbox:used", "sbx-sandbox:newest"]) await runtime.buildImage({ contextDir: context, tag, labels: MINE });
  await runtime.buildImage({ contextDir: context, tag: "sbx-sandbox:eves", labels: EVE });
  await runtime.ensureVolume("ada-llm", MINE);
  await runtime.ensureVolume("ada-work-llm", MY_OTHER_LOGIN);
  await runtime.ensureVolume("eve-llm", EVE);
  await runtime.ensureVolume("not-ours");
  const sandbox = (name: string, image: string, volume: string, project: string, labels: Record<string, string>) =>
    runtime.createContainer({ name, image, user: "1000:1000", cmd: ["true"], labels: { ...labels, [LABELS.project]: project }, mounts: [{ type: "volume", source: volume, target: "/home/sandbox/.llm" }] });
  await sandbox("sbx-stopped-2", "sbx-sandbox:old", "ada-llm", "/src/stopped", MINE);
  await sandbox("sbx-running-1", "sbx-sandbox:used", "ada-work-llm", "/src/running", MY_OTHER_LOGIN);
  await runtime.startContainer("sbx-running-1");
  await sandbox("sbx-eves-3", "sbx-sandbox:eves", "eve-llm", "/home/eve/secret-project", EVE);
  await sandbox("renamed-4", "sbx-sandbox:old", "ada-llm", "/src/renamed", MINE);
  await runtime.createContainer({ name: "not-sbx", image: "someone-elses:latest", user: "1000:1000", cmd: ["true"] });
  return runtime;
}

describe("sbx gc", () => {
  it("plans to delete this login's stopped sandboxes and its unused images, keeping the newest and anything in use", async () => {
    const plan = await planGc(await engine(), { identity: ME });
    expect(plan.containers).toEqual([{ name: "sbx-stopped-2", project: "/src/stopped", state: "created" }]);
    // :used is the running sandbox's, :newest the next `sbx up`'s; :old is still used by renamed-4,
    // which gc keeps (not named sbx-…), so nothing of ada's images goes.
    expect(plan.images.map((image) => image.ref)).toEqual([]);
    expect(plan.volumes).toEqual([]);
  });

  it("keeps the newest sandbox image even when an egress proxy image is newer, and takes a gone sandbox's proxy and network with it", async () => {
    const runtime = await engine();
    await runtime.removeContainer("renamed-4");
    const context = mkdtempSync(join(tmpdir(), "sbx-gc-"));
    writeFileSync(join(context, "Dockerfile"), "FROM scratch\n");
    const egress = { ...MINE, "dev.sbx.role": "egress" };
    await runtime.buildImage({ contextDir: context, tag: "sbx-egress:old", labels: egress });
    await runtime.buildImage({ contextDir: context, tag: "sbx-egress:new", labels: egress });
    await runtime.createContainer({ name: "sbx-running-5", image: "sbx-sandbox:newest", user: "1000:1000", cmd: ["true"], labels: MINE });
    await runtime.startContainer("sbx-running-5");
    for (const [sandbox, network] of [["sbx-running-5", "sbx-running-5-net"], ["sbx-stopped-2", "sbx-stopped-2-net"]] as const) {
      await runtime.createNetwork({ name: network, internal: true, labels: egress });
      await runtime.createContainer({ name: `${sandbox}-egress`, image: "sbx-egress:new", user: "65534:65534", cmd: [], labels: egress, network: "bridge" });
      await runtime.startContainer(`${sandbox}-egress`);
      await runtime.connectNetwork(network, `${sandbox}-egress`);
      await runtime.connectNetwork(network, sandbox);
    }
    const plan = await planGc(runtime, { identity: ME });
    expect(plan.containers.map((container) => container.name).sort()).toEqual(["sbx-stopped-2", "sbx-stopped-2-egress"]);
    expect(plan.networks).toEqual([{ name: "sbx-stopped-2-net" }]);
    expect(plan.images.map((image) => image.ref)).toEqual(["sbx-sandbox:old", "sbx-egress:old"]);
    await gc(runtime, { yes: true, identity: ME }, { write: () => true } as unknown as NodeJS.WritableStream);
    expect(await runtime.inspectNetwork("sbx-stopped-2-net")).toBeUndefined();
    expect(await runtime.inspectNetwork("sbx-running-5-net")).toBeDefined();
    expect(await runtime.inspectImage("sbx-sandbox:newest")).toBeDefined();
  });

  it("hole 15: never plans another user's or another login's sandbox, image or volume on a shared engine", async () => {
    const runtime = await engine();
    await runtime.removeContainer("renamed-4");
    const plan = await planGc(runtime, { identity: ME, volumes: true });
    expect(plan.containers.map((container) => container.name)).toEqual(["sbx-stopped-2"]);
    expect(plan.images.map((image) => image.ref)).toEqual(["sbx-sandbox:old"]);
    // --volumes means the current login's: ada-work's and eve's stay.
    expect(plan.volumes).toEqual([{ name: "ada-llm", login: "ada" }]);
    // What eve's gc would plan is hers alone.
    const eves = await planGc(runtime, { identity: { login: "eve", owner: "1001:eve" }, volumes: true });
    expect(eves.containers.map((container) => container.name)).toEqual(["sbx-eves-3"]);
    expect(eves.images).toEqual([]);
    expect(eves.volumes).toEqual([{ name: "eve-llm", login: "eve" }]);
  });

  it("deletes what it listed with --yes, and leaves everyone else's", async () => {
    const runtime = await engine();
    await runtime.removeContainer("renamed-4");
    const said: string[] = [];
    const code = await gc(runtime, { yes: true, volumes: true, identity: ME }, { write: (text: string) => said.push(text) } as unknown as NodeJS.WritableStream);
    expect(code).toBe(0);
    expect(said.join("")).toContain("sbx gc will delete (login ada):\n  sandbox sbx-stopped-2 (created; project /src/stopped)");
    expect(said.join("")).toContain("state volume ada-llm: the saved logins and every project's conversations of ada");
    expect(said.join("")).not.toMatch(/eve-|eves|\/home\/eve/);
    expect(await runtime.inspectContainer("sbx-stopped-2")).toBeUndefined();
    expect(await runtime.inspectVolume("ada-llm")).toBeUndefined();
    expect(await runtime.inspectImage("sbx-sandbox:old")).toBeUndefined();
    for (const kept of ["sbx-running-1", "sbx-eves-3", "not-sbx"]) expect(await runtime.inspectContainer(kept)).toBeDefined();
    for (const kept of ["sbx-sandbox:used", "sbx-sandbox:newest", "sbx-sandbox:eves", "someone-elses:latest"]) expect(await runtime.inspectImage(kept)).toBeDefined();
    for (const kept of ["ada-work-llm", "eve-llm", "not-ours"]) expect(await runtime.inspectVolume(kept)).toBeDefined();
    // A second run finds nothing left to do.
    expect((await planGc(runtime, { volumes: true, identity: ME })).containers).toEqual([]);
  });

  it("treats a sandbox from before the owner label as the login's own, and an unlabelled other login's as not", async () => {
    const runtime = new MemoryRuntime({ images: ["sbx-sandbox:x"] });
    const legacy = (login: string) => ({ [LABELS.managed]: "true", [LABELS.login]: login });
    await runtime.createContainer({ name: "sbx-legacy-ada", image: "sbx-sandbox:x", user: "1000:1000", cmd: ["true"], labels: legacy("ada") });
    await runtime.createContainer({ name: "sbx-legacy-bob", image: "sbx-sandbox:x", user: "1000:1000", cmd: ["true"], labels: legacy("bob") });
    expect((await planGc(runtime, { identity: ME })).containers.map((container) => container.name)).toEqual(["sbx-legacy-ada"]);
  });

  it("with --login, plans another of this user's logins instead of the current one", async () => {
    const runtime = new MemoryRuntime({ images: ["sbx-sandbox:x"] });
    const labels = labelsOf(`work-${process.pid}`, hostOwner());
    await runtime.ensureVolume(`work-${process.pid}-llm`, labels);
    await runtime.createContainer({ name: "sbx-work-1", image: "sbx-sandbox:x", user: "1000:1000", cmd: ["true"], labels, mounts: [{ type: "volume", source: `work-${process.pid}-llm`, target: "/s" }] });
    const plan = await planGc(runtime, { login: `work-${process.pid}`, volumes: true });
    expect([plan.containers.map((container) => container.name), plan.volumes.map((volume) => volume.name)]).toEqual([["sbx-work-1"], [`work-${process.pid}-llm`]]);
    const current = await planGc(runtime, { identity: { login: "someone-else", owner: hostOwner() }, volumes: true });
    expect([current.containers, current.volumes]).toEqual([[], []]);
  });

  it("deletes nothing on --dry-run, and refuses without --yes when no one can answer", async () => {
    const runtime = await engine();
    const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
    expect(await gc(runtime, { dryRun: true, volumes: true, identity: ME }, quiet)).toBe(0);
    const refused = await gc(runtime, { volumes: true, identity: ME }, quiet).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CliError);
    expect((refused as CliError).code).toBe("SBX_CONFIRM_REQUIRED");
    expect(await runtime.inspectContainer("sbx-stopped-2")).toBeDefined();
    expect(await runtime.inspectVolume("ada-llm")).toBeDefined();
  });
});

describe("sbx ls", () => {
  it("hole 15: lists only this login's sandboxes of this user, never another user's names or project paths", async () => {
    const runtime = await engine();
    const out: string[] = [];
    expect(await ls(runtime, { json: true, identity: ME, out: { write: (text: string) => out.push(text) } as unknown as NodeJS.WritableStream })).toBe(0);
    const rows = JSON.parse(out.join("")) as Array<{ name: string; project: string }>;
    expect(rows.map((row) => row.name)).toEqual(["sbx-stopped-2"]);
    expect(out.join("")).not.toContain("/home/eve");
  });
});
