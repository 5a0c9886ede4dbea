import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { userInfo } from "node:os";
import { basename, dirname, resolve } from "node:path";

/** Labels that mark what sbx owns, so `sbx ls`/`gc` never touch anything else. */
export const LABELS = {
  managed: "dev.sbx.managed",
  project: "dev.sbx.project",
  login: "dev.sbx.login",
  imageInputs: "dev.sbx.image-inputs",
} as const;

export const SANDBOX_HOME = "/home/sandbox";
export const STATE_DIR = `${SANDBOX_HOME}/.llm`;
export const WORKSPACE = "/workspace";
export const ENTRYPOINT = ["node", "/opt/sbx/entrypoint.mjs"];
/**
 * A tmpfs (noexec, 0700) for what is piped but is not an agent's own login file: it lives only in
 * memory, so `docker export`/`docker commit` of the container can never carry it.
 */
export const RUNTIME_DIR = "/run/sbx";
/** The agent's extra environment (JSON), loaded by `entrypoint agent`; piped, never in Config.Env. */
export const AGENT_ENV_SECRET = "agent-env";
export const AGENT_ENV_FILE = `${RUNTIME_DIR}/agent-env.json`;
/** The user's refuse patterns, so the entrypoint applies the same employer filter inside. */
export const SANDBOX_POLICY_SECRET = "sandbox-policy";
export const SANDBOX_POLICY_FILE = `${RUNTIME_DIR}/policy.json`;
/**
 * Where the project's own conversations volume is mounted; the session stores on the login volume
 * (`~/.llm/claude/projects`, …) are links into it. No other project's sandbox mounts it.
 */
export const PROJECT_STORE_DIR = `${SANDBOX_HOME}/.sbx/project`;
/** The most sbx pipes as one secret; checked on the host before anything is created. */
export const MAX_PIPED_BYTES = 1024 * 1024;

export interface SandboxIdentity {
  /** The project directory: the git root above the working directory, or the directory itself. */
  projectDir: string;
  projectId: string;
  containerName: string;
  login: string;
  volumeName: string;
  /** The project's own volume for its conversations, mounted only by this project's sandbox. */
  conversationsVolumeName: string;
}

/** Finds the git root by walking up; cheap enough for the `exec` hot path (a few stat calls). */
export function findProjectDir(cwd: string): string {
  let dir = resolve(cwd);
  for (;;) {
    try {
      statSync(`${dir}/.git`);
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return resolve(cwd);
      dir = parent;
    }
  }
}

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9_.-]+/g, "-").replace(/^[-.]+|-+$/g, "").slice(0, 40) || "x";

export function sandboxIdentity(cwd: string, env: Record<string, string | undefined> = process.env): SandboxIdentity {
  const projectDir = findProjectDir(cwd);
  const projectId = `${slug(basename(projectDir))}-${createHash("sha256").update(projectDir).digest("hex").slice(0, 8)}`;
  const login = slug(env.SBX_LOGIN || safeUsername());
  return { projectDir, projectId, containerName: `sbx-${projectId}`, login, volumeName: `${login}-llm`, conversationsVolumeName: `${login}-${projectId}-conversations` };
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return "user";
  }
}
