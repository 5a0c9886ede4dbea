import { spawn } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureStateLayout, migrateProjectConversations, PROJECT_STORES } from "./state-layout.js";

const freshHome = () => {
  const home = join(mkdtempSync(join(tmpdir(), "sbx-layout-")), "home");
  mkdirSync(home);
  return home;
};
const quiet = { log: () => undefined };

/** The layout every start-up must leave, however many ran at once. */
function expectWholeLayout(home: string): void {
  const state = join(home, ".llm");
  for (const [link, target] of [
    [".claude", "claude"],
    [".codex", "codex"],
    [".gemini", "gemini"],
    [".local/share/opencode", "opencode"],
    [".claude.json", "claude/.claude.json"],
  ] as const) {
    expect(readlinkSync(join(home, link)), link).toBe(join(state, target));
  }
  for (const store of PROJECT_STORES) {
    expect(readlinkSync(join(state, store)), store).toBe(join(home, ".sbx/project", store));
    expect(lstatSync(join(home, ".sbx/project", store)).isDirectory()).toBe(true);
  }
  // No half-made link swap is left behind.
  const leftovers = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory() ? leftovers(join(dir, entry.name)) : entry.name.endsWith(".tmp") ? [join(dir, entry.name)] : []));
  expect(leftovers(home)).toEqual([]);
}

describe("ensureStateLayout", () => {
  it("hole 6: a file planted where a store's link belongs is moved aside, and the layout is whole again", () => {
    const home = freshHome();
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    // From inside: rm ~/.llm/claude/projects && echo x > ~/.llm/claude/projects
    const store = join(home, ".llm/claude/projects");
    rmSync(store);
    writeFileSync(store, "x\n");
    const lines: string[] = [];
    ensureStateLayout({ home, projectId: "p-1", log: (line) => lines.push(line) });
    expectWholeLayout(home);
    const aside = readdirSync(join(home, ".llm/claude")).filter((name) => name.startsWith("projects.in-the-way-"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(home, ".llm/claude", aside[0] as string), "utf8")).toBe("x\n");
    expect(lines.join("\n")).toContain(`${store} was in the way (a file)`);
  });

  it("hole 6: a store directory made read-only by the agent is repaired too", () => {
    const home = freshHome();
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    const store = join(home, ".llm/codex/sessions");
    rmSync(store);
    writeFileSync(store, "x");
    chmodSync(join(home, ".llm/codex"), 0o500);
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    expectWholeLayout(home);
  });

  it("hole 6: a file planted at ~/.local and a link out at ~/.local/share are moved aside, following neither", () => {
    const home = freshHome();
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    const elsewhere = join(home, "..", "elsewhere");
    mkdirSync(elsewhere);
    rmSync(join(home, ".local"), { recursive: true });
    writeFileSync(join(home, ".local"), "x");
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    expectWholeLayout(home);
    rmSync(join(home, ".local/share"), { recursive: true });
    symlinkSync(elsewhere, join(home, ".local/share"));
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    expectWholeLayout(home);
    expect(lstatSync(join(home, ".local/share")).isDirectory()).toBe(true);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it("hole 8: re-points ~/.claude and ~/.llm/claude when the agent linked them elsewhere, following neither", () => {
    const home = freshHome();
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    const leak = join(home, "..", "workspace-leak");
    mkdirSync(leak);
    rmSync(join(home, ".claude"));
    symlinkSync(leak, join(home, ".claude"));
    renameSync(join(home, ".llm/codex"), join(home, ".llm/codex-real"));
    symlinkSync(leak, join(home, ".llm/codex"));
    ensureStateLayout({ home, projectId: "p-1", ...quiet });
    expectWholeLayout(home);
    expect(lstatSync(join(home, ".llm/codex")).isDirectory()).toBe(true);
    expect(readdirSync(leak)).toEqual([]);
  });

  it("hole 17: moves this project's conversations off the shared volume, and only this project's", () => {
    const home = freshHome();
    const state = join(home, ".llm");
    const projectDir = join(home, ".sbx/project");
    for (const [id, session] of [["p-mine", "mine.jsonl"], ["p-other", "theirs.jsonl"]] as const) {
      mkdirSync(join(state, "by-project", id, "claude/projects/-workspace"), { recursive: true });
      writeFileSync(join(state, "by-project", id, "claude/projects/-workspace", session), "{}\n");
    }
    mkdirSync(join(projectDir, "claude/projects"), { recursive: true });
    migrateProjectConversations({ stateDir: state, projectDir, projectId: "p-mine", ...quiet });
    expect(readFileSync(join(projectDir, "claude/projects/-workspace/mine.jsonl"), "utf8")).toBe("{}\n");
    expect(readdirSync(join(state, "by-project"))).toEqual(["p-other"]);
    expect(existsSync(join(projectDir, "claude/projects/-workspace/theirs.jsonl"))).toBe(false);
  });
});

describe("concurrent start-ups", () => {
  let runner: string;
  beforeAll(async () => {
    // Each process waits for one shared instant, so their set-ups really overlap (node's own
    // start-up takes far longer than the set-up itself, which would otherwise rarely collide).
    const dir = mkdtempSync(join(tmpdir(), "sbx-layout-runner-"));
    const entry = join(dir, "runner.ts");
    writeFileSync(
      entry,
      `import { ensureStateLayout } from ${JSON.stringify(fileURLToPath(new URL("./state-layout.ts", import.meta.url)))};
const startAt = Number(process.argv[2]);
while (Date.now() < startAt) {}
try {
  ensureStateLayout({ home: process.env.HOME as string, projectId: "proj-0123abcd", log: () => undefined });
} catch (error) {
  process.stderr.write(String((error as Error).message));
  process.exit(1);
}`,
    );
    runner = join(dir, "runner.mjs");
    await build({ entryPoints: [entry], outfile: runner, bundle: true, platform: "node", format: "esm", logLevel: "warning" });
  });

  const run = (home: string, startAt: number) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [runner, String(startAt)], { env: { PATH: process.env.PATH, HOME: home }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
      child.on("close", (code) => resolve({ code, stderr }));
    });

  it("hole 11: 300 start-ups in rounds of 30 at once (fresh, old stores, things in the way) all succeed and leave one whole layout", async () => {
    const failures: string[] = [];
    for (let round = 0; round < 10; round += 1) {
      const home = freshHome();
      if (round % 3 === 1) {
        // A volume from before per-project stores: real directories where the links go.
        mkdirSync(join(home, ".llm/claude/projects/-workspace"), { recursive: true });
        writeFileSync(join(home, ".llm/claude/projects/-workspace/old.jsonl"), "old\n");
      } else if (round % 3 === 2) {
        // What a hostile agent leaves: a file at a store, a link out at a state directory and the home link.
        mkdirSync(join(home, ".llm/codex"), { recursive: true });
        writeFileSync(join(home, ".llm/codex/sessions"), "x");
        symlinkSync("/tmp", join(home, ".llm/gemini"));
        symlinkSync("/tmp", join(home, ".claude"));
      }
      const startAt = Date.now() + 2500;
      const results = await Promise.all(Array.from({ length: 30 }, () => run(home, startAt)));
      failures.push(...results.filter((result) => result.code !== 0).map((result) => `round ${round}: ${result.stderr}`));
      expectWholeLayout(home);
      if (round % 3 === 1) {
        // Moved aside exactly once, untouched.
        expect(readdirSync(join(home, ".llm/claude")).filter((name) => name.startsWith("projects."))).toEqual(["projects.before-per-project"]);
        expect(readFileSync(join(home, ".llm/claude/projects.before-per-project/-workspace/old.jsonl"), "utf8")).toBe("old\n");
      }
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
