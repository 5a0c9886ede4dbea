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
  /** A named sandbox's short name (`sbx create --name`); the project's default sandbox has none. */
  name: "dev.sbx.name",
  /** The agent a sandbox was created for (`sbx create --agent`). */
  agent: "dev.sbx.agent",
} as const;

export const SANDBOX_HOME = "/home/sandbox";
export const STATE_DIR = `${SANDBOX_HOME}/.llm`;
export const WORKSPACE = "/workspace";
export const ENTRYPOINT = ["node", "/opt/sbx/entrypoint.mjs"];
/**
 * The login install: its own small bundle, or (in a template saved from an image from before it)
 * the entrypoint's `install` mode, which runs the same code.
 */
export const INSTALL_COMMAND = ["sh", "-c", '[ -f /opt/sbx/install.mjs ] || exec node /opt/sbx/entrypoint.mjs install; exec node /opt/sbx/install.mjs'];
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
  /** A named sandbox's short name; undefined for the project's default sandbox. */
  name?: string;
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

/**
 * The identity of the project's default sandbox, or with `name` of one of its named sandboxes:
 * the same project, login and volumes (one token family, one conversations store), its own
 * container (and so its own egress proxy and network, which are named after it).
 */
export function sandboxIdentity(cwd: string, env: Record<string, string | undefined> = process.env, name?: string): SandboxIdentity {
  const projectDir = findProjectDir(cwd);
  const projectId = `${slug(basename(projectDir))}-${createHash("sha256").update(projectDir).digest("hex").slice(0, 8)}`;
  const login = slug(env.SBX_LOGIN || safeUsername());
  const containerName = sandboxContainerName({ projectId }, name);
  return {
    projectDir,
    projectId,
    containerName,
    login,
    volumeName: `${login}-llm`,
    conversationsVolumeName: `${login}-${projectId}-conversations`,
    owner: hostOwner(),
    ...(name !== undefined ? { name } : {}),
  };
}

/** 1–40 characters, lower case, digits and `_.-`, starting and ending with a letter or digit, no `--`. */
const SANDBOX_NAME = /^[a-z0-9](?:[a-z0-9_.-]{0,38}[a-z0-9_.])?$/;

/** Checks a sandbox name (`--name`) and returns it; SBX_SANDBOX_NAME_INVALID otherwise. */
export function checkSandboxName(name: string): string {
  if (SANDBOX_NAME.test(name) && !name.includes("--")) return name;
  throw new CliError("SBX_SANDBOX_NAME_INVALID", `The sandbox name ${JSON.stringify(name.slice(0, 60))} is not valid.`, {
    hint: "Use 1–40 characters: lower-case letters, digits, '.', '_' or '-' (never two '-' in a row), starting with a letter or digit and not ending with '-'.",
    exitCode: 2,
  });
}

/**
 * The container name of a sandbox: `sbx-<project id>` for the project's default one,
 * `sbx--<name>--<project id>` for a named one. The one place a name becomes a container name.
 *
 * Why this shape: the project id is `<slug>-<8 hex>` and a slug may itself hold `-<8 hex>`, so
 * `sbx-<project id>-<name>` could spell another project's default sandbox (a project in "app-
 * <A's hash>" against A's sandbox named after that project's hash) or another's named one. A
 * slug never starts with '-', so no default name starts `sbx--`; a name holds no `--` and does
 * not end with '-', so the first `--` after `sbx--` ends the name: the string names one (project
 * id, name) pair only. bin/sbx builds the same string (a test holds them equal).
 */
export function sandboxContainerName(identity: Pick<SandboxIdentity, "projectId">, name?: string): string {
  if (name === undefined) return `sbx-${identity.projectId}`;
  return `sbx--${checkSandboxName(name)}--${identity.projectId}`;
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
export function sandboxMismatch(
  name: string,
  labels: Record<string, string>,
  identity: Pick<SandboxIdentity, "login" | "owner"> & Partial<Pick<SandboxIdentity, "projectDir" | "name">>,
): CliError | undefined {
  const login = labels[LABELS.login];
  const owner = labels[LABELS.owner];
  const other = identity.projectDir !== undefined ? otherProject(name, labels, identity as Pick<SandboxIdentity, "projectDir" | "name">) : undefined;
  if (other) return other;
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

/**
 * Why the container under this sandbox's name was made for another project or another sandbox
 * name, or undefined: its labels say so. Container names are built so that this cannot happen for
 * what this sbx made (sandboxContainerName); what an older one made, a 32-bit hash collision, or a
 * container made by hand under the name would otherwise hand this project's session another
 * project's workspace and conversations. A container without a project label (made before sbx
 * wrote one) is judged by its other labels alone.
 */
export function otherProject(name: string, labels: Record<string, string>, identity: Pick<SandboxIdentity, "projectDir" | "name">): CliError | undefined {
  const project = labels[LABELS.project];
  if (project === undefined) return undefined;
  if (project === identity.projectDir && (labels[LABELS.name] ?? "") === (identity.name ?? "")) return undefined;
  const what = project === identity.projectDir ? `the sandbox named ${JSON.stringify(labels[LABELS.name] ?? "(default)")}` : `the project ${project}`;
  return new CliError("SBX_SANDBOX_OTHER_PROJECT", `The container ${name} belongs to ${what}, not to this one; sbx leaves it alone.`, {
    hint: `Remove it with \`docker rm -f ${name}\` if it is stale, or run sbx from ${project}.`,
    exitCode: 3,
  });
}
