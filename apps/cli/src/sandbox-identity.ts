import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { userInfo } from "node:os";
import { basename, dirname, resolve } from "node:path";
import { CliError } from "./cli-error.js";

/** Labels that mark what sbx owns, so `sbx ls`/`gc` never touch anything else. */
export const LABELS = {
  managed: "dev.sbx.managed",
  project: "dev.sbx.project",
  login: "dev.sbx.login",
  imageInputs: "dev.sbx.image-inputs",
  /** The host user who made it (`uid:username`), so a shared engine's other users are left alone. */
  owner: "dev.sbx.owner",
  /** The memory, CPU, process and log bounds asked for at create (engines that cannot apply one report 0). */
  bounds: "dev.sbx.bounds",
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
/** Whether the agents' folder trust for /workspace is granted (hole 1), for their first-run state. */
export const FIRST_RUN_SECRET = "first-run";
export const FIRST_RUN_FILE = `${RUNTIME_DIR}/first-run.json`;
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
  /** The host user running sbx, as `uid:username` (the value of the owner label). */
  owner: string;
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
  return { projectDir, projectId, containerName: `sbx-${projectId}`, login, volumeName: `${login}-llm`, conversationsVolumeName: `${login}-${projectId}-conversations`, owner: hostOwner() };
}

/** Every sandbox's name starts so; `ls` and `gc` never touch a container named otherwise. */
export const CONTAINER_PREFIX = "sbx-";

/**
 * Who "this user" is on a shared engine: the host uid and username. The uid alone collides across
 * machines sharing a remote engine (uid 1000 on every laptop); the name alone across accounts.
 */
export function hostOwner(): string {
  let uid = -1;
  try {
    uid = userInfo().uid;
  } catch {
    // No passwd entry (a container run with an arbitrary uid): the uid from the kernel still is one.
    uid = process.getuid?.() ?? -1;
  }
  return `${uid}:${safeUsername()}`;
}

/**
 * Whether sbx objects (containers, volumes, images) carrying these labels are this user's, for
 * `sbx ls`/`gc`: the same login, and the same owner — or no owner label, as sbx made them before
 * it had one, when the login matches.
 */
export function ownedBy(labels: Record<string, string>, identity: Pick<SandboxIdentity, "login" | "owner">): boolean {
  if (labels[LABELS.managed] !== "true" || labels[LABELS.login] !== identity.login) return false;
  const owner = labels[LABELS.owner];
  return owner === undefined || owner === identity.owner;
}

function safeUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return "user";
  }
}

/**
 * Why the container under this project's name is not this login's of this user, or undefined.
 * One made for another login (SBX_LOGIN changed) mounts that login's state volume: reusing it
 * would hand login A's state to B. sbx refuses rather than replace it, since a session may be
 * running in it. One made by another user of a shared engine is theirs.
 */
export function sandboxMismatch(name: string, labels: Record<string, string>, identity: Pick<SandboxIdentity, "login" | "owner">): CliError | undefined {
  const login = labels[LABELS.login];
  const owner = labels[LABELS.owner];
  if (owner !== undefined && owner !== identity.owner) {
    return new CliError("SBX_SANDBOX_NOT_YOURS", `The sandbox ${name} belongs to another user of this Docker engine (${owner}).`, {
      hint: "Run sbx as that user, or use your own engine (DOCKER_HOST).",
      exitCode: 3,
    });
  }
  if (login !== identity.login) {
    return new CliError("SBX_SANDBOX_LOGIN_MISMATCH", `The sandbox ${name} runs under the login ${login ?? "(none)"}, not ${identity.login}.`, {
      hint: `Run \`sbx down\` first to replace it (${login ?? "its"} state stays on its volume), or use SBX_LOGIN=${login ?? ""} to keep it.`,
      exitCode: 3,
    });
  }
  return undefined;
}
