import type { MountDecision } from "./refuse-policy.js";

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

/**
 * Container paths a profile mount may not land at, above or below: sbx's own layout (the
 * sandbox home holds the login volume at ~/.llm, the piped env at ~/.sbx, and every agent's
 * login file; the secret tmpfs; sbx's entrypoint; the workspace) and the system's own trees.
 *
 * Below /workspace is refused too: Docker would create the mount point inside the host's
 * project directory (a stray root-owned directory in the user's repository), and the mount would
 * hide project files from the agent while the host still sees them. `/mnt/<name>` is the place.
 */
const RESERVED_TARGET_TREES: ReadonlyArray<{ path: string; why: string }> = [
  { path: "/home/sandbox", why: "the sandbox home, where sbx installs the logins and keeps ~/.llm and ~/.sbx" },
  { path: "/run/secrets", why: "the secret pipe's tmpfs" },
  { path: "/opt/sbx", why: "sbx's entrypoint" },
  { path: "/workspace", why: "the workspace mount" },
  ...["/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/root"].map((path) => ({
    path,
    why: "a system directory the sandbox needs",
  })),
];
/** Whole trees a mount exactly at would replace (below them is fine: `/var/cache/pip`, `/srv/data`). */
const RESERVED_EXACT_TARGETS = ["/var", "/tmp", "/mnt", "/media", "/srv", "/home", "/run", "/opt"];

export function checkMountTarget(target: string): MountDecision {
  if (!target.startsWith("/")) {
    return {
      action: "refuse",
      path: undefined,
      rule: "mount-target-relative",
      reason: `The mount target ${JSON.stringify(target)} is not an absolute container path.`,
    };
  }
  const path = normalizeHostPath(target, undefined, undefined) as string;
  for (const tree of RESERVED_TARGET_TREES) {
    if (isSameOrParent(path, tree.path) || isSameOrParent(tree.path, path)) {
      const where = path === tree.path ? "is" : isSameOrParent(path, tree.path) ? "would cover" : "is inside";
      return { action: "refuse", path, rule: "mount-target-reserved", reason: `The mount target ${path} ${where} ${tree.path} (${tree.why}).` };
    }
  }
  if (RESERVED_EXACT_TARGETS.includes(path)) {
    return { action: "refuse", path, rule: "mount-target-reserved", reason: `The mount target ${path} would replace the container's whole ${path}.` };
  }
  return { action: "allow", path };
}
