import { describe, expect, it } from "vitest";
import { decodeKeychainSecret, withClaudeWorkspaceTrust } from "./claude.js";
import type { HostContext } from "./host.js";
import { probeProviders } from "./probe-providers.js";
import type { ProbeResult } from "./types.js";

const NOW = Date.UTC(2026, 10, 23);
const CREDENTIALS = JSON.stringify({
  claudeAiOauth: { accessToken: "sk-ant-oat01-CANARY", refreshToken: "sk-ant-ort01-CANARY", expiresAt: NOW + 3_600_000, subscriptionType: "max" },
});
const HOST_CLAUDE_JSON = JSON.stringify({
  hasCompletedOnboarding: true,
  oauthAccount: { emailAddress: "ada@example.com", accountUuid: "a-1" },
  mcpServers: { secretServer: { command: "npx", env: { TOKEN: "MCP-SECRET" } } },
  projects: { "/home/ada/employer-repo": { allowedTools: ["Bash"] } },
});

function fakeHost(files: Record<string, string | Error>, options: Partial<HostContext> = {}): HostContext & { ran: string[][] } {
  const ran: string[][] = [];
  return {
    home: "/home/ada",
    env: {},
    platform: "linux",
    now: () => NOW,
    async readFile(path) {
      const entry = files[path];
      if (entry instanceof Error) throw entry;
      return entry === undefined ? undefined : Buffer.from(entry);
    },
    async run(command, args) {
      ran.push([command, ...args]);
      return { exitCode: 44, stdout: "" };
    },
    ran,
    ...options,
  };
}

const byProvider = (results: ProbeResult[], provider: string) => results.find((result) => result.provider === provider);

describe("probeProviders", () => {
  it("finds the Claude login and derives a minimal ~/.claude.json without MCP servers or projects", async () => {
    const host = fakeHost({ "/home/ada/.claude/.credentials.json": CREDENTIALS, "/home/ada/.claude.json": HOST_CLAUDE_JSON });
    const claude = byProvider(await probeProviders(host), "claude");
    expect(claude).toMatchObject({ status: "found", description: "Claude Max (ada@example.com)", expiresAt: NOW + 3_600_000 });
    if (claude?.status !== "found") throw new Error("unreachable");
    const [credentials, config] = claude.files;
    expect(credentials).toMatchObject({ destination: "~/.claude/.credentials.json", mode: 0o600 });
    expect(config).toMatchObject({ destination: "~/.claude/.claude.json", mergeJson: true });
    expect(credentials?.content.toString()).toBe(CREDENTIALS);
    const derived = JSON.parse(config?.content.toString() ?? "{}");
    expect(derived).toEqual({
      hasCompletedOnboarding: true,
      oauthAccount: { emailAddress: "ada@example.com", accountUuid: "a-1" },
      // hole 1: trust is not granted by the probe; only the CLI's workspace check grants it.
      projects: { "/": { hasTrustDialogAccepted: false }, "/workspace": { hasTrustDialogAccepted: false, enableAllProjectMcpServers: false, enabledMcpjsonServers: [] } },
    });
    expect(config?.content.toString()).not.toContain("MCP-SECRET");
    expect(config?.content.toString()).not.toContain("employer-repo");
  });

  it("hole 1: withClaudeWorkspaceTrust states the decision for /workspace and pins / to untrusted, keeping the rest", async () => {
    const host = fakeHost({ "/home/ada/.claude/.credentials.json": CREDENTIALS, "/home/ada/.claude.json": HOST_CLAUDE_JSON });
    const claude = byProvider(await probeProviders(host), "claude");
    if (claude?.status !== "found") throw new Error("unreachable");
    const config = claude.files[1]?.content ?? Buffer.from("{}");
    const trusted = JSON.parse(withClaudeWorkspaceTrust(config, true).toString());
    expect(trusted.projects).toEqual({ "/": { hasTrustDialogAccepted: false }, "/workspace": { hasTrustDialogAccepted: true } });
    expect(trusted.oauthAccount).toEqual({ emailAddress: "ada@example.com", accountUuid: "a-1" });
    const untrusted = JSON.parse(withClaudeWorkspaceTrust(withClaudeWorkspaceTrust(config, true), false).toString());
    expect(untrusted.projects["/workspace"].hasTrustDialogAccepted).toBe(false);
  });

  it("carries the host's answer to Claude's custom-API-key question, so the sandbox does not ask again", async () => {
    const hostConfig = JSON.stringify({ hasCompletedOnboarding: true, customApiKeyResponses: { approved: ["abc"], rejected: [] } });
    const host = fakeHost({ "/home/ada/.claude/.credentials.json": CREDENTIALS, "/home/ada/.claude.json": hostConfig });
    const claude = byProvider(await probeProviders(host), "claude");
    if (claude?.status !== "found") throw new Error("unreachable");
    expect(JSON.parse(claude.files[1]?.content.toString() ?? "{}").customApiKeyResponses).toEqual({ approved: ["abc"], rejected: [] });
  });

  it("skips absent providers silently and says where it looked", async () => {
    const results = await probeProviders(fakeHost({}), { apiKeyEnvNames: [] });
    expect(results.map((result) => result.status)).toEqual(["absent", "absent", "absent", "absent", "absent"]);
    expect(byProvider(results, "claude")).toEqual({ status: "absent", provider: "claude", looked: ["/home/ada/.claude/.credentials.json"] });
  });

  it("reports an unreadable login with a reason instead of throwing", async () => {
    const denied = Object.assign(new Error("EACCES"), { code: "EACCES" });
    const claude = byProvider(await probeProviders(fakeHost({ "/home/ada/.claude/.credentials.json": denied })), "claude");
    expect(claude).toMatchObject({ status: "error", code: "SBX_AUTH_UNREADABLE", reason: "/home/ada/.claude/.credentials.json cannot be read (EACCES)." });
  });

  it("reports broken JSON and an expired login without a refresh token", async () => {
    expect(byProvider(await probeProviders(fakeHost({ "/home/ada/.claude/.credentials.json": "{not json" })), "claude")).toMatchObject({
      status: "error",
      code: "SBX_AUTH_INVALID",
    });
    const expired = JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-x", expiresAt: NOW - 1 } });
    expect(byProvider(await probeProviders(fakeHost({ "/home/ada/.claude/.credentials.json": expired })), "claude")).toMatchObject({
      status: "error",
      code: "SBX_AUTH_EXPIRED",
    });
  });

  it("honours CLAUDE_CONFIG_DIR for both the login and .claude.json", async () => {
    const host = fakeHost({ "/cfg/.credentials.json": CREDENTIALS, "/cfg/.claude.json": HOST_CLAUDE_JSON }, { env: { CLAUDE_CONFIG_DIR: "/cfg" } });
    expect(byProvider(await probeProviders(host), "claude")).toMatchObject({ status: "found", source: "/cfg/.credentials.json" });
  });

  it("reads the macOS Keychain item when there is no file, tolerating hex output", async () => {
    const host = fakeHost({}, { platform: "darwin" });
    host.run = async (command, args) => {
      host.ran.push([command, ...args]);
      return { exitCode: 0, stdout: `${Buffer.from(CREDENTIALS).toString("hex")}\n` };
    };
    const claude = byProvider(await probeProviders(host), "claude");
    expect(claude).toMatchObject({ status: "found", source: 'macOS Keychain "Claude Code-credentials"' });
    expect(host.ran).toEqual([["security", "find-generic-password", "-s", "Claude Code-credentials", "-w"]]);
  });

  it("takes a host CLAUDE_CODE_OAUTH_TOKEN as the login instead of the rotating credentials file", async () => {
    const host = fakeHost({ "/home/ada/.claude/.credentials.json": CREDENTIALS, "/home/ada/.claude.json": HOST_CLAUDE_JSON }, { env: { CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-LONG-LIVED" } });
    const claude = byProvider(await probeProviders(host), "claude");
    expect(claude).toMatchObject({ status: "found", description: "Claude long-lived token (CLAUDE_CODE_OAUTH_TOKEN)", source: "$CLAUDE_CODE_OAUTH_TOKEN" });
    if (claude?.status !== "found") throw new Error("unreachable");
    expect(claude.files.map((file) => file.destination)).toEqual(["~/.claude/.claude.json"]);
    expect(JSON.stringify(claude)).not.toContain("LONG-LIVED");
    expect(JSON.stringify(claude)).not.toContain("CANARY");
  });

  it("finds Codex, Gemini and opencode logins where their CLIs keep them, and only Gemini's auth choice", async () => {
    const host = fakeHost(
      {
        "/codex-home/auth.json": '{"tokens":{}}',
        "/home/ada/.gemini/oauth_creds.json": '{"refresh_token":"x"}',
        "/home/ada/.gemini/settings.json": '{"security":{"auth":{"selectedType":"oauth-personal"}},"mcpServers":{"s":{}}}',
        "/home/ada/.local/share/opencode/auth.json": "{}",
      },
      { env: { CODEX_HOME: "/codex-home" } },
    );
    const results = await probeProviders(host);
    expect(results.filter((result) => result.status === "found").map((result) => result.provider)).toEqual(["codex", "gemini", "opencode"]);
    const gemini = byProvider(results, "gemini");
    if (gemini?.status !== "found") throw new Error("unreachable");
    expect(JSON.parse(gemini.files[1]?.content.toString() ?? "")).toEqual({ security: { auth: { selectedType: "oauth-personal" } } });
  });

  it("reports which provider API keys are set on the host, without piping them itself", async () => {
    const host = fakeHost({}, { env: { ANTHROPIC_API_KEY: "sk-ant-api03-CANARY", UNRELATED: "x" } });
    const keys = byProvider(await probeProviders(host, { apiKeyEnvNames: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"] }), "api-keys");
    expect(keys).toMatchObject({ status: "found", description: "ANTHROPIC_API_KEY", files: [] });
  });
});

describe("decodeKeychainSecret", () => {
  it("keeps plain JSON and decodes hex-encoded JSON", () => {
    expect(decodeKeychainSecret('{"a":1}').toString()).toBe('{"a":1}');
    expect(decodeKeychainSecret(Buffer.from('{"a":1}').toString("hex")).toString()).toBe('{"a":1}');
    expect(decodeKeychainSecret("deadbeef").toString()).toBe("deadbeef");
  });
});

describe("probeProviders on login files that hold JSON but no object (hole 13a)", () => {
  const HUGE = JSON.stringify("x".repeat(2_000_000));
  const bad: Array<[string, string]> = [["null", "null"], ["[]", "an array"], ["42", "a number"], [HUGE, "a string of 2000000 characters"]];
  const files = {
    claude: "/home/ada/.claude/.credentials.json",
    codex: "/home/ada/.codex/auth.json",
    gemini: "/home/ada/.gemini/oauth_creds.json",
    opencode: "/home/ada/.local/share/opencode/auth.json",
  } as const;

  for (const [content, what] of bad) {
    for (const [provider, path] of Object.entries(files)) {
      it(`reports ${provider}'s ${path.split("/").pop()} holding ${what.slice(0, 20)} as an error with its reason, and probes the rest`, async () => {
        const results = await probeProviders(fakeHost({ [path]: content, "/home/ada/.codex/auth.json": provider === "codex" ? content : '{"tokens":{}}' }));
        expect(byProvider(results, provider)).toEqual({ status: "error", provider, code: "SBX_AUTH_INVALID", reason: `${path} holds ${what} where a JSON object belongs.`, source: path });
        if (provider !== "codex") expect(byProvider(results, "codex")?.status).toBe("found");
      });
    }
  }

  it("still finds the Claude login when ~/.claude.json or a Gemini settings file holds null or odd fields", async () => {
    for (const config of ["null", "[]", '{"oauthAccount":null,"customApiKeyResponses":7}']) {
      const claude = byProvider(await probeProviders(fakeHost({ "/home/ada/.claude/.credentials.json": CREDENTIALS, "/home/ada/.claude.json": config })), "claude");
      expect(claude).toMatchObject({ status: "found", description: "Claude Max" });
    }
    const odd = JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-x", subscriptionType: 7, expiresAt: "soon" } });
    expect(byProvider(await probeProviders(fakeHost({ "/home/ada/.claude/.credentials.json": odd })), "claude")).toMatchObject({ status: "found", description: "Claude login" });
    const nested = JSON.stringify({ claudeAiOauth: null });
    expect(byProvider(await probeProviders(fakeHost({ "/home/ada/.claude/.credentials.json": nested })), "claude")).toMatchObject({ status: "error", code: "SBX_AUTH_INVALID" });
    const gemini = byProvider(
      await probeProviders(fakeHost({ "/home/ada/.gemini/oauth_creds.json": '{"access_token":"a"}', "/home/ada/.gemini/settings.json": '{"security":null}' })),
      "gemini",
    );
    expect(gemini?.status).toBe("found");
  });
});

