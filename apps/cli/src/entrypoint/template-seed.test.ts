import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seedHomeFromTemplate } from "./template-seed.js";

function fixture() {
  const root = mkdtempSync(join(tmpdir(), "sbx-seed-"));
  const template = join(root, "template-home");
  const home = join(root, "home");
  const runtimeDir = join(root, "run");
  mkdirSync(join(template, ".local", "bin"), { recursive: true });
  writeFileSync(join(template, ".local", "bin", "tool"), "#!/bin/sh\necho tool\n", { mode: 0o755 });
  symlinkSync("tool", join(template, ".local", "bin", "tool-link"));
  writeFileSync(join(template, "kept.txt"), "from the template");
  mkdirSync(home);
  mkdirSync(runtimeDir);
  return { template, home, runtimeDir };
}

describe("seeding the home from a template", () => {
  it("copies the template home in, links as links, modes kept, never over what is there", () => {
    const { template, home, runtimeDir } = fixture();
    writeFileSync(join(home, "kept.txt"), "already here");
    expect(seedHomeFromTemplate({ home, templateHome: template, runtimeDir })).toBe("seeded");
    expect(readFileSync(join(home, ".local", "bin", "tool"), "utf8")).toContain("echo tool");
    expect(lstatSync(join(home, ".local", "bin", "tool")).mode & 0o777).toBe(0o755);
    expect(readlinkSync(join(home, ".local", "bin", "tool-link"))).toBe("tool");
    expect(readFileSync(join(home, "kept.txt"), "utf8")).toBe("already here");
  });

  it("seeds once per start: a second caller (the install beside idle) waits for the first", () => {
    const { template, home, runtimeDir } = fixture();
    expect(seedHomeFromTemplate({ home, templateHome: template, runtimeDir })).toBe("seeded");
    expect(seedHomeFromTemplate({ home, templateHome: template, runtimeDir, waitMs: 1000 })).toBe("waited");
  });

  it("does nothing in a sandbox image without a template", () => {
    const { home, runtimeDir } = fixture();
    expect(seedHomeFromTemplate({ home, templateHome: join(home, "none"), runtimeDir })).toBe("none");
  });
});
