/**
 * Saved templates against the real engine: a sandbox with the canary planted in every credential
 * source gets a tool installed (a script in ~/.local/bin and an `npm install -g` of a local
 * tarball), is saved, and the template image carries the tool and none of the canary — in
 * `docker save` (every layer, the config, the history) and `docker inspect`. A sandbox started
 * from it has the tool and gets its logins piped afresh. A hostile sandbox's link to /etc/shadow,
 * copy of the login, history and FIFO are stripped; a huge (sparse) file refuses the save.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { plantCanaryHome } from "./test-support/canary-home.js";
import { docker, imageBytesContain } from "./test-support/docker-cli.js";
import { runSbx, sbxTestEnv } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

const CANARY = `CANARY${randomBytes(8).toString("hex")}`;
const login = `sbxtpl${randomBytes(3).toString("hex")}`;
const template = `tools-${randomBytes(2).toString("hex")}`;

describe.skipIf(!environment.available)(`sbx save and --template against the Docker engine${skipReason}`, { timeout: 300_000 }, () => {
  let root = "";
  let env: Record<string, string | undefined> = {};
  let project = "";
  let other = "";
  let source = "";
  let fromTemplate = "";
  let templateImage = "";
  let saveOutput = "";
  let upOutput = "";

  const sh = (container: string, script: string) => docker(["exec", container, "sh", "-c", script], { allowFailure: true });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "sbx-templates-"));
    const home = plantCanaryHome(root, CANARY);
    project = join(root, "project");
    other = join(root, "other");
    for (const dir of [project, other]) mkdirSync(join(dir, ".git"), { recursive: true });
    // A tiny npm package, installed from a local tarball: no registry needed.
    mkdirSync(join(project, "tinytool", "bin"), { recursive: true });
    writeFileSync(join(project, "tinytool", "package.json"), JSON.stringify({ name: "sbx-tinytool", version: "1.0.0", bin: { "sbx-tinytool": "bin/tool.js" } }));
    writeFileSync(join(project, "tinytool", "bin", "tool.js"), "#!/usr/bin/env node\nconsole.log('tinytool works');\n", { mode: 0o755 });
    env = {
      ...sbxTestEnv(home, login, environment),
      ANTHROPIC_API_KEY: `sk-ant-api03-${CANARY}-apikey`,
      SBX_KEEPER: "off",
    };
    const up = await runSbx(["up", "--detach", "--yes"], { cwd: project, env, timeoutMs: 20 * 60_000 });
    expect(up.exitCode, up.stderr).toBe(0);
    source = JSON.parse((await runSbx(["status", "--json"], { cwd: project, env })).stdout).container.name;

    const install = sh(
      source,
      [
        "set -e",
        "mkdir -p ~/.local/bin",
        "printf '#!/bin/sh\\necho hello-from-the-template\\n' > ~/.local/bin/sbx-hello",
        "chmod +x ~/.local/bin/sbx-hello",
        "cd /tmp && npm pack --silent /workspace/tinytool >/dev/null",
        "npm install -g --offline --no-audit --no-fund /tmp/sbx-tinytool-1.0.0.tgz >/dev/null",
        // What a prompt-injected agent leaves behind for the template.
        "cp ~/.claude/.credentials.json ~/stash.json",
        "printf 'curl -H \"x-api-key: %s\"\\n' \"$(cat ~/.codex/auth.json)\" > ~/.bash_history",
        "ln -s /etc/shadow ~/shadow-link",
        "mkfifo ~/fifo",
      ].join(" && "),
    );
    expect(install.exitCode, install.stderr).toBe(0);
    expect(sh(source, "sbx-tinytool").stdout).toContain("tinytool works");

    const save = await runSbx(["save", template], { cwd: project, env, timeoutMs: 10 * 60_000 });
    expect(save.exitCode, save.stderr + save.stdout).toBe(0);
    saveOutput = save.stdout;
    const listed = JSON.parse((await runSbx(["ls", "--templates", "--json"], { cwd: project, env })).stdout);
    templateImage = listed.find((row: { template: string }) => row.template === template)?.image ?? "";

    const fresh = await runSbx(["up", "--detach", "--yes", "--template", template], { cwd: other, env, timeoutMs: 10 * 60_000 });
    expect(fresh.exitCode, fresh.stderr).toBe(0);
    upOutput = fresh.stderr;
    fromTemplate = JSON.parse((await runSbx(["status", "--json"], { cwd: other, env })).stdout).container.name;
  }, 30 * 60_000);

  afterAll(() => {
    for (const container of [source, fromTemplate]) if (container) docker(["rm", "-f", container], { allowFailure: true });
    for (const image of docker(["image", "ls", "-q", "--filter", `label=dev.sbx.template`, "--filter", `label=dev.sbx.login=${login}`], { allowFailure: true }).stdout.split("\n").filter(Boolean)) {
      docker(["rmi", "-f", image], { allowFailure: true });
    }
    for (const volume of docker(["volume", "ls", "-q", "--filter", `label=dev.sbx.login=${login}`], { allowFailure: true }).stdout.split("\n").filter(Boolean)) {
      docker(["volume", "rm", volume], { allowFailure: true });
    }
  });

  it("lists the template, labelled for this login, built on the sandbox image", async () => {
    expect(templateImage).toMatch(new RegExp(`^sbx-template:${login}\\.${template}\\.[0-9a-f]{8}$`));
    const [info] = JSON.parse(docker(["image", "inspect", templateImage]).stdout);
    expect(info.Config.Labels).toMatchObject({ "dev.sbx.template": template, "dev.sbx.login": login, "dev.sbx.template-source": source });
    expect(info.Config.Labels["dev.sbx.template-base"]).toMatch(/^sbx-sandbox:/);
  });

  it("the canary audit: none of it in docker save of the template (every layer, the config, the history) or docker inspect/history", async () => {
    expect(await imageBytesContain(templateImage, CANARY)).toBe(false);
    for (const args of [["image", "inspect", templateImage], ["history", "--no-trunc", templateImage]]) {
      expect(docker(args).stdout, `docker ${args.join(" ")}`).not.toContain(CANARY);
    }
  });

  it("said what it left out: the login copy, the history, the link to /etc/shadow, the FIFO and sbx's own links", () => {
    expect(saveOutput).toMatch(/~\/stash\.json: it holds a login or key sbx piped/);
    expect(saveOutput).toMatch(/~\/\.bash_history: shell or REPL history/);
    expect(saveOutput).toMatch(/~\/shadow-link: a link out of the home/);
    expect(saveOutput).toMatch(/~\/fifo: a fifo/);
    expect(saveOutput).toMatch(/~\/\.claude: a login or state link/);
  });

  it("a sandbox started from the template has the tools, owned by the sandbox user", () => {
    expect(sh(fromTemplate, "sbx-hello").stdout.trim()).toBe("hello-from-the-template");
    expect(sh(fromTemplate, "sbx-tinytool").stdout.trim()).toBe("tinytool works");
    expect(sh(fromTemplate, "stat -c %U ~/.local/bin/sbx-hello").stdout.trim()).toBe("sandbox");
    const absent = sh(fromTemplate, "for path in ~/stash.json ~/.bash_history ~/shadow-link ~/fifo; do if [ -e $path ] || [ -L $path ]; then echo $path; fi; done");
    expect(absent.stdout).toBe("");
  });

  it("still gets its logins piped afresh, and runs with the same hardening", () => {
    expect(upOutput).toMatch(/logins piped: .*claude → \/home\/sandbox\/\.claude\/\.credentials\.json/);
    expect(docker(["exec", fromTemplate, "node", "/opt/sbx/entrypoint.mjs", "agent", "printenv", "ANTHROPIC_API_KEY"]).stdout.trim()).toBe(`sk-ant-api03-${CANARY}-apikey`);
    expect(sh(fromTemplate, "readlink ~/.claude").stdout.trim()).toBe("/home/sandbox/.llm/claude");
    const [info] = JSON.parse(docker(["inspect", fromTemplate]).stdout);
    expect(info.Config.Image).toBe(templateImage);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    expect(info.HostConfig.CapDrop).toContain("ALL");
    expect(info.HostConfig.SecurityOpt).toContain("no-new-privileges");
  });

  it("`sbx create --name … --template` makes a named sandbox of the project from it, with the tools", async () => {
    const made = await runSbx(["create", "--name", "from-template", "--template", template, "--yes"], { cwd: other, env, timeoutMs: 10 * 60_000 });
    expect(made.exitCode, made.stderr).toBe(0);
    const named = JSON.parse((await runSbx(["status", "--json", "--name", "from-template"], { cwd: other, env })).stdout).container.name;
    expect(named).toMatch(/^sbx--from-template--/);
    expect(JSON.parse(docker(["inspect", named]).stdout)[0].Config.Image).toBe(templateImage);
    expect(sh(named, "sbx-hello").stdout.trim()).toBe("hello-from-the-template");
    expect((await runSbx(["rm", "--name", "from-template"], { cwd: other, env })).exitCode).toBe(0);
  });

  it("refuses to save a home with a huge (sparse) file, and saves nothing", async () => {
    expect(sh(source, "truncate -s 50G ~/sparse && rm -f ~/fifo").exitCode).toBe(0);
    const started = Date.now();
    const refused = await runSbx(["save", `${template}-big`], { cwd: project, env: { ...env, SBX_TEMPLATE_MAX_BYTES: String(50 * 1024 * 1024) }, timeoutMs: 5 * 60_000 });
    sh(source, "rm -f ~/sparse");
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain("SBX_TEMPLATE_TOO_LARGE");
    expect(Date.now() - started).toBeLessThan(4 * 60_000);
    const listed = JSON.parse((await runSbx(["ls", "--templates", "--json"], { cwd: project, env })).stdout);
    expect(listed.map((row: { template: string }) => row.template)).toEqual([template]);
  });
});
