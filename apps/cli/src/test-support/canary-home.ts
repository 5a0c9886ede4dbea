import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** A temporary HOME with the canary planted in every credential source sbx reads. */
export function plantCanaryHome(root: string, canary: string): string {
  const home = join(root, "home");
  const write = (path: string, content: string) => {
    mkdirSync(join(home, path, ".."), { recursive: true });
    writeFileSync(join(home, path), content, { mode: 0o600 });
  };
  write(
    ".claude/.credentials.json",
    JSON.stringify({
      claudeAiOauth: {
        accessToken: `sk-ant-oat01-${canary}-access`,
        refreshToken: `sk-ant-ort01-${canary}-refresh`,
        expiresAt: Date.now() + 30 * 86_400_000,
        scopes: ["user:inference", "user:profile", "user:sessions:claude_code"],
        subscriptionType: "max",
      },
    }),
  );
  write(
    ".claude.json",
    JSON.stringify({
      hasCompletedOnboarding: true,
      oauthAccount: { accountUuid: "11111111-1111-4111-8111-111111111111", emailAddress: `${canary}@example.com`, organizationUuid: "22222222-2222-4222-8222-222222222222", organizationName: "Canary Org", displayName: "Canary" },
      mcpServers: { employer: { command: "npx", env: { TOKEN: `${canary}-mcp` } } },
      projects: { "/home/ada/employer": { allowedTools: [] } },
    }),
  );
  write(".codex/auth.json", JSON.stringify({ OPENAI_API_KEY: null, tokens: { access_token: `${canary}-codex`, refresh_token: `${canary}-codex-r` } }));
  write(".gemini/oauth_creds.json", JSON.stringify({ access_token: `${canary}-gemini`, refresh_token: `${canary}-gemini-r` }));
  write(".gemini/settings.json", JSON.stringify({ security: { auth: { selectedType: "oauth-personal" } } }));
  write(".local/share/opencode/auth.json", JSON.stringify({ anthropic: { type: "api", key: `${canary}-opencode` } }));
  return home;
}
