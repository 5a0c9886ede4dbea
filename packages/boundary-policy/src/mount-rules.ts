/**
 * Host paths that never cross into the sandbox. A mount is refused when it is one of these, lies
 * inside one, or contains one (mounting `~` would carry `~/.ssh` along).
 */
export interface DeniedPath {
  /** `~/…` for home-relative entries, else absolute. */
  readonly path: string;
  readonly why: string;
}

export const BUILT_IN_DENY_PATHS: readonly DeniedPath[] = [
  { path: "~/.ssh", why: "SSH keys" },
  { path: "~/.gnupg", why: "GnuPG keys" },
  { path: "~/.aws", why: "AWS credentials" },
  { path: "~/.config/gcloud", why: "Google Cloud credentials" },
  { path: "~/.azure", why: "Azure credentials" },
  { path: "~/.kube", why: "Kubernetes credentials" },
  { path: "~/.docker/config.json", why: "Docker registry credentials" },
  { path: "~/.netrc", why: "netrc passwords" },
  { path: "~/.git-credentials", why: "git credentials" },
  { path: "~/.config/gh", why: "GitHub CLI credentials" },
  { path: "~/.npmrc", why: "npm credentials" },
  { path: "~/.pypirc", why: "PyPI credentials" },
  { path: "~/.password-store", why: "pass password store" },
  { path: "~/.claude/projects", why: "the host's Claude Code conversations" },
  { path: "~/.claude/settings.json", why: "the host's Claude Code hooks and settings" },
  // Agent logins travel by the secret pipe, never by a mount (a mount would also go stale on refresh).
  { path: "~/.claude/.credentials.json", why: "the host's Claude Code login" },
  { path: "~/.claude.json", why: "the host's Claude Code MCP servers and project history" },
  { path: "~/.codex/auth.json", why: "the host's Codex login" },
  { path: "~/.codex/config.toml", why: "the host's Codex MCP servers" },
  { path: "~/.gemini/oauth_creds.json", why: "the host's Gemini login" },
  { path: "~/.gemini/settings.json", why: "the host's Gemini MCP servers" },
  { path: "~/.local/share/opencode/auth.json", why: "the host's opencode login" },
  { path: "~/.config/Claude/claude_desktop_config.json", why: "Claude Desktop MCP servers" },
  { path: "~/Library/Application Support/Claude/claude_desktop_config.json", why: "Claude Desktop MCP servers" },
  { path: "~/.cursor/mcp.json", why: "Cursor MCP servers" },
  { path: "~/.codeium/windsurf/mcp_config.json", why: "Windsurf MCP servers" },
  { path: "~/.config/sbx", why: "sbx's own config and profiles" },
  { path: "/var/run/docker.sock", why: "the Docker socket (root on the host)" },
  { path: "/run/docker.sock", why: "the Docker socket (root on the host)" },
];

/**
 * Collapses `.`, `..`, repeated and trailing slashes and expands a leading `~`. Pure string
 * work: symlinks are the caller's to resolve (pass a realpath when the path may be one).
 */
export function normalizeHostPath(path: string, home: string | undefined, cwd: string | undefined): string | undefined {
  let absolute: string;
  if (path === "~" || path.startsWith("~/")) {
    if (home === undefined) return undefined;
    absolute = home + path.slice(1);
  } else if (path.startsWith("/")) {
    absolute = path;
  } else {
    if (cwd === undefined) return undefined;
    absolute = `${cwd}/${path}`;
  }
  const parts: string[] = [];
  for (const part of absolute.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** True when `ancestor` is `path` or one of its parent directories. */
export function isSameOrParent(ancestor: string, path: string): boolean {
  return ancestor === path || ancestor === "/" || path.startsWith(`${ancestor}/`);
}
