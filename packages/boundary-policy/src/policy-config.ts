import { readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";

import { parseEnvFile } from "./env-file.js";
import { PolicyError } from "./policy-error.js";
import type { PolicyConfig } from "./refuse-policy.js";

/**
 * The I/O edge of the policy: reads the user's config file, resolves the profile, and reads the
 * env files. Supported format: JSON only, at `$XDG_CONFIG_HOME/sbx/config.json`
 * (default `~/.config/sbx/config.json`).
 *
 * Profiles are read from that file only. Policy files inside the project (`.sbx.json`,
 * `.sbx/config.json`, `.sbx/profiles/`) are never read — a cloned repository must not be able to
 * widen its own sandbox — and are reported in `untrustedFiles` so the caller can say so.
 */

export type NetworkTier = "full" | "internet-only" | "allowlist" | "none";
export const NETWORK_TIERS: readonly NetworkTier[] = ["full", "internet-only", "allowlist", "none"];

export interface MountSpec {
  /** Absolute host path (`~` expanded). */
  readonly host: string;
  readonly container: string;
  readonly readOnly: boolean;
}

/** What the top level of the config file and each profile may set. Lists add up along `extends`. */
export interface ProfileSettings {
  /** Profile(s) this one builds on; later entries win for `network`. */
  extends?: string | string[];
  /** Host env names passed into the sandbox (still checked by the policy). */
  passthroughEnv?: string[];
  /** Names allowed despite the built-in cloud-credential rules (see `PolicyConfig.allowEnv`). */
  allowEnv?: string[];
  /** Extra refuse patterns (same syntax as `SANDBOX_REFUSE_PATTERNS`). */
  refusePatterns?: string[];
  /** Extra host paths never to mount. */
  denyPaths?: string[];
  /** Extra mounts; `readOnly` defaults to true, `container` to `/mnt/<basename>`. */
  mounts?: Array<{ host: string; container?: string; readOnly?: boolean }>;
  network?: NetworkTier;
  /** Domains reachable under the `allowlist` tier. */
  allowedDomains?: string[];
  /**
   * Cloud-provider logins to let cross (refused by default: they are cloud credentials):
   * "vertex" pipes the gcloud Application Default Credentials file and the Vertex settings,
   * "bedrock" the AWS region and credentials. @default []
   */
  cloudLogins?: CloudLogin[];
}

export const CLOUD_LOGINS = ["vertex", "bedrock"] as const;
export type CloudLogin = (typeof CLOUD_LOGINS)[number];

export interface PolicyConfigFile extends ProfileSettings {
  /** Profile used when neither `--profile` nor `SBX_PROFILE` names one. */
  defaultProfile?: string;
  profiles?: Record<string, ProfileSettings>;
}

export interface LoadPolicyConfigOptions {
  /** The host user's home directory. */
  home: string;
  /** The host environment (reads `XDG_CONFIG_HOME`, `SBX_PROFILE`, `SANDBOX_REFUSE_PATTERNS`). */
  env: Readonly<Record<string, string | undefined>>;
  /** The project directory (git root): where `.sbx.env` is read. */
  cwd: string;
  /**
   * Profile to apply (`--profile`); wins over `SBX_PROFILE` and the file's `defaultProfile`.
   * @default undefined
   */
  profile?: string;
}

export interface ResolvedPolicyConfig extends PolicyConfig {
  home: string;
  cwd: string;
  userPatterns: string[];
  allowEnv: string[];
  denyPaths: string[];
  /** Env files read, in the order applied (later wins): for the audit. */
  envFiles: string[];
  /** Variables from those files (values are secrets-to-be-checked: never log them). */
  envFromFiles: Record<string, string>;
  passthroughEnv: string[];
  mounts: MountSpec[];
  /** @default "full" when nothing sets it */
  network: NetworkTier;
  allowedDomains: string[];
  cloudLogins: CloudLogin[];
  profile?: string;
  /** The config file read, if one exists. */
  configFile?: string;
  /** Policy files found in the project and ignored on purpose. */
  untrustedFiles: string[];
}

export const GLOBAL_ENV_FILE_NAME = "sbx.env";
export const PROJECT_ENV_FILE_NAME = ".sbx.env";
const UNTRUSTED_PROJECT_FILES = [".sbx.json", ".sbx/config.json", ".sbx/profiles", "sbx.config.json"];

export function sbxConfigDir(home: string, env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_CONFIG_HOME;
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  return join(xdg && xdg.startsWith("/") ? xdg : join(home, ".config"), "sbx");
}

export async function loadPolicyConfig(options: LoadPolicyConfigOptions): Promise<ResolvedPolicyConfig> {
  const { home, env, cwd } = options;
  const configDir = sbxConfigDir(home, env);
  const configPath = join(configDir, "config.json");
  const file = await readConfigFile(configPath);

  const profileName = options.profile ?? (env.SBX_PROFILE || undefined) ?? file?.defaultProfile;
  const layers: ProfileSettings[] = file ? [file] : [];
  if (profileName !== undefined) layers.push(...resolveProfileChain(profileName, file?.profiles ?? {}, configPath));

  const merged = {
    passthroughEnv: [] as string[],
    allowEnv: [] as string[],
    refusePatterns: [] as string[],
    denyPaths: [] as string[],
    mounts: [] as MountSpec[],
    allowedDomains: [] as string[],
    cloudLogins: [] as CloudLogin[],
    network: "full" as NetworkTier,
  };
  for (const layer of layers) {
    merged.passthroughEnv.push(...(layer.passthroughEnv ?? []));
    merged.allowEnv.push(...(layer.allowEnv ?? []));
    merged.refusePatterns.push(...(layer.refusePatterns ?? []));
    merged.denyPaths.push(...(layer.denyPaths ?? []));
    merged.allowedDomains.push(...(layer.allowedDomains ?? []));
    merged.cloudLogins.push(...(layer.cloudLogins ?? []));
    merged.mounts.push(...(layer.mounts ?? []).map((mount) => resolveMount(mount, home)));
    if (layer.network !== undefined) merged.network = layer.network;
  }
  merged.refusePatterns.push(...splitRefusePatterns(env.SANDBOX_REFUSE_PATTERNS ?? ""));

  const envFiles: string[] = [];
  const envFromFiles: Record<string, string> = {};
  for (const path of [join(configDir, GLOBAL_ENV_FILE_NAME), join(cwd, PROJECT_ENV_FILE_NAME)]) {
    const content = await readIfFile(path);
    if (content === undefined) continue;
    Object.assign(envFromFiles, parseEnvFile(content, path));
    envFiles.push(path);
  }

  const untrustedFiles: string[] = [];
  for (const relative of UNTRUSTED_PROJECT_FILES) {
    const path = join(cwd, relative);
    if (await exists(path)) untrustedFiles.push(path);
  }

  return {
    home,
    cwd,
    userPatterns: unique(merged.refusePatterns),
    allowEnv: unique(merged.allowEnv),
    denyPaths: unique(merged.denyPaths),
    providerEnv: {},
    envFiles,
    envFromFiles,
    passthroughEnv: unique(merged.passthroughEnv),
    mounts: merged.mounts,
    network: merged.network,
    allowedDomains: unique(merged.allowedDomains),
    cloudLogins: unique(merged.cloudLogins),
    ...(profileName !== undefined ? { profile: profileName } : {}),
    ...(file ? { configFile: configPath } : {}),
    untrustedFiles,
  };
}

/**
 * `SANDBOX_REFUSE_PATTERNS` holds entries separated by commas or newlines. A `/regex/flags` entry
 * runs to its closing slash, so commas inside it (as in `{1,5}`) do not split it.
 */
export function splitRefusePatterns(value: string): string[] {
  const entries: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && /[\s,]/.test(value[i] as string)) i++;
    if (i >= value.length) break;
    let end = i;
    const scoped = /^(?:name:|value:)?\//.exec(value.slice(i));
    if (scoped) {
      end = i + scoped[0].length;
      while (end < value.length && value[end] !== "/") end += value[end] === "\\" ? 2 : 1;
      end++;
      while (end < value.length && /[a-z]/.test(value[end] as string)) end++;
    }
    while (end < value.length && !/[,\n]/.test(value[end] as string)) end++;
    const entry = value.slice(i, end).trim();
    if (entry !== "") entries.push(entry);
    i = end + 1;
  }
  return entries;
}

function resolveProfileChain(name: string, profiles: Record<string, ProfileSettings>, configPath: string): ProfileSettings[] {
  const ordered: ProfileSettings[] = [];
  const done = new Set<string>();
  const visit = (current: string, trail: string[]): void => {
    if (trail.includes(current)) {
      throw new PolicyError("SBX_POLICY_PROFILE_CYCLE", `Profiles extend each other in a cycle: ${[...trail, current].join(" → ")}.`, {
        hint: `Remove one of the extends in ${configPath}.`,
      });
    }
    if (done.has(current)) return;
    const profile = Object.hasOwn(profiles, current) ? profiles[current] : undefined;
    if (profile === undefined) {
      throw new PolicyError("SBX_POLICY_UNKNOWN_PROFILE", `Profile ${JSON.stringify(current)} is not defined in ${configPath}.`, {
        hint: "Profiles are read only from your own config file, never from the project.",
      });
    }
    const parents = profile.extends === undefined ? [] : Array.isArray(profile.extends) ? profile.extends : [profile.extends];
    for (const parent of parents) visit(parent, [...trail, current]);
    done.add(current);
    ordered.push(profile);
  };
  visit(name, []);
  return ordered;
}

async function readConfigFile(path: string): Promise<PolicyConfigFile | undefined> {
  const content = await readIfFile(path);
  if (content === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    throw new PolicyError("SBX_POLICY_BAD_CONFIG", `${path} is not valid JSON.`, { cause: error, hint: "Fix the syntax; only JSON is supported." });
  }
  validateSettings(parsed, path, "the top level");
  const file = parsed as PolicyConfigFile;
  if (file.defaultProfile !== undefined && typeof file.defaultProfile !== "string") throw badField(path, "the top level", "defaultProfile");
  if (file.profiles !== undefined) {
    if (typeof file.profiles !== "object" || file.profiles === null || Array.isArray(file.profiles)) throw badField(path, "the top level", "profiles");
    for (const [name, profile] of Object.entries(file.profiles)) validateSettings(profile, path, `profile ${JSON.stringify(name)}`);
  }
  return file;
}

function validateSettings(value: unknown, path: string, where: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PolicyError("SBX_POLICY_BAD_CONFIG", `${where} of ${path} must be a JSON object.`);
  }
  const settings = value as Record<string, unknown>;
  for (const key of ["passthroughEnv", "allowEnv", "refusePatterns", "denyPaths", "allowedDomains"]) {
    const list = settings[key];
    if (list !== undefined && !(Array.isArray(list) && list.every((item) => typeof item === "string"))) throw badField(path, where, key);
  }
  const cloud = settings.cloudLogins;
  if (cloud !== undefined && !(Array.isArray(cloud) && cloud.every((item) => CLOUD_LOGINS.includes(item)))) {
    throw new PolicyError("SBX_POLICY_BAD_CONFIG", `cloudLogins in ${where} of ${path} must be a list of ${CLOUD_LOGINS.map((name) => `"${name}"`).join(", ")}.`);
  }
  const parents = settings.extends;
  if (parents !== undefined && typeof parents !== "string" && !(Array.isArray(parents) && parents.every((p) => typeof p === "string"))) {
    throw badField(path, where, "extends");
  }
  if (settings.network !== undefined && !NETWORK_TIERS.includes(settings.network as NetworkTier)) {
    throw new PolicyError("SBX_POLICY_BAD_CONFIG", `network in ${where} of ${path} must be one of ${NETWORK_TIERS.join(", ")}.`);
  }
  const mounts = settings.mounts;
  if (mounts !== undefined) {
    const valid =
      Array.isArray(mounts) &&
      mounts.every(
        (m) =>
          typeof m === "object" && m !== null && typeof (m as Record<string, unknown>).host === "string" &&
          ["string", "undefined"].includes(typeof (m as Record<string, unknown>).container) &&
          ["boolean", "undefined"].includes(typeof (m as Record<string, unknown>).readOnly),
      );
    if (!valid) throw badField(path, where, "mounts");
  }
}

function badField(path: string, where: string, field: string): PolicyError {
  return new PolicyError("SBX_POLICY_BAD_CONFIG", `${field} in ${where} of ${path} has the wrong type.`, {
    hint: "Lists are arrays of strings; mounts are objects with host, optional container and readOnly.",
  });
}

function resolveMount(mount: { host: string; container?: string; readOnly?: boolean }, home: string): MountSpec {
  const host = mount.host === "~" || mount.host.startsWith("~/") ? home + mount.host.slice(1) : mount.host;
  return { host, container: mount.container ?? `/mnt/${basename(host)}`, readOnly: mount.readOnly ?? true };
}

async function readIfFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw new PolicyError("SBX_POLICY_BAD_CONFIG", `Cannot read ${path}.`, { cause: error });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function unique<T extends string>(items: T[]): T[] {
  return [...new Set(items)];
}
