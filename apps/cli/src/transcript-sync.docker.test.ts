/**
 * Transcript sync against the real Docker engine: sessions written inside a running container (on a
 * named volume, as in a sandbox) are mirrored out by exec and exported into a host inbox. They run in
 * CI (SBX_REQUIRE_DOCKER=1); elsewhere, without an engine or a base image, they report themselves
 * skipped with the reason.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DockerRuntime } from "@sbx/container-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { docker } from "./test-support/docker-cli.js";
import { syncSandboxTranscripts, type SyncResult } from "./transcript-sync.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test-fixtures/transcripts");
const STATE = "/home/sandbox/.llm";
const CLAUDE_SESSION = `${STATE}/claude/projects/-workspace/36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2.jsonl`;
const CODEX_ROLLOUT = `${STATE}/codex/sessions/2025/10/21/rollout-2025-10-21T20-02-50-019a085e.jsonl`;
const TIMEOUT = 60_000;

/** A user turn that continues the pomodoro fixture, carrying `marker` so the note can be searched. */
function userLine(marker: string, parentUuid: string, uuid: string): string {
  return `${JSON.stringify({
    parentUuid,
    isSidechain: false,
    userType: "external",
    cwd: "/workspace",
    sessionId: "36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2",
    version: "2.0.24",
    gitBranch: "",
    type: "user",
    message: { role: "user", content: `Please also add a dark mode toggle (${marker}).` },
    uuid,
    timestamp: "2025-10-21T20:10:30.000Z",
  })}\n`;
}

describe.skipIf(!environment.available)(`transcript sync from a running sandbox${skipReason}`, () => {
  const image = environment.available ? environment.image : "";
  const suffix = randomBytes(4).toString("hex");
  const volume = `sbx-test-transcripts-${suffix}`;
  const containers: string[] = [];
  let runtime: DockerRuntime;
  let container = "";
  let host = "";
  let cacheDir = "";
  let inbox = "";
  let claudeNote = "";

  const startContainer = async (): Promise<string> => {
    const name = `sbx-test-transcripts-${suffix}-${containers.length}`;
    containers.push(name);
    await runtime.createContainer({
      name,
      image,
      user: "1000:1000",
      cmd: ["sh", "-c", "sleep 3600"],
      mounts: [{ type: "volume", source: volume, target: STATE }],
    });
    await runtime.startContainer(name);
    return name;
  };
  // The agent's writes, done as root: the fresh volume's root belongs to root and ALL caps are
  // dropped, so the sandbox user could not create the tree. Files stay world-readable, as the
  // sync itself runs as the container's user (1000).
  const write = async (path: string, bytes: string | Buffer, mode: ">" | ">>" = ">") => {
    const run = await runtime.exec(container, { user: "0:0", cmd: ["sh", "-c", `mkdir -p "$(dirname "$1")" && cat ${mode} "$1"`, "sh", path], stdin: bytes });
    expect(run.exitCode, run.stderr.toString()).toBe(0);
  };
  const sync = (): Promise<SyncResult> => syncSandboxTranscripts(runtime, container, { cacheDir, inbox });

  beforeAll(async () => {
    runtime = new DockerRuntime();
    host = mkdtempSync(join(tmpdir(), "sbx-transcript-docker-"));
    cacheDir = join(host, "cache", volume);
    inbox = join(host, "inbox");
    await runtime.ensureVolume(volume, { "dev.sbx.test": "transcript-sync" });
    container = await startContainer();
  }, TIMEOUT);

  afterAll(async () => {
    for (const name of containers) await runtime.removeContainer(name).catch(() => undefined);
    await runtime.removeVolume(volume).catch(() => undefined);
    runtime.close();
    rmSync(host, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    "exports a Claude session and a Codex rollout into the inbox, with their frontmatter",
    async () => {
      await write(CLAUDE_SESSION, readFileSync(join(FIXTURES, "yoavf__ai-sessions__claude-code-pomodoro-timer.jsonl")));
      await write(CODEX_ROLLOUT, readFileSync(join(FIXTURES, "yoavf__ai-sessions__codex-pomodor-timer.jsonl")));
      const result = await sync();
      expect(result).toMatchObject({ written: 2, unchanged: 0, failed: [], files: 2 });
      expect(result.copiedBytes).toBeGreaterThan(300_000);
      const notes = result.notes.map((path) => readFileSync(path, "utf8"));
      const claude = notes.find((note) => note.includes("agent: claude")) ?? "";
      const codex = notes.find((note) => note.includes("agent: codex")) ?? "";
      expect(claude).toMatch(/^---\n/);
      expect(claude).toContain("session_id: 36d9e1bc-63bf-4e97-8a3e-2b20ba8583f2");
      expect(claude).toContain("title: 'Build a simple Pomodoro timer web app using HTML, CSS, and JavaScript.'");
      expect(claude).toContain("## user");
      expect(codex).toMatch(/^---\n/);
      expect(codex).toMatch(/session_id: \S+/);
      claudeNote = result.notes.find((path) => readFileSync(path, "utf8").includes("agent: claude")) ?? "";
      expect(claudeNote).toMatch(/conversations\/2025-10-21T20-04-22Z\/build-a-simple-pomodoro-timer/);
    },
    TIMEOUT,
  );

  it(
    "writes nothing and copies nothing when nothing changed (one exec)",
    async () => {
      const started = performance.now();
      const result = await sync();
      const elapsed = performance.now() - started;
      expect(result).toMatchObject({ written: 0, unchanged: 2, copiedBytes: 0, failed: [] });
      console.info(`no-change sync of 2 sessions: ${elapsed.toFixed(0)} ms`);
      expect(elapsed).toBeLessThan(5000);
    },
    TIMEOUT,
  );

  it(
    "copies only an appended line's bytes and rewrites exactly that session's note",
    async () => {
      const line = userLine("MARKER-APPEND", "d83ac5d7-a841-47c5-8e08-1cf1778c1c49", "aaaaaaaa-0000-4000-8000-000000000001");
      await write(CLAUDE_SESSION, line, ">>");
      const result = await sync();
      expect(result).toMatchObject({ written: 1, unchanged: 1, copiedBytes: Buffer.byteLength(line), notes: [claudeNote] });
      expect(readFileSync(claudeNote, "utf8")).toContain("MARKER-APPEND");
    },
    TIMEOUT,
  );

  it(
    "picks up a half-written last line once it is complete",
    async () => {
      const line = userLine("MARKER-HALF", "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002");
      const cut = Math.floor(line.length / 2);
      await write(CLAUDE_SESSION, line.slice(0, cut), ">>");
      const partial = await sync();
      expect(partial.copiedBytes).toBe(Buffer.byteLength(line.slice(0, cut)));
      expect(readFileSync(claudeNote, "utf8")).not.toContain("MARKER-HALF");

      await write(CLAUDE_SESSION, line.slice(cut), ">>");
      const completed = await sync();
      expect(completed).toMatchObject({ written: 1, copiedBytes: Buffer.byteLength(line.slice(cut)), notes: [claudeNote] });
      expect(readFileSync(claudeNote, "utf8")).toContain("MARKER-HALF");
    },
    TIMEOUT,
  );

  it(
    "catches up after the sandbox was killed, from a new container on the same volume",
    async () => {
      const line = userLine("MARKER-CRASH", "aaaaaaaa-0000-4000-8000-000000000002", "aaaaaaaa-0000-4000-8000-000000000003");
      await write(CLAUDE_SESSION, line, ">>");
      docker(["kill", container]);
      await expect(sync()).rejects.toThrow();

      container = await startContainer();
      const result = await sync();
      expect(result).toMatchObject({ written: 1, copiedBytes: Buffer.byteLength(line), notes: [claudeNote] });
      expect(readFileSync(claudeNote, "utf8")).toContain("MARKER-CRASH");
    },
    TIMEOUT,
  );
});
