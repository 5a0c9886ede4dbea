import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isSbxError } from "@sbx/errors";
import { writeFileAtomic, writeFileAtomicSync } from "./index.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "sbx-atomic-"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe.each([
  ["writeFileAtomicSync", async (...args: Parameters<typeof writeFileAtomicSync>) => writeFileAtomicSync(...args)],
  ["writeFileAtomic", writeFileAtomic],
])("%s", (_name, write) => {
  it("replaces the file whole, with the mode asked for, and leaves no temp file", async () => {
    const file = join(root, "dir", "login.json");
    await write(file, "first", { mode: 0o600 });
    await write(file, "second", { mode: 0o600 });
    expect(readFileSync(file, "utf8")).toBe("second");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, "dir"))).toEqual(["login.json"]);
  });

  it("replaces a symlink planted at the destination instead of writing through it", async () => {
    const outside = join(root, "outside.txt");
    writeFileSync(outside, "untouched");
    mkdirSync(join(root, "state"));
    symlinkSync(outside, join(root, "state", "login.json"));
    await write(join(root, "state", "login.json"), "secret", { within: join(root, "state") });
    expect(readFileSync(outside, "utf8")).toBe("untouched");
    expect(lstatSync(join(root, "state", "login.json")).isSymbolicLink()).toBe(false);
  });

  it("refuses a parent directory that a symlink leads outside the confining directory", async () => {
    mkdirSync(join(root, "state"));
    mkdirSync(join(root, "workspace"));
    symlinkSync(join(root, "workspace"), join(root, "state", ".claude"));
    const attempt = write(join(root, "state", ".claude", ".credentials.json"), "secret", { within: join(root, "state") });
    await expect(attempt).rejects.toSatisfy((error: unknown) => isSbxError(error, "SBX_PATH_ESCAPES"));
    expect(readdirSync(join(root, "workspace"))).toEqual([]);
  });

  it("refuses a link deeper down the path and a dangling link, creating nothing through them", async () => {
    mkdirSync(join(root, "state", "claude"), { recursive: true });
    symlinkSync(join(root, "elsewhere"), join(root, "state", "claude", "sub"));
    const deep = write(join(root, "state", "claude", "sub", "x", "file"), "secret", { within: join(root, "state") });
    await expect(deep).rejects.toSatisfy((error: unknown) => isSbxError(error, "SBX_PATH_ESCAPES"));
    expect(existsSync(join(root, "elsewhere"))).toBe(false);
  });

  it("follows a link that stays inside the confining directory (the sandbox's own ~/.claude → .llm/claude)", async () => {
    mkdirSync(join(root, "home", ".llm", "claude"), { recursive: true });
    symlinkSync(".llm/claude", join(root, "home", ".claude"));
    const written = await write(join(root, "home", ".claude", ".credentials.json"), "secret", { within: join(root, "home", ".llm") });
    expect(written).toBe(join(root, "home", ".llm", "claude", ".credentials.json"));
    expect(readFileSync(written, "utf8")).toBe("secret");
  });

  it("creates missing directories inside the confining directory", async () => {
    mkdirSync(join(root, "state"));
    await write(join(root, "state", "a", "b", "file"), "x", { within: join(root, "state") });
    expect(readFileSync(join(root, "state", "a", "b", "file"), "utf8")).toBe("x");
    expect(statSync(join(root, "state", "a")).mode & 0o777).toBe(0o700);
  });

  it("leaves what stood at the destination and no temp file when the rename fails", async () => {
    // A directory at the destination makes the final rename fail (EISDIR), as a full disk would fail the write.
    mkdirSync(join(root, "dest", "note.md"), { recursive: true });
    writeFileSync(join(root, "dest", "note.md", "kept"), "old");
    await expect(write(join(root, "dest", "note.md"), "new")).rejects.toThrow();
    expect(readdirSync(join(root, "dest"))).toEqual(["note.md"]);
    expect(readFileSync(join(root, "dest", "note.md", "kept"), "utf8")).toBe("old");
  });
});

describe("openFileAtomicSync", () => {
  it("shows the old file until commit, then the whole new one, and leaves no temp file", async () => {
    const { openFileAtomicSync } = await import("./index.js");
    const { writeSync } = await import("node:fs");
    const file = join(root, "note.md");
    writeFileSync(file, "old");
    const handle = openFileAtomicSync(file, { mode: 0o644 });
    writeSync(handle.fd, "new ");
    writeSync(handle.fd, "content");
    expect(readFileSync(file, "utf8")).toBe("old");
    handle.commit();
    expect(readFileSync(file, "utf8")).toBe("new content");
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readdirSync(root)).toEqual(["note.md"]);
  });

  it("abort leaves the destination untouched and removes the temp file", async () => {
    const { openFileAtomicSync } = await import("./index.js");
    const { writeSync } = await import("node:fs");
    const file = join(root, "note.md");
    writeFileSync(file, "old");
    const handle = openFileAtomicSync(file);
    writeSync(handle.fd, "half");
    handle.abort();
    expect(readFileSync(file, "utf8")).toBe("old");
    expect(readdirSync(root)).toEqual(["note.md"]);
  });
});
