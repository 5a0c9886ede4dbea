import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryRuntime, type BuildSpec, type ExecOptions, type ExecResult, type ImageInfo } from "@sbx/container-runtime";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { archive } from "./test-support/tar-archive.js";
import { gc, planGc } from "./commands/gc.js";
import { lsTemplates } from "./commands/ls-templates.js";
import { LABELS } from "./sandbox-identity.js";
import type { SandboxPlan } from "./sandbox.js";
import { chooseTemplate, findTemplate, homeArchiveCommand, listTemplates, pipedSecretValues, saveTemplate, TEMPLATE_LABELS, templateTag } from "./templates.js";

const ME = { login: "ada", owner: "1000:ada" };
const EVE = { login: "ada", owner: "1001:ada" };
const MINE = { [LABELS.managed]: "true", [LABELS.login]: ME.login, [LABELS.owner]: ME.owner };
const BASE = "sbx-sandbox:base";
const CANARY = "sk-ant-oat01-CANARYtemplatesunit-access";

/** The in-memory engine, whose sandbox answers the home-archive exec with a tar of our making. */
class EngineWithHome extends MemoryRuntime {
  archive: Buffer = Buffer.alloc(0);
  built: Array<{ tag: string; dockerfile: string; home: Buffer }> = [];
  override async exec(nameOrId: string, options: ExecOptions): Promise<ExecResult> {
    if (options.cmd.join(" ") === homeArchiveCommand(1024 * 1024).join(" ")) {
      options.stdout?.write(this.archive);
      return { exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };
    }
    return super.exec(nameOrId, options);
  }
  override async buildImage(spec: BuildSpec): Promise<ImageInfo> {
    const dockerfile = readFileSync(join(spec.contextDir, "Dockerfile"), "utf8");
    this.built.push({ tag: spec.tag, dockerfile, home: dockerfile.includes("home.tar") ? readFileSync(join(spec.contextDir, "home.tar")) : Buffer.alloc(0) });
    return super.buildImage(spec);
  }
}

async function names(bytes: Buffer): Promise<string[]> {
  const extract = tar.extract();
  const found: string[] = [];
  const reading = (async () => {
    for await (const entry of extract) {
      found.push(entry.header.name);
      entry.resume();
    }
  })();
  extract.end(bytes);
  await reading;
  return found;
}

async function engineWithSandbox(): Promise<EngineWithHome> {
  const runtime = new EngineWithHome();
  const context = mkdtempSync(join(tmpdir(), "sbx-templates-"));
  writeFileSync(join(context, "Dockerfile"), "FROM scratch\n");
  await runtime.buildImage({ contextDir: context, tag: BASE, labels: { ...MINE, [LABELS.imageInputs]: "inputs-1" } });
  await runtime.createContainer({ name: "sbx-p-1234abcd", image: BASE, user: "1000:1000", cmd: ["idle"], labels: { ...MINE, [LABELS.project]: "/src/p" } });
  await runtime.startContainer("sbx-p-1234abcd");
  runtime.archive = await archive([
    { name: "./", type: "directory" },
    { name: "./.local/bin/tool", type: "file", mode: 0o755, content: "#!/bin/sh\necho tool\n" },
    { name: "./.claude", type: "symlink", linkname: "/home/sandbox/.llm/claude" },
    { name: "./.bash_history", type: "file", content: `export TOKEN=${CANARY}\n` },
    { name: "./stash/creds-copy.json", type: "file", content: JSON.stringify({ accessToken: CANARY }) },
  ]);
  return runtime;
}

const save = async (runtime: EngineWithHome, template = "tools") =>
  saveTemplate(runtime, { container: (await runtime.inspectContainer("sbx-p-1234abcd"))!, identity: ME, template, secretValues: [CANARY], maxBytes: 1024 * 1024, log: () => {}, uid: 1000, gid: 1000 });

function planFor(name = "sbx-p-1234abcd"): SandboxPlan {
  return {
    identity: { projectDir: "/src/p", projectId: "p-1234abcd", containerName: "sbx-p-1234abcd", login: ME.login, owner: ME.owner, volumeName: "ada-llm", conversationsVolumeName: "c" },
    image: { tag: BASE, inputsHash: "inputs-1", baseImage: "node:22-slim", buildArgs: {}, caCertificates: [], files: {} },
    spec: { name, image: BASE, user: "1000:1000", cmd: ["idle"], labels: { ...MINE, [LABELS.imageInputs]: "inputs-1" } },
  } as unknown as SandboxPlan;
}

describe("sbx save: a sandbox's home as a template", () => {
  it("builds the template FROM the sandbox's image with the filtered home, labelled and tagged for this login and user", async () => {
    const runtime = await engineWithSandbox();
    const { template, report } = await save(runtime);
    expect(template).toMatchObject({ name: "tools", tag: templateTag(ME, "tools"), source: "sbx-p-1234abcd", project: "/src/p", baseImage: BASE });
    const [built] = runtime.built.filter((build) => build.tag === template.tag);
    expect(built?.dockerfile).toBe(`FROM ${BASE}\nADD home.tar /opt/sbx/template-home/\n`);
    expect(await names(built?.home ?? Buffer.alloc(0))).toEqual([".local/bin/tool"]);
    expect(built?.home.includes(CANARY)).toBe(false);
    expect(report.stripped.map((item) => item.path).sort()).toEqual([".bash_history", ".claude", "stash/creds-copy.json"]);
    const image = await runtime.inspectImage(template.tag);
    expect(image?.labels).toMatchObject({ ...MINE, [TEMPLATE_LABELS.template]: "tools", [TEMPLATE_LABELS.base]: BASE, [TEMPLATE_LABELS.source]: "sbx-p-1234abcd" });
  });

  it("tags another user's template of the same name and login apart, and never finds it", async () => {
    expect(templateTag(ME, "tools")).not.toBe(templateTag(EVE, "tools"));
    const runtime = await engineWithSandbox();
    await save(runtime);
    expect((await listTemplates(runtime, ME)).map((template) => template.name)).toEqual(["tools"]);
    expect(await listTemplates(runtime, EVE)).toEqual([]);
    expect(await findTemplate(runtime, EVE, "tools").catch((error: { code: string; hint: string }) => [error.code, error.hint])).toEqual([
      "SBX_TEMPLATE_NOT_FOUND",
      expect.stringContaining("sbx ls --templates"),
    ]);
  });

  it("refuses a bad template name with SBX_TEMPLATE_BAD_NAME", async () => {
    const runtime = await engineWithSandbox();
    for (const bad of ["", "Tools", "../x", "a b", "x".repeat(41), "-x"]) {
      expect(await save(runtime, bad).catch((error: { code: string }) => error.code)).toBe("SBX_TEMPLATE_BAD_NAME");
    }
  });

  it("lists templates with source, project, base image and creation time (sbx ls --templates --json)", async () => {
    const runtime = await engineWithSandbox();
    await save(runtime);
    let text = "";
    const out = { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream;
    await lsTemplates(runtime, { json: true, identity: ME, out });
    expect(JSON.parse(text)).toEqual([expect.objectContaining({ template: "tools", source: "sbx-p-1234abcd", project: "/src/p", baseImage: BASE, image: templateTag(ME, "tools") })]);
  });
});

describe("--template: a sandbox started from a template", () => {
  it("uses the template's image, never builds over it, and keeps the plan's hardening", async () => {
    const runtime = await engineWithSandbox();
    const { template } = await save(runtime);
    const plan = planFor();
    await chooseTemplate(runtime, plan, { template: "tools" });
    expect(plan.spec.image).toBe(template.tag);
    expect(plan.image.tag).toBe(template.tag);
    expect(plan.spec.labels?.[LABELS.imageInputs]).toBe(`template:${template.id}`);
    expect(plan.spec.labels?.[TEMPLATE_LABELS.template]).toBe("tools");
    expect(plan.spec.user).toBe("1000:1000");
  });

  it("names a missing template with SBX_TEMPLATE_NOT_FOUND and the hint sbx ls --templates", async () => {
    const runtime = await engineWithSandbox();
    const error = (await chooseTemplate(runtime, planFor(), { template: "nope" }).catch((caught: unknown) => caught)) as { code: string; hint: string };
    expect([error.code, error.hint]).toEqual(["SBX_TEMPLATE_NOT_FOUND", expect.stringContaining("sbx ls --templates")]);
  });

  it("refuses --template with --rebuild or --base-image", async () => {
    const runtime = await engineWithSandbox();
    await save(runtime);
    expect(await chooseTemplate(runtime, planFor(), { template: "tools", rebuild: true }).catch((error: { code: string }) => error.code)).toBe("SBX_USAGE");
    expect(await chooseTemplate(runtime, planFor(), { template: "tools", baseImage: "node:22" }).catch((error: { code: string }) => error.code)).toBe("SBX_USAGE");
  });

  it("keeps using the template a sandbox was made from when `sbx up` runs again without --template", async () => {
    const runtime = await engineWithSandbox();
    const { template } = await save(runtime);
    await runtime.createContainer({ name: "sbx-p-1234abcd-loop", image: template.tag, user: "1000:1000", cmd: ["idle"], labels: { ...MINE, [TEMPLATE_LABELS.template]: "tools" } });
    const plan = planFor("sbx-p-1234abcd-loop");
    expect((await chooseTemplate(runtime, plan, {}))?.name).toBe("tools");
    expect(plan.spec.image).toBe(template.tag);
    const plain = planFor();
    expect(await chooseTemplate(runtime, plain, {})).toBeUndefined();
    expect(plain.spec.image).toBe(BASE);
  });
});

describe("sbx gc and templates", () => {
  it("keeps templates and the sandbox image each is built on; --templates deletes the unused ones after saying so", async () => {
    const runtime = await engineWithSandbox();
    const { template } = await save(runtime);
    // The base is no longer the newest sandbox image, and its sandbox is gone.
    const context = mkdtempSync(join(tmpdir(), "sbx-templates-"));
    writeFileSync(join(context, "Dockerfile"), "FROM scratch\n");
    await runtime.buildImage({ contextDir: context, tag: "sbx-sandbox:newer", labels: MINE });
    await runtime.removeContainer("sbx-p-1234abcd");
    const plain = await planGc(runtime, { identity: ME });
    expect(plain.images.map((image) => image.ref)).not.toContain(BASE);
    expect(plain.images.map((image) => image.ref)).not.toContain(template.tag);
    expect(plain.templates).toBeUndefined();

    const withTemplates = await planGc(runtime, { identity: ME, templates: true });
    expect(withTemplates.templates?.map((item) => item.name)).toEqual(["tools"]);
    let said = "";
    const stream = { write: (chunk: string) => ((said += chunk), true) } as unknown as NodeJS.WritableStream;
    await gc(runtime, { identity: ME, templates: true, yes: true }, stream);
    expect(said).toContain("template tools");
    expect(await runtime.inspectImage(template.tag)).toBeUndefined();
  });
});

describe("pipedSecretValues: what the filter looks for", () => {
  it("takes the credential strings of the login files and the API keys, not account ids or plain variables", () => {
    const values = pipedSecretValues({
      logins: [
        {
          status: "found",
          provider: "claude",
          description: "",
          source: "",
          notes: [],
          files: [{ name: "claude-credentials", destination: "~/.claude/.credentials.json", mode: 0o600, content: Buffer.from(JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-aaaaaaaaaaaa", refreshToken: "sk-ant-ort01-bbbbbbbbbbbb", subscriptionType: "max" } })) }],
        },
      ],
      agentEnv: { ANTHROPIC_API_KEY: "sk-ant-api03-cccccccccc", FOO: "/home/sandbox/.local/bin" },
    });
    expect(values.sort()).toEqual(["sk-ant-api03-cccccccccc", "sk-ant-oat01-aaaaaaaaaaaa", "sk-ant-ort01-bbbbbbbbbbbb"]);
  });
});
