import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

import { createRefusePolicy } from "./index.js";

// Real directories and links, as a Silverblue `/home → var/home` or an automounted home has them.
const root = realpathSync(mkdtempSync(join(tmpdir(), "sbx-real-path-")));
const realHome = join(root, "real-home");
const linkedHome = join(root, "home");
mkdirSync(join(realHome, ".ssh"), { recursive: true });
writeFileSync(join(realHome, ".ssh/id_rsa"), "not a real key");
mkdirSync(join(realHome, "src/app"), { recursive: true });
mkdirSync(join(root, "elsewhere"), { recursive: true });
symlinkSync(realHome, linkedHome);
symlinkSync(join(realHome, ".ssh"), join(root, "elsewhere/keys"));
symlinkSync(join(realHome, ".ssh/id_rsa"), join(root, "elsewhere/key-file"));

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("hole 3: mounts are judged by real path", () => {
  it("hole 3: refuses the real home when HOME is reached through a symlink", () => {
    const policy = createRefusePolicy({ home: linkedHome });
    const decision = policy.checkMount(realHome);
    expect(decision).toMatchObject({ action: "refuse", rule: "mount-deny-list" });
    expect(decision.action === "refuse" && decision.reason).toContain("~/.ssh");
  });

  it("hole 3: refuses the symlinked home itself, and ~/.ssh reached through it", () => {
    const policy = createRefusePolicy({ home: realHome });
    expect(policy.checkMount(linkedHome).action).toBe("refuse");
    expect(policy.checkMount(join(linkedHome, ".ssh")).action).toBe("refuse");
  });

  it("hole 3: refuses a path that is a symlink to ~/.ssh or to a key inside it", () => {
    const policy = createRefusePolicy({ home: linkedHome });
    expect(policy.checkMount(join(root, "elsewhere/keys"))).toMatchObject({ action: "refuse", path: join(realHome, ".ssh") });
    expect(policy.checkMount(join(root, "elsewhere/key-file"))).toMatchObject({ action: "refuse", path: join(realHome, ".ssh/id_rsa") });
  });

  it("hole 3: refuses a user deny-list entry reached through a link, and a path below a link that does not exist yet", () => {
    const policy = createRefusePolicy({ home: realHome, denyPaths: [join(linkedHome, "src/app/secrets")] });
    expect(policy.checkMount(join(realHome, "src/app/secrets/db.env"))).toMatchObject({ action: "refuse", rule: "mount-user-deny-list" });
    // Not there yet: the nearest existing ancestor (the linked home) is resolved.
    expect(policy.checkMount(join(linkedHome, ".ssh/new-key"))).toMatchObject({ action: "refuse", path: join(realHome, ".ssh/new-key") });
  });

  it("hole 3: allows an ordinary project through a link and hands back the resolved path to mount", () => {
    const policy = createRefusePolicy({ home: linkedHome });
    expect(policy.checkMount(join(linkedHome, "src/app"))).toEqual({ action: "allow", path: join(realHome, "src/app") });
  });
});

describe("hole 9: profile mount targets", () => {
  const policy = createRefusePolicy();

  it.each([
    "/home/sandbox",
    "/home/sandbox/",
    "/home/sandbox/.llm",
    "/home/sandbox/.llm/claude",
    "/home/sandbox/.sbx",
    "/home/sandbox/.claude",
    "/home",
    "/run/secrets",
    "/run",
    "/opt/sbx",
    "/opt",
    "/workspace",
    "/workspace/data",
    "/",
    "/proc",
    "/sys/fs",
    "/dev",
    "/etc",
    "/usr/local/bin",
    "/bin",
    "/lib",
    "/var",
    "/tmp",
    "/mnt/../workspace",
  ])("hole 9: refuses the target %s", (target) => {
    const decision = policy.checkMountTarget(target);
    expect(decision).toMatchObject({ action: "refuse", rule: "mount-target-reserved" });
  });

  it.each(["data", "./data", "~/data", ""])("hole 9: refuses the relative target %j", (target) => {
    expect(policy.checkMountTarget(target)).toMatchObject({ action: "refuse", rule: "mount-target-relative" });
  });

  it.each([["/mnt/datasets", "/mnt/datasets"], ["/data/", "/data"], ["/srv/cache", "/srv/cache"], ["/var/cache/pip", "/var/cache/pip"]])("hole 9: allows %s", (target, path) => {
    expect(policy.checkMountTarget(target)).toEqual({ action: "allow", path });
  });
});
