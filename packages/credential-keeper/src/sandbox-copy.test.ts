import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SANDBOX_STATE_DIR, pollSandboxStores, SANDBOX_PROGRAMS, sha256, writeSandboxStore } from "./sandbox-copy.js";
import { LocalRuntime } from "./test-support/local-runtime.js";

const LOGIN = JSON.stringify({ claudeAiOauth: { accessToken: "at-SECRET", refreshToken: "rt-SECRET", expiresAt: 1 } });

function sandbox() {
  const dir = mkdtempSync(join(tmpdir(), "sbx-keeper-copy-"));
  for (const store of ["claude", "codex", "gemini", "opencode"]) mkdirSync(join(dir, store));
  const runtime = new LocalRuntime();
  runtime.addContainer("box", { "dev.sbx.login": "ada" }, dir);
  return { dir, runtime };
}

describe("the sandbox copy, through exec", () => {
  it("reads every store in one exec, then only stats until something changes", async () => {
    const { dir, runtime } = sandbox();
    writeFileSync(join(dir, "claude", ".credentials.json"), LOGIN);
    const first = await pollSandboxStores(runtime, "box", undefined);
    expect(first?.reads?.claude).toEqual({ status: "ok", data: Buffer.from(LOGIN) });
    expect(first?.reads?.codex).toEqual({ status: "absent" });
    const second = await pollSandboxStores(runtime, "box", first?.signature);
    expect(second).toEqual({ signature: first?.signature });
    writeFileSync(join(dir, "gemini", "oauth_creds.json"), "{}");
    const third = await pollSandboxStores(runtime, "box", first?.signature);
    expect(third?.reads?.gemini).toEqual({ status: "ok", data: Buffer.from("{}") });
    expect(runtime.execs).toHaveLength(3);
  });

  it("refuses a store that is a symlink, sits in a symlinked directory, is a FIFO or is over 64 KiB", async () => {
    const { dir, runtime } = sandbox();
    const elsewhere = mkdtempSync(join(tmpdir(), "sbx-keeper-elsewhere-"));
    writeFileSync(join(elsewhere, "auth.json"), LOGIN);
    symlinkSync(join(elsewhere, "auth.json"), join(dir, "claude", ".credentials.json"));
    execFileSync("rm", ["-r", join(dir, "codex")]);
    symlinkSync(elsewhere, join(dir, "codex"));
    execFileSync("mkfifo", [join(dir, "gemini", "oauth_creds.json")]);
    writeFileSync(join(dir, "opencode", "auth.json"), Buffer.alloc(64 * 1024 + 1, 32));
    const poll = await pollSandboxStores(runtime, "box", undefined);
    expect(poll?.reads).toEqual({
      claude: { status: "refused", reason: "a symlink" },
      codex: { status: "refused", reason: "a symlink" },
      gemini: { status: "refused", reason: "not a regular file" },
      opencode: { status: "refused", reason: "larger than 64 KiB" },
    });
  });

  it("writes by compare-and-swap: a store that changed since the keeper read it is left as it is", async () => {
    const { dir, runtime } = sandbox();
    const file = join(dir, "claude", ".credentials.json");
    writeFileSync(file, LOGIN, { mode: 0o644 });
    const stale = sha256(Buffer.from("what the keeper saw before the agent refreshed"));
    expect(await writeSandboxStore(runtime, "box", "claude", Buffer.from("{}"), stale)).toBe("conflict");
    expect(readFileSync(file, "utf8")).toBe(LOGIN);

    expect(await writeSandboxStore(runtime, "box", "claude", Buffer.from('{"new":1}'), sha256(Buffer.from(LOGIN)))).toBe("written");
    expect(readFileSync(file, "utf8")).toBe('{"new":1}');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, "claude"))).toEqual([".credentials.json"]);
  });

  it("never writes through a link the agent planted, and never creates a store", async () => {
    const { dir, runtime } = sandbox();
    const elsewhere = mkdtempSync(join(tmpdir(), "sbx-keeper-elsewhere-"));
    execFileSync("rm", ["-r", join(dir, "claude")]);
    symlinkSync(elsewhere, join(dir, "claude"));
    expect(await writeSandboxStore(runtime, "box", "claude", Buffer.from("{}"), "absent")).toBe("refused");
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it("writes Codex's login under Codex's own auth.lock", async () => {
    const { dir, runtime } = sandbox();
    const file = join(dir, "codex", "auth.json");
    writeFileSync(file, "{}");
    // Codex holds its lock (flock on auth.lock) for longer than the keeper waits: no write happens.
    const holder = spawn("flock", [join(dir, "codex", "auth.lock"), "sleep", "8"], { stdio: "ignore" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await writeSandboxStore(runtime, "box", "codex", Buffer.from('{"tokens":1}'), sha256(Buffer.from("{}")))).toBe("failed");
    expect(readFileSync(file, "utf8")).toBe("{}");
    holder.kill();
    await new Promise((resolve) => holder.on("exit", resolve));
    expect(await writeSandboxStore(runtime, "box", "codex", Buffer.from('{"tokens":1}'), sha256(Buffer.from("{}")))).toBe("written");
  }, 20_000);

  it("keeps the login's bytes out of every argv and env it runs", async () => {
    const { dir, runtime } = sandbox();
    writeFileSync(join(dir, "claude", ".credentials.json"), LOGIN);
    const poll = await pollSandboxStores(runtime, "box", undefined);
    await writeSandboxStore(runtime, "box", "claude", Buffer.from(LOGIN.replace("rt-SECRET", "rt-SECRET-2")), sha256(Buffer.from(LOGIN)));
    expect(poll?.reads?.claude.status).toBe("ok");
    const seen = JSON.stringify(runtime.execs);
    expect(seen).not.toContain("SECRET");
    expect(runtime.execs.every((exec) => exec.env === undefined)).toBe(true);
    // Every argument is fixed program text, a fixed word, or the state directory.
    const programs = new Set<string>(Object.values(SANDBOX_PROGRAMS));
    const words = ["sh", "-c", "node", "-e", "sbx-keeper-poll", "sbx-keeper-write", DEFAULT_SANDBOX_STATE_DIR, "claude", ""];
    for (const exec of runtime.execs) for (const arg of exec.cmd) if (!programs.has(arg)) expect(words).toContain(arg);
  });
});
