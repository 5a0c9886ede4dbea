import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ContainerRuntime, ExecOptions, ExecResult } from "@sbx/container-runtime";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pipeSecretBundle } from "@sbx/secret-pipe";
import { followedBySessionListing, LIST_SCRIPT } from "./session-mirror-protocol.js";
import { mirrorSandboxSessions, syncSandboxTranscripts } from "./transcript-sync.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test-fixtures/transcripts");
const temps: string[] = [];
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Buffer#equals, not toEqual: deep-equality on 300 KB is seconds. */
const sameBytes = (a: string, b: string): boolean => readFileSync(a).equals(readFileSync(b));

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sbx-transcript-sync-"));
  temps.push(dir);
  return dir;
}

/** A fake runtime whose exec runs the command on this host, with the sandbox's root moved to a temp dir. */
class LocalShellRuntime {
  readonly driver = "local-shell";
  execs: string[][] = [];

  async exec(_container: string, options: ExecOptions): Promise<ExecResult> {
    this.execs.push(options.cmd);
    const [command, ...args] = options.cmd;
    const child = spawn(command as string, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // Re-chunk oddly so records and headers straddle chunk boundaries.
    child.stdout.on("data", (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += 777) {
        const piece = chunk.subarray(at, at + 777);
        if (options.stdout) options.stdout.write(piece);
        else out.push(piece);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.stdin.on("error", () => {}); // a script that exits early closes its stdin; its exit code tells
    if (typeof options.stdin === "string" || options.stdin instanceof Uint8Array) child.stdin.end(options.stdin);
    else child.stdin.end();
    const exitCode = await new Promise<number>((done) => child.on("close", (code) => done(code ?? 1)));
    return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }
}

const gnuFind = (() => {
  try {
    return execFileSync("find", ["--version"], { encoding: "utf8" }).includes("GNU");
  } catch {
    return false;
  }
})();

describe.skipIf(!gnuFind)("mirrorSandboxSessions (the sandbox's scripts run on this host)", () => {
  const setup = () => {
    const root = tempDir();
    const cacheDir = join(tempDir(), "cache");
    const runtime = new LocalShellRuntime();
    const mirror = () => mirrorSandboxSessions(runtime as unknown as ContainerRuntime, "box", { cacheDir, root });
    return { root, cacheDir, runtime, mirror };
  };
  const put = (root: string, rel: string, content: string | Buffer) => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), content);
  };
  const claudeRel = "claude/projects/-workspace/5c0375b4.jsonl";
  const codexRel = "codex/sessions/2025/10/21/rollout-2025-10-21T20-02-50-019a085e.jsonl";

  it("follows each store's symlink into the project's own directory, as the entrypoint lays them out", async () => {
    const { root, cacheDir, mirror } = setup();
    const session = readFileSync(join(FIXTURES, "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl"));
    put(root, `by-project/app-1a2b3c4d/${claudeRel}`, session);
    put(root, `by-project/other-5e6f7a8b/${codexRel}`, "{}\n");
    mkdirSync(join(root, "claude"), { recursive: true });
    symlinkSync(join(root, "by-project/app-1a2b3c4d/claude/projects"), join(root, "claude/projects"));

    const result = await mirror();
    // Only the linked project's sessions, under the paths the exporter and the cache expect.
    expect(result.files).toBe(1);
    expect(readFileSync(join(cacheDir, claudeRel))).toEqual(session);
  });

  it("copies every session once, then lists only (one exec) when nothing changed", async () => {
    const { root, cacheDir, runtime, mirror } = setup();
    put(root, claudeRel, readFileSync(join(FIXTURES, "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl")));
    put(root, codexRel, readFileSync(join(FIXTURES, "yoavf__ai-sessions__codex-pomodor-timer.jsonl")));
    put(root, "gemini/tmp/ab12/chats/session-1.json", '{"sessionId":"s","messages":[]}');
    put(root, "gemini/tmp/ab12/logs.json", "[]");
    put(root, "claude/projects/-workspace/5c0375b4/tool-results/big.jsonl", "x");
    put(root, "claude/settings.json", "{}");

    const first = await mirror();
    expect(first.files).toBe(3);
    expect(first.execs).toBe(2);
    expect(first.copiedBytes).toBe(statSync(join(root, claudeRel)).size + statSync(join(root, codexRel)).size + 31);
    for (const rel of [claudeRel, codexRel, "gemini/tmp/ab12/chats/session-1.json"]) expect(sameBytes(join(cacheDir, rel), join(root, rel))).toBe(true);
    expect(existsSync(join(cacheDir, "gemini/tmp/ab12/logs.json"))).toBe(false);
    expect(existsSync(join(cacheDir, "claude/projects/-workspace/5c0375b4/tool-results"))).toBe(false);

    runtime.execs = [];
    const second = await mirror();
    expect(second).toMatchObject({ copiedBytes: 0, transferredBytes: 0, files: 3, changed: [], execs: 1 });
    expect(runtime.execs).toHaveLength(1);
  });

  it("takes the listing from the login pipe's exec (followedBySessionListing): the same files, one exec fewer", async () => {
    const { root, cacheDir, runtime } = setup();
    put(root, claudeRel, readFileSync(join(FIXTURES, "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl")));
    put(root, "gemini/tmp/ab12/chats/session-1.json", '{"sessionId":"s","messages":[]}');
    // The real pipe and the real wrapper, with the install's receiving half as a node one-liner
    // that reads the bundle like the entrypoint does and reports one line.
    const install = ["node", "-e", 'const b=require("fs").readFileSync(0);const h=JSON.parse(b.subarray(0,b.indexOf(10)));process.stdout.write(JSON.stringify(h.secrets.map(({secret,bytes,sha256,destination})=>({secret,bytes,sha256,destination,outcome:"installed"}))))'];
    let listing: Buffer | undefined;
    const report = await pipeSecretBundle(runtime as unknown as ContainerRuntime, "box", [{ secret: "s", destination: "~/s", content: "x" }], {
      installCommand: followedBySessionListing(install, root),
      onTrailer: (rest) => (listing = rest),
    });
    expect(report.map((entry) => entry.outcome)).toEqual(["installed"]);
    expect(runtime.execs).toHaveLength(1);
    runtime.execs = [];
    const result = await mirrorSandboxSessions(runtime as unknown as ContainerRuntime, "box", { cacheDir, root, ...(listing ? { listing } : {}) });
    expect(result.files).toBe(2);
    expect(result.execs).toBe(1); // the fetch only
    expect(runtime.execs.every((cmd) => !cmd.includes(LIST_SCRIPT))).toBe(true);
    expect(sameBytes(join(cacheDir, claudeRel), join(root, claudeRel))).toBe(true);
  });

  it("followedBySessionListing keeps the install's failure and lists nothing after it", async () => {
    const { root, runtime } = setup();
    put(root, claudeRel, "{}\n");
    const failed = await runtime.exec("box", { cmd: followedBySessionListing(["sh", "-c", "echo broken >&2; exit 7"], root) });
    expect(failed.exitCode).toBe(7);
    expect(failed.stdout.length).toBe(0);
    // A root that is not there lists nothing and still exits 0 once the command did.
    const empty = await runtime.exec("box", { cmd: followedBySessionListing(["printf", "[]"], join(root, "missing")) });
    expect([empty.exitCode, empty.stdout.toString()]).toEqual([0, "[]\n"]);
  });

  it("fetches only the appended bytes, plus a 4 KiB proof of what the cache already holds", async () => {
    const { root, cacheDir, mirror } = setup();
    put(root, claudeRel, readFileSync(join(FIXTURES, "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl")));
    await mirror();
    const line = `${JSON.stringify({ type: "user", message: { role: "user", content: "one more thing" }, uuid: "u-extra", timestamp: "2025-10-21T21:00:00Z" })}\n`;
    appendFileSync(join(root, claudeRel), line);

    const result = await mirror();
    expect(result).toMatchObject({ copiedBytes: Buffer.byteLength(line), changed: [claudeRel], execs: 2 });
    expect(result.transferredBytes).toBe(Buffer.byteLength(line) + 4096);
    expect(sameBytes(join(cacheDir, claudeRel), join(root, claudeRel))).toBe(true);
  });

  it("mirrors a half-written last line as is and completes it on the next run", async () => {
    const { root, cacheDir, mirror } = setup();
    put(root, codexRel, '{"type":"session_meta","payload":{"id":"x"}}\n{"type":"response_item","pay');
    await mirror();
    appendFileSync(join(root, codexRel), 'load":{}}\n');
    const result = await mirror();
    expect(result.copiedBytes).toBe(10);
    expect(readFileSync(join(cacheDir, codexRel), "utf8")).toBe(readFileSync(join(root, codexRel), "utf8"));
  });

  it("fetches a file whole when it shrank or its cached prefix no longer matches", async () => {
    const { root, cacheDir, mirror } = setup();
    put(root, claudeRel, `${"a".repeat(10_000)}\n`);
    await mirror();
    // Rewritten with different bytes and grown: the proof fails, a second exec fetches it whole.
    put(root, claudeRel, `${"b".repeat(12_000)}\n`);
    const rewritten = await mirror();
    expect(rewritten.execs).toBe(3);
    expect(readFileSync(join(cacheDir, claudeRel), "utf8")).toBe(`${"b".repeat(12_000)}\n`);

    truncateSync(join(root, claudeRel), 100);
    const shrunk = await mirror();
    expect(shrunk).toMatchObject({ copiedBytes: 100, execs: 2 });
    expect(statSync(join(cacheDir, claudeRel)).size).toBe(100);
  });

  it("re-fetches a Gemini chat whole when it is rewritten at the same size", async () => {
    const { root, cacheDir, mirror } = setup();
    const rel = "gemini/tmp/ab12/chats/session-1.json";
    put(root, rel, '{"sessionId":"s","messages":[1]}');
    await mirror();
    put(root, rel, '{"sessionId":"s","messages":[2]}');
    execFileSync("touch", ["-d", "2030-01-01", join(root, rel)]);
    const result = await mirror();
    expect(result.changed).toEqual([rel]);
    expect(readFileSync(join(cacheDir, rel), "utf8")).toContain("[2]");
  });

  it("skips unsafe names and files it cannot read, and never writes outside the cache", async () => {
    const { root, cacheDir, mirror } = setup();
    put(root, "claude/projects/-w/evil\nname.jsonl", "{}\n");
    put(root, "claude/projects/-w/locked.jsonl", "{}\n");
    execFileSync("chmod", ["000", join(root, "claude/projects/-w/locked.jsonl")]);
    put(root, claudeRel, "{}\n");
    const result = await mirror();
    const reasons = result.skipped.map((entry) => `${entry.file.split("/").at(-1)}: ${entry.reason}`).sort();
    // Root reads a mode-000 file anyway, so it is only skipped for everyone else.
    const asRoot = process.getuid?.() === 0;
    expect(reasons).toEqual([`evil\nname.jsonl: unsafe file name; not mirrored`, ...(asRoot ? [] : ["locked.jsonl: not readable in the sandbox; not mirrored"])]);
    expect(result.files).toBe(asRoot ? 2 : 1);
    expect(readdirSync(join(cacheDir, "claude/projects/-w")).filter((name) => name.includes("evil"))).toEqual([]);
    expect(readdirSync(cacheDir).sort()).toEqual([".sbx-mirror.json", "claude"]);
  });

  it("syncs into the inbox and exports nothing on a second run", async () => {
    const { root, cacheDir, runtime } = setup();
    const inbox = tempDir();
    put(root, claudeRel, readFileSync(join(FIXTURES, "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl")));
    put(root, codexRel, readFileSync(join(FIXTURES, "yoavf__ai-sessions__codex-pomodor-timer.jsonl")));
    const sync = () => syncSandboxTranscripts(runtime as unknown as ContainerRuntime, "box", { cacheDir, inbox });
    // The state volume's root is fixed in syncSandboxTranscripts, so point the fake at it.
    const exec = runtime.exec.bind(runtime);
    runtime.exec = (container, options) => exec(container, { ...options, cmd: options.cmd.map((word) => (word === "/home/sandbox/.llm" ? root : word)) });
    const first = await sync();
    expect(first).toMatchObject({ written: 2, failed: [] });
    const second = await sync();
    expect(second).toMatchObject({ written: 0, unchanged: 2, copiedBytes: 0 });
  });
});

