import { join } from "node:path";
import type { HostContext } from "./host.js";
import { isObject, parseJsonObject } from "./json-object.js";
import type { ProbeResult } from "./types.js";

const KEYCHAIN_SERVICE = "Claude Code-credentials";

interface ClaudeCredentials {
  claudeAiOauth?: { accessToken?: string; refreshToken?: string; expiresAt?: number; subscriptionType?: string };
}

/**
 * Claude Code keeps its login in `~/.claude/.credentials.json` on Linux (`$CLAUDE_CONFIG_DIR`
 * moves it) and in the Keychain item "Claude Code-credentials" on macOS. The sandbox also needs
 * the onboarding facts from `~/.claude.json` — and only those: that file also holds the user's
 * MCP servers and every project they opened, which must never cross.
 */
export async function probeClaude(host: HostContext): Promise<ProbeResult> {
  const configDir = host.env.CLAUDE_CONFIG_DIR || join(host.home, ".claude");
  if (host.env.CLAUDE_CODE_OAUTH_TOKEN) return longLivedToken(host, configDir);
  const credentialsPath = join(configDir, ".credentials.json");
  const looked = [credentialsPath];
  let raw: Buffer | undefined;
  let source = credentialsPath;
  try {
    raw = await host.readFile(credentialsPath);
  } catch (error) {
    return { status: "error", provider: "claude", code: "SBX_AUTH_UNREADABLE", reason: `${credentialsPath} cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}).`, source };
  }
  if (!raw && host.platform === "darwin") {
    looked.push(`macOS Keychain "${KEYCHAIN_SERVICE}"`);
    const keychain = await host.run("security", ["find-generic-password", "-s", KEYCHAIN_SERVICE, "-w"]);
    if (keychain.exitCode === 0 && keychain.stdout.trim()) {
      raw = decodeKeychainSecret(keychain.stdout.trim());
      source = `macOS Keychain "${KEYCHAIN_SERVICE}"`;
    }
  }
  if (!raw) return { status: "absent", provider: "claude", looked };

  const parsed = parseJsonObject(raw, source);
  if (!parsed.ok) return { status: "error", provider: "claude", code: "SBX_AUTH_INVALID", reason: parsed.reason, source };
  const credentials = parsed.value as ClaudeCredentials;
  const oauth = isObject(credentials.claudeAiOauth) ? credentials.claudeAiOauth : undefined;
  if (typeof oauth?.accessToken !== "string" || !oauth.accessToken) {
    return { status: "error", provider: "claude", code: "SBX_AUTH_INVALID", reason: `${source} holds no Claude login (no claudeAiOauth.accessToken).`, source };
  }
  const now = (host.now ?? Date.now)();
  const notes: string[] = [];
  if (typeof oauth.expiresAt === "number" && oauth.expiresAt <= now) {
    if (!oauth.refreshToken) {
      return { status: "error", provider: "claude", code: "SBX_AUTH_EXPIRED", reason: `The Claude login in ${source} expired and has no refresh token.`, source };
    }
    notes.push("access token expired; Claude Code will refresh it");
  }

  const account = await readOnboarding(host, configDir);
  const plan = planName(typeof oauth.subscriptionType === "string" ? oauth.subscriptionType : undefined);
  const email = typeof account.oauthAccount?.emailAddress === "string" ? account.oauthAccount.emailAddress : undefined;
  return {
    status: "found",
    provider: "claude",
    description: [plan, email ? `(${String(email)})` : undefined].filter(Boolean).join(" "),
    source,
    files: [
      // A fresh copy, written by sbx, in a directory the agent can write: Claude Code saves
      // refreshed tokens by temp file and rename, so a read-only copy would log it out.
      { name: "claude-credentials", destination: "~/.claude/.credentials.json", content: Buffer.from(raw), mode: 0o600 },
      // The sandbox image sets CLAUDE_CONFIG_DIR=~/.claude (on the state volume), which is where
      // Claude Code then looks for `.claude.json`; ~/.claude.json is a symlink to the same file.
      {
        name: "claude-config",
        destination: "~/.claude/.claude.json",
        content: Buffer.from(JSON.stringify(minimalClaudeConfig(account), null, 2)),
        mode: 0o600,
        mergeJson: true,
      },
    ],
    ...(typeof oauth.expiresAt === "number" ? { expiresAt: oauth.expiresAt } : {}),
    notes,
  };
}

/**
 * A host `CLAUDE_CODE_OAUTH_TOKEN` (from `claude setup-token`) is the login instead of the file: it
 * has no refresh token, so there is no token family to keep in step, and Claude Code prefers it
 * over the file anyway. The variable itself crosses with the agent's environment (secret pipe);
 * only the onboarding facts go as a file. It is good for inference only (no profile, usage or
 * Remote MCP scopes) and lasts about a year.
 */
async function longLivedToken(host: HostContext, configDir: string): Promise<ProbeResult> {
  const account = await readOnboarding(host, configDir);
  return {
    status: "found",
    provider: "claude",
    description: "Claude long-lived token (CLAUDE_CODE_OAUTH_TOKEN)",
    source: "$CLAUDE_CODE_OAUTH_TOKEN",
    files: [
      { name: "claude-config", destination: "~/.claude/.claude.json", content: Buffer.from(JSON.stringify(minimalClaudeConfig(account), null, 2)), mode: 0o600, mergeJson: true },
    ],
    notes: ["a `claude setup-token` token: inference only, no refresh, about a year; the credentials file is not piped"],
  };
}

interface HostClaudeConfig {
  hasCompletedOnboarding?: boolean;
  oauthAccount?: Record<string, unknown>;
  customApiKeyResponses?: { approved?: unknown; rejected?: unknown };
}

async function readOnboarding(host: HostContext, configDir: string): Promise<HostClaudeConfig> {
  // Claude Code keeps `.claude.json` in the home, or inside $CLAUDE_CONFIG_DIR when that is set.
  const path = host.env.CLAUDE_CONFIG_DIR ? join(configDir, ".claude.json") : join(host.home, ".claude.json");
  try {
    const raw = await host.readFile(path);
    const parsed = raw ? parseJsonObject(raw, path) : undefined;
    if (!parsed?.ok) return {};
    const config = parsed.value as HostClaudeConfig;
    // Only objects cross into the sandbox's config; a mangled field is left behind, not crashed on.
    return {
      ...(config.hasCompletedOnboarding === true ? { hasCompletedOnboarding: true } : {}),
      ...(isObject(config.oauthAccount) ? { oauthAccount: config.oauthAccount } : {}),
      ...(isObject(config.customApiKeyResponses) ? { customApiKeyResponses: config.customApiKeyResponses } : {}),
    };
  } catch {
    return {};
  }
}

/**
 * Only what the sandbox needs to skip first-run screens: onboarding done (a logged-in host has
 * done it), the account identity, the user's answer to "use this ANTHROPIC_API_KEY?" (so the
 * sandbox does not ask again), and the folder-trust answer for /workspace. Never `mcpServers` or
 * the host's `projects`. Trust defaults to not granted: only the CLI's workspace check grants it
 * (see `withClaudeWorkspaceTrust`), so a caller that skips the check fails closed.
 */
export function minimalClaudeConfig(host: HostClaudeConfig, options: { workspaceTrusted?: boolean } = {}): Record<string, unknown> {
  return {
    hasCompletedOnboarding: true,
    ...(host.oauthAccount ? { oauthAccount: host.oauthAccount } : {}),
    ...(host.customApiKeyResponses ? { customApiKeyResponses: host.customApiKeyResponses } : {}),
    projects: claudeWorkspaceTrust(options.workspaceTrusted ?? false),
  };
}

/**
 * The `projects` entries that state Claude Code's folder trust for the sandbox. Always explicit,
 * because the file lands on the per-login volume by deep merge (`mergeJson`): leaving a key out
 * would keep an earlier project's `true`. Claude Code 2.1.330 treats a folder as trusted when
 * `projects[dir].hasTrustDialogAccepted` is true for it or for any folder above it, so `/` is
 * pinned to false too. Untrusted, the project's `.mcp.json` servers are not pre-enabled either.
 */
export function claudeWorkspaceTrust(trusted: boolean): Record<string, Record<string, unknown>> {
  return {
    "/": { hasTrustDialogAccepted: false },
    "/workspace": trusted ? { hasTrustDialogAccepted: true } : { hasTrustDialogAccepted: false, enableAllProjectMcpServers: false, enabledMcpjsonServers: [] },
  };
}

/** The derived `.claude.json` (as piped) with the folder-trust decision set. */
export function withClaudeWorkspaceTrust(content: Buffer, trusted: boolean): Buffer {
  const config = JSON.parse(content.toString("utf8")) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...config, projects: claudeWorkspaceTrust(trusted) }, null, 2));
}

function planName(subscriptionType: string | undefined): string {
  switch (subscriptionType) {
    case "max":
      return "Claude Max";
    case "pro":
      return "Claude Pro";
    case "team":
      return "Claude Team";
    case "enterprise":
      return "Claude Enterprise";
    default:
      return "Claude login";
  }
}

/** `security -w` prints the password as hex when it holds bytes it considers non-printable. */
export function decodeKeychainSecret(output: string): Buffer {
  if (/^[0-9a-fA-F]+$/.test(output) && output.length % 2 === 0 && !output.startsWith("{")) {
    const decoded = Buffer.from(output, "hex");
    if (decoded.toString("utf8").trimStart().startsWith("{")) return decoded;
  }
  return Buffer.from(output, "utf8");
}
