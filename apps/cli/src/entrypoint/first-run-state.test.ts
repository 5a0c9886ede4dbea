import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { beforeEach, describe, expect, it } from "vitest";
import { writeFirstRunState, type FirstRunInput } from "./first-run-state.js";

let home: string;
const warnings: string[] = [];

/** A sandbox home: each agent's directory a link onto the state volume, as the entrypoint lays it out. */
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), "sbx-first-run-"));
  warnings.length = 0;
  for (const [link, target] of [[".claude", "claude"], [".codex", "codex"], [".gemini", "gemini"], [".config/opencode", "opencode-config"]] as const) {
    mkdirSync(join(home, ".llm", target), { recursive: true });
    mkdirSync(join(home, link, ".."), { recursive: true });
    symlinkSync(join(home, ".llm", target), join(home, link));
  }
});

const run = (input: Partial<FirstRunInput> = {}) => writeFirstRunState({ home, trustWorkspace: true, agentEnv: {}, piped: [], warn: (line) => warnings.push(line), ...input });
const read = (path: string) => readFileSync(join(home, path), "utf8");
const json = (path: string) => JSON.parse(read(path));

describe("first-run state", () => {
  it("writes Codex's update, daemon and trust keys, merged into what Codex saved", () => {
    writeFileSync(join(home, ".codex/config.toml"), 'model = "o9"\n[tui]\nscreen_reader_detection_done = true\n[projects."/other"]\ntrust_level = "untrusted"\n');
    run();
    const config = parseToml(read(".codex/config.toml")) as Record<string, any>;
    expect(config).toEqual({
      model: "o9",
      check_for_update_on_startup: false,
      tui: { screen_reader_detection_done: true },
      features: { daemon_auto_start: false },
      projects: { "/other": { trust_level: "untrusted" }, "/workspace": { trust_level: "trusted" } },
    });
    // Nothing changed: nothing written again.
    expect(run()).toEqual([]);
  });

  it("grants no trust to an untrusted workspace, and takes back trust another project's sandbox left", () => {
    run({ trustWorkspace: true });
    const written = run({ trustWorkspace: false });
    expect(written).toEqual([join(home, ".codex/config.toml"), join(home, ".gemini/trustedFolders.json")]);
    expect((parseToml(read(".codex/config.toml")) as Record<string, unknown>).projects).toBeUndefined();
    expect(json(".gemini/trustedFolders.json")).toEqual({});
    expect(json(".gemini/settings.json").security?.folderTrust).toBeUndefined();
  });

  it("takes Claude's piped /workspace trust back in an untrusted workspace, and leaves it in a trusted one", () => {
    const piped = { hasCompletedOnboarding: true, projects: { "/workspace": { hasTrustDialogAccepted: true, allowedTools: [] } } };
    writeFileSync(join(home, ".claude/.claude.json"), JSON.stringify(piped));
    run({ trustWorkspace: true });
    expect(json(".claude/.claude.json")).toEqual(piped);
    run({ trustWorkspace: false });
    expect(json(".claude/.claude.json").projects["/workspace"]).toEqual({ hasTrustDialogAccepted: false, allowedTools: [] });
  });

  it("gives Gemini the auth type of the piped login, no updater, and keeps the agent's own settings", () => {
    writeFileSync(join(home, ".gemini/settings.json"), JSON.stringify({ ui: { theme: "Dracula" }, mcpServers: { mine: { command: "x" } } }));
    run({ piped: ["gemini-oauth"] });
    expect(json(".gemini/settings.json")).toEqual({
      ui: { theme: "Dracula" },
      mcpServers: { mine: { command: "x" } },
      security: { auth: { selectedType: "oauth-personal" } },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    });
    expect(json(".gemini/trustedFolders.json")).toEqual({ "/workspace": "TRUST_FOLDER" });
  });

  it("chooses Gemini's API-key auth when only a key is piped, and keeps the host's own choice", () => {
    run({ agentEnv: { GEMINI_API_KEY: "AIza-test" } });
    expect(json(".gemini/settings.json").security.auth.selectedType).toBe("gemini-api-key");
    writeFileSync(join(home, ".gemini/settings.json"), JSON.stringify({ security: { auth: { selectedType: "vertex-ai" } } }));
    run({ agentEnv: { GEMINI_API_KEY: "AIza-test" }, piped: ["gemini-oauth"] });
    expect(json(".gemini/settings.json").security.auth.selectedType).toBe("vertex-ai");
  });

  it("turns opencode's self-update off, merged", () => {
    writeFileSync(join(home, ".config/opencode/opencode.json"), JSON.stringify({ model: "anthropic/claude-x", autoupdate: true }));
    run();
    expect(json(".config/opencode/opencode.json")).toEqual({ model: "anthropic/claude-x", autoupdate: false });
  });

  it("puts a host OpenAI key where `codex login --with-api-key` does, never over a ChatGPT login", () => {
    run({ agentEnv: { OPENAI_API_KEY: "sk-one" } });
    expect(json(".codex/auth.json")).toEqual({ OPENAI_API_KEY: "sk-one" });
    run({ agentEnv: { OPENAI_API_KEY: "sk-two" } });
    expect(json(".codex/auth.json")).toEqual({ OPENAI_API_KEY: "sk-two" });
    const chatgpt = { OPENAI_API_KEY: null, tokens: { id_token: "a.b.c", access_token: "x", refresh_token: "y", account_id: "z" } };
    writeFileSync(join(home, ".codex/auth.json"), JSON.stringify(chatgpt));
    run({ agentEnv: { OPENAI_API_KEY: "sk-three" } });
    expect(json(".codex/auth.json")).toEqual(chatgpt);
  });

  it("leaves a file the agent broke alone and says so", () => {
    writeFileSync(join(home, ".codex/config.toml"), "this is = = not toml");
    run();
    expect(read(".codex/config.toml")).toBe("this is = = not toml");
    expect(warnings.join("\n")).toContain(".codex/config.toml as it is");
  });
});
