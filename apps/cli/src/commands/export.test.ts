import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import type { ContainerRuntime, ExecOptions, ExecResult } from "@sbx/container-runtime";
import { afterEach, describe, expect, it } from "vitest";
import { exportCommand } from "./export.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../../test-fixtures/transcripts");
const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function fakeHome(): string {
  const home = mkdtempSync(join(tmpdir(), "sbx-cli-export-"));
  homes.push(home);
  const project = join(home, ".claude", "projects", "-work-demo");
  mkdirSync(project, { recursive: true });
  cpSync(join(FIXTURES, "S2thend__claude-code-history__corrupted-session.jsonl"), join(project, "test-corrupt-001.jsonl"));
  const codex = join(home, "codex-home", "sessions", "2025", "10", "21");
  mkdirSync(codex, { recursive: true });
  cpSync(join(FIXTURES, "yoavf__ai-sessions__codex-pomodor-timer.jsonl"), join(codex, "rollout-2025-10-21T20-02-50-019a085e.jsonl"));
  return home;
}

async function run(options: Omit<Parameters<typeof exportCommand>[0], "stdout">): Promise<{ code: number; output: string }> {
  const stdout = new PassThrough();
  let output = "";
  stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const code = await exportCommand({ ...options, stdout });
  return { code, output };
}

/** A fresh home whose `sessions` directory holds one Claude session file, and the inbox an export there writes. */
async function homeWithSession(prefix: string, fileName: string, session: string): Promise<{ home: string; source: string; inbox: string }> {
  const { writeFileSync } = await import("node:fs");
  const home = mkdtempSync(join(tmpdir(), prefix));
  homes.push(home);
  const source = join(home, "sessions");
  mkdirSync(source);
  writeFileSync(join(source, fileName), session);
  return { home, source, inbox: join(home, "inbox") };
}

describe("sbx export", () => {
  it("exports every agent's default directory into ~/sbx-inbox and lists malformed lines", async () => {
    const home = fakeHome();
    const { code, output } = await run({ env: { CODEX_HOME: join(home, "codex-home") }, home });
    expect(code).toBe(0);
    expect(output).toContain("written 2, unchanged 0, malformed 2 lines");
    expect(output).toMatch(/test-corrupt-001\.jsonl:3: invalid JSON/);
    expect(output).toMatch(/test-corrupt-001\.jsonl:4: invalid JSON/);
    expect(readdirSync(join(home, "sbx-inbox", "conversations")).filter((name) => !name.startsWith("."))).toHaveLength(2);

    const again = await run({ env: { CODEX_HOME: join(home, "codex-home") }, home });
    expect(again.output).toContain("written 0, unchanged 2, malformed 0 lines");
  });

  it("writes to $SANDBOX_INBOX_DIR and limits itself to --agent", async () => {
    const home = fakeHome();
    const inbox = join(home, "elsewhere");
    const { code, output } = await run({ env: { SANDBOX_INBOX_DIR: inbox, CODEX_HOME: join(home, "codex-home") }, home, agent: "codex", json: true });
    expect(code).toBe(0);
    const result = JSON.parse(output) as { written: number; inbox: string };
    expect(result).toMatchObject({ written: 1, inbox });
    expect(existsSync(join(inbox, "conversations"))).toBe(true);
  });

  it("says where it looked when the agent has no session directory", async () => {
    const home = fakeHome();
    const { code, output } = await run({ env: {}, home, agent: "gemini" });
    expect(code).toBe(1);
    expect(output).toContain(`No gemini sessions at ${join(home, ".gemini", "tmp")}.`);
    expect(output).toContain("hint: Pass --source");
  });

  describe("with the project's running sandbox", () => {
    /** A sandbox whose state volume holds no sessions yet; or one that cannot be reached. */
    const fakeSandbox = (exec: (options: ExecOptions) => Promise<ExecResult>) => ({
      runtime: { exec: (_container: string, options: ExecOptions) => exec(options) } as unknown as ContainerRuntime,
      container: "sbx-demo-1234",
      volumeName: "me-llm",
      projectId: "demo-1234",
    });
    const empty = async (): Promise<ExecResult> => ({ exitCode: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });

    it("syncs the sandbox into its project's cache first, then the host directories", async () => {
      const home = fakeHome();
      const cache = join(home, "xdg-cache");
      const { code, output } = await run({ env: { CODEX_HOME: join(home, "codex-home"), XDG_CACHE_HOME: cache }, home, sandbox: fakeSandbox(empty), json: true });
      expect(code).toBe(0);
      const result = JSON.parse(output) as { sandbox: { container: string; cacheDir: string; copiedBytes: number }; written: number };
      expect(result.sandbox).toMatchObject({ container: "sbx-demo-1234", cacheDir: join(cache, "sbx", "sessions", "me-llm", "demo-1234"), copiedBytes: 0 });
      expect(result.written).toBe(2);
    });

    it("still exports the host when the sandbox cannot be read, and says so", async () => {
      const home = fakeHome();
      const broken = fakeSandbox(async () => {
        throw new Error("The container is not running (exited).");
      });
      const { code, output } = await run({ env: { CODEX_HOME: join(home, "codex-home") }, home, sandbox: broken });
      expect(code).toBe(1);
      expect(output).toContain("sandbox sbx-demo-1234: sync failed: The container is not running (exited).");
      expect(output).toContain("written 2, unchanged 0");
    });

    it("does not require a host directory for --agent when the sandbox was a source", async () => {
      const home = fakeHome();
      const { code, output } = await run({ env: {}, home, agent: "gemini", sandbox: fakeSandbox(empty) });
      expect(code).toBe(0);
      expect(output).toContain("sandbox sbx-demo-1234: copied 0 new bytes of 0 session files");
    });
  });
});

describe("sbx export redacts by default", () => {
  it("leaves none of ten planted token families anywhere in the inbox, file names included, and --no-redact keeps them", async () => {
    const { exportRedactor } = await import("./export-redactor.js");
    const { plantedTokens, sessionWithTokens } = await import("../test-support/planted-tokens.js");
    const { readFileSync } = await import("node:fs");
    const tokens = plantedTokens();
    const { home, source, inbox } = await homeWithSession("sbx-export-redact-", "5e55a0b1-0000-4000-8000-00000000beef.jsonl", sessionWithTokens(tokens));
    const everything = (): string[] => {
      const found: string[] = [];
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          found.push(path);
          if (entry.isDirectory()) walk(path);
          else found.push(readFileSync(path, "latin1"));
        }
      };
      walk(inbox);
      return found;
    };
    const redact = await exportRedactor({ home, env: {}, cwd: home });
    const code = await exportCommand({ source, inbox, agent: "claude", env: {}, home, stdout: new PassThrough(), redact });
    expect(code).toBe(0);
    const leaked = Object.entries(tokens).filter(([, token]) => everything().some((text) => text.includes(token)));
    expect(leaked.map(([family]) => family)).toEqual([]);
    const note = everything().find((text) => text.startsWith("---\n")) ?? "";
    for (const family of Object.keys(tokens)) expect(note).toContain(`[REDACTED:${family}]`);

    const raw = await exportCommand({ source, inbox: join(home, "raw-inbox"), agent: "claude", env: {}, home, stdout: new PassThrough() });
    expect(raw).toBe(0);
    const rawNotes = readdirSync(join(home, "raw-inbox", "conversations"), { recursive: true }).map(String).filter((name) => name.endsWith(".md"));
    expect(readFileSync(join(home, "raw-inbox", "conversations", rawNotes[0] as string), "utf8")).toContain(Object.values(tokens)[0]);
  });
});

describe("secrets a command printed alone on a line, as the note shows a tool's result (session 14)", () => {
  it("leaves none of them in the note, each where the command's output is", async () => {
    const { exportRedactor } = await import("./export-redactor.js");
    const { sessionWithCommands } = await import("../test-support/planted-tokens.js");
    const { randomBytes } = await import("node:crypto");
    const { readFileSync } = await import("node:fs");
    const b64 = (bytes: number): string => randomBytes(bytes).toString("base64");
    const hex = (bytes: number): string => randomBytes(bytes).toString("hex");
    const word = (length: number): string => `${b64(length).replace(/[+/=]/g, "").slice(0, length - 2)}7q`;
    // Each command with the secret it prints and its whole output.
    const uuid = (): string => [hex(4), hex(2), hex(2), hex(2), hex(6)].join("-");
    const cases: Array<[string, string, (secret: string) => string]> = [
      ["docker exec jenkins cat /var/jenkins_home/secrets/initialAdminPassword", hex(16), (secret) => `${secret}\n`],
      ["docker logs jenkins 2>&1 | tail -8", hex(16), (secret) => `Jenkins initial setup is required. An admin user has been created and a password generated.\nPlease use the following password to proceed to installation:\n\n${secret}\n\nThis may also be found at: /var/jenkins_home/secrets/initialAdminPassword\n`],
      ["kubectl -n argocd get secret argocd-initial-admin-secret -o jsonpath='{.data.password}' | base64 -d", word(16), (secret) => secret],
      ["kubectl get secret db-creds -o jsonpath='{.data.password}' | base64 --decode", word(20), (secret) => secret],
      ["openssl rand -base64 32", b64(32), (secret) => `${secret}\n`],
      ["openssl rand -hex 32", hex(32), (secret) => `${secret}\n`],
      [`python3 -c "import secrets; print(secrets.token_urlsafe(32))"`, b64(32).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""), (secret) => `${secret}\n`],
      [`node -e "console.log(require('crypto').randomBytes(32).toString('hex'))"`, hex(32), (secret) => `${secret}\n`],
      ["vault kv get -field=password secret/app/db", word(18), (secret) => secret],
      ["aws secretsmanager get-secret-value --secret-id prod/api --query SecretString --output text", word(24), (secret) => `${secret}\n`],
      ["op read op://Private/github/token", word(22), (secret) => `${secret}\n`],
      ["security find-generic-password -s deploy -a ci -w", word(18), (secret) => `${secret}\n`],
      ["gcloud secrets versions access latest --secret=db-password", word(20), (secret) => secret],
      ["heroku auth:token", uuid(), (secret) => ` ›   Warning: token will expire 12/31/2026\n${secret}\n`],
      ["wg genkey", b64(32), (secret) => `${secret}\n`],
      ["echo $DB_PASSWORD", word(18), (secret) => `${secret}\n`],
      ["docker exec app cat /run/secrets/api_token", word(24), (secret) => secret],
    ];
    const runs = cases.map(([command, secret, output]) => ({ command, output: output(secret) }));
    const printed = cases.map(([, secret]) => secret);
    const { home, source, inbox } = await homeWithSession("sbx-export-printed-", "5e55a0b1-0000-4000-8000-00000000c0de.jsonl", sessionWithCommands(runs));
    const code = await exportCommand({ source, inbox, agent: "claude", env: {}, home, stdout: new PassThrough(), redact: await exportRedactor({ home, env: {}, cwd: home }) });
    expect(code).toBe(0);
    const notes = readdirSync(join(inbox, "conversations"), { recursive: true }).map(String).filter((name) => name.endsWith(".md"));
    const note = readFileSync(join(inbox, "conversations", notes[0] as string), "utf8");
    expect(note).toContain("**Result**");
    expect(runs.filter((_, n) => note.includes(printed[n] as string)).map(({ command }) => command)).toEqual([]);
  });
});

describe("two sbx export processes into one inbox", () => {
  it("both finish, one after the other, and the state file holds both sets of sessions", async () => {
    const { runSbx } = await import("../test-support/run-sbx.js");
    const { readFileSync } = await import("node:fs");
    const home = mkdtempSync(join(tmpdir(), "sbx-export-two-"));
    homes.push(home);
    const names = readdirSync(FIXTURES).filter((name) => name.endsWith(".jsonl") && !/codex|rollout-|v040|kvsankar|corrupted|edge_cases/.test(name));
    const sources = [join(home, "a"), join(home, "b")];
    names.forEach((name, index) => {
      const source = sources[index % 2] as string;
      mkdirSync(source, { recursive: true });
      cpSync(join(FIXTURES, name), join(source, name));
    });
    const inbox = join(home, "inbox");
    const env = { PATH: process.env.PATH, HOME: home, SBX_NO_DOCKER_CLI: "1", DOCKER_HOST: "unix:///nonexistent.sock" };
    const runs = await Promise.all(sources.map((source) => runSbx(["export", "--source", source, "--inbox", inbox, "--agent", "claude", "--no-redact", "--json"], { cwd: home, env })));
    for (const run of runs) expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const written = runs.map((run) => (JSON.parse(run.stdout) as { written: number }).written);
    expect(written.reduce((a, b) => a + b, 0)).toBe(names.length);
    const state = JSON.parse(readFileSync(join(inbox, "conversations", ".sbx-export-state.json"), "utf8")) as { sessions: Record<string, unknown> };
    expect(Object.keys(state.sessions).sort()).toEqual(names.map((name, index) => join(sources[index % 2] as string, name)).sort());
  }, 120_000);
});
