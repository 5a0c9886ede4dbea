import { readFile, realpath, stat } from "node:fs/promises";
import { basename, join, sep } from "node:path";

import { parseEnvFile } from "./env-file.js";
import { PolicyError } from "./policy-error.js";
import { projectEnvVerdict } from "./project-env-rules.js";
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
  /** Container limits; later layers win per field. */
  resources?: ResourceLimits;
}

/** Limits for the sandbox container (the runtime applies them; the audit shows them). */
export interface ResourceLimits {
  /** Memory limit in Docker's notation: `512m`, `4g`. */
  memory?: string;
  /** CPUs the sandbox may use, e.g. `2` or `1.5`. */
  cpus?: number;
  /** Maximum number of processes. */
  pids?: number;
  /** Size at which the json-file log is rotated, e.g. `10m`. */
  logMaxSize?: string;
  /** Mount the root filesystem read-only (tmpfs where agents need scratch space). */
  readOnlyRoot?: boolean;
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
  /**
   * Variables from those files (values are secrets-to-be-checked: never log them). The user's own
   * file wins over the project's; names the project may not set are not here.
   */
  envFromFiles: Record<string, string>;
  /** Which file each variable of `envFromFiles` came from, and whether the user or the project wrote it. */
  envOrigins: Record<string, EnvOrigin>;
  /** Variables (or a whole file) the project's `.sbx.env` tried to set and may not: for the audit. */
  refusedEnvFromFiles: RefusedFileEnv[];
  passthroughEnv: string[];
  mounts: MountSpec[];
  /** @default "full" when nothing sets it */
  network: NetworkTier;
  allowedDomains: string[];
  /** Container limits set by the config file and the profile chain (unset fields: the runtime's defaults). */
  resources: ResourceLimits;
  cloudLogins: CloudLogin[];
  profile?: string;
  /** The config file read, if one exists. */
  configFile?: string;
  /** Policy files found in the project and ignored on purpose. */
  untrustedFiles: string[];
}

export interface EnvOrigin {
  readonly file: string;
  /** `user`: the user's own env file; `project`: the project's `.sbx.env` (the repository's). */
  readonly trust: "user" | "project";
}

export interface RefusedFileEnv {
  /** The variable, or the file's name when the whole file is refused. */
  readonly name: string;
  readonly file: string;
  readonly rule: "project-env-redirect" | "project-env-outside";
  /** Names the variable and why, never its value. */
  readonly reason: string;
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
    resources: {} as ResourceLimits,
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
    Object.assign(merged.resources, layer.resources);
  }
  merged.refusePatterns.push(...splitRefusePatterns(env.SANDBOX_REFUSE_PATTERNS ?? ""));

  const envFiles: string[] = [];
  const envFromFiles: Record<string, string> = {};
  const envOrigins: Record<string, EnvOrigin> = {};
  const refusedEnvFromFiles: RefusedFileEnv[] = [];
  const globalEnvFile = join(configDir, GLOBAL_ENV_FILE_NAME);
  const globalContent = await readIfFile(globalEnvFile);
  if (globalContent !== undefined) {
    for (const [name, value] of Object.entries(parseEnvFile(globalContent, globalEnvFile))) {
      envFromFiles[name] = value;
      envOrigins[name] = { file: globalEnvFile, trust: "user" };
    }
    envFiles.push(globalEnvFile);
  }
  // The project's file ships with the repository: it adds plain variables only, never overrides
  // the user's, and is read only when it really lies inside the project (a symlink to
  // ~/.aws/credentials would otherwise parse as KEY=VALUE lines and cross).
  const projectEnvFile = join(cwd, PROJECT_ENV_FILE_NAME);
  const projectContent = await readIfFile(projectEnvFile);
  if (projectContent !== undefined) {
    if (!(await liesInside(projectEnvFile, cwd))) {
      refusedEnvFromFiles.push({
        name: PROJECT_ENV_FILE_NAME,
        file: projectEnvFile,
        rule: "project-env-outside",
        reason: `The project's ${PROJECT_ENV_FILE_NAME} is a link that leads outside the project, so it was not read.`,
      });
    } else {
      for (const [name, value] of Object.entries(parseEnvFile(projectContent, projectEnvFile))) {
        const verdict = projectEnvVerdict(name);
        if (verdict) {
          refusedEnvFromFiles.push({
            name,
            file: projectEnvFile,
            rule: verdict.rule,
            reason: `${name} is set by the project's ${PROJECT_ENV_FILE_NAME}, and it ${verdict.why}; only your own env file or profile may set it.`,
          });
          continue;
        }
        if (Object.hasOwn(envFromFiles, name)) continue;
        envFromFiles[name] = value;
        envOrigins[name] = { file: projectEnvFile, trust: "project" };
      }
      envFiles.push(projectEnvFile);
    }
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
    envOrigins,
    refusedEnvFromFiles,
    passthroughEnv: unique(merged.passthroughEnv),
    mounts: merged.mounts,
    network: merged.network,
    allowedDomains: unique(merged.allowedDomains),
    resources: merged.resources,
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
  validateTopLevel(parsed, path);
  const file = parsed as PolicyConfigFile;
  if (file.defaultProfile !== undefined && typeof file.defaultProfile !== "string") throw badField(path, "the top level", "defaultProfile");
  if (file.profiles !== undefined) {
    if (typeof file.profiles !== "object" || file.profiles === null || Array.isArray(file.profiles)) throw badField(path, "the top level", "profiles");
    for (const [name, profile] of Object.entries(file.profiles)) validateSettings(profile, path, `profile ${JSON.stringify(name)}`);
  }
  return file;
}

const SETTINGS_KEYS = ["extends", "passthroughEnv", "allowEnv", "refusePatterns", "denyPaths", "mounts", "network", "allowedDomains", "resources", "cloudLogins"] as const;
const TOP_LEVEL_KEYS = [...SETTINGS_KEYS, "defaultProfile", "profiles"] as const;
const MOUNT_KEYS = ["host", "container", "readOnly"] as const;
const RESOURCE_KEYS = ["memory", "cpus", "pids", "logMaxSize", "readOnlyRoot"] as const;
/** Docker's size notation: a whole number with an optional b/k/m/g unit. */
const SIZE = /^[1-9][0-9]{0,12}[bkmg]?$/i;

function validateTopLevel(value: unknown, path: string): void {
  validateSettings(value, path, "the top level", TOP_LEVEL_KEYS);
}

function validateSettings(value: unknown, path: string, where: string, known: readonly string[] = SETTINGS_KEYS): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PolicyError("SBX_POLICY_BAD_CONFIG", `${where} of ${path} must be a JSON object.`);
  }
  const settings = value as Record<string, unknown>;
  // A typo (`refusePattern`) would otherwise silently turn the rule it carries off.
  rejectUnknownKeys(settings, known, path, where);
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
    if (!Array.isArray(mounts)) throw badField(path, where, "mounts");
    mounts.forEach((mount: unknown, index) => {
      if (typeof mount !== "object" || mount === null || Array.isArray(mount)) throw badField(path, where, "mounts");
      const m = mount as Record<string, unknown>;
      rejectUnknownKeys(m, MOUNT_KEYS, path, `mount ${index + 1} in ${where}`);
      const valid = typeof m.host === "string" && ["string", "undefined"].includes(typeof m.container) && ["boolean", "undefined"].includes(typeof m.readOnly);
      if (!valid) throw badField(path, where, "mounts");
    });
  }
  if (settings.resources !== undefined) validateResources(settings.resources, path, where);
}

function validateResources(value: unknown, path: string, where: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PolicyError("SBX_POLICY_BAD_CONFIG", `resources in ${where} of ${path} must be an object.`, {
      hint: 'For example "resources": { "memory": "4g", "cpus": 2, "pids": 512, "logMaxSize": "10m", "readOnlyRoot": true }.',
    });
  }
  const resources = value as Record<string, unknown>;
  rejectUnknownKeys(resources, RESOURCE_KEYS, path, `resources in ${where}`);
  const bad = (key: string, expected: string): PolicyError =>
    new PolicyError("SBX_POLICY_BAD_CONFIG", `resources.${key} in ${where} of ${path} must be ${expected}.`, {
      hint: 'For example "resources": { "memory": "4g", "cpus": 2, "pids": 512, "logMaxSize": "10m", "readOnlyRoot": true }.',
    });
  const { memory, cpus, pids, logMaxSize, readOnlyRoot } = resources;
  if (memory !== undefined && !(typeof memory === "string" && SIZE.test(memory))) throw bad("memory", 'a size such as "512m" or "4g"');
  if (logMaxSize !== undefined && !(typeof logMaxSize === "string" && SIZE.test(logMaxSize))) throw bad("logMaxSize", 'a size such as "10m"');
  if (cpus !== undefined && !(typeof cpus === "number" && Number.isFinite(cpus) && cpus > 0 && cpus <= 1024)) throw bad("cpus", "a positive number such as 2 or 1.5");
  if (pids !== undefined && !(typeof pids === "number" && Number.isInteger(pids) && pids > 0)) throw bad("pids", "a positive whole number such as 512");
  if (readOnlyRoot !== undefined && typeof readOnlyRoot !== "boolean") throw bad("readOnlyRoot", "true or false");
}

function rejectUnknownKeys(settings: Record<string, unknown>, known: readonly string[], path: string, where: string): void {
  for (const key of Object.keys(settings)) {
    if (known.includes(key)) continue;
    const closest = closestKey(key, known);
    throw new PolicyError("SBX_POLICY_UNKNOWN_KEY", `${JSON.stringify(key)} in ${where} of ${path} is not a setting sbx knows.`, {
      hint: closest ? `Did you mean ${JSON.stringify(closest)}? Known here: ${known.join(", ")}.` : `Known here: ${known.join(", ")}.`,
    });
  }
}

/** The known key nearest by edit distance (case-insensitive), when it is near enough to be a typo. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { key: candidate, distance };
  }
  return best !== undefined && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] as number;
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

async function liesInside(path: string, directory: string): Promise<boolean> {
  try {
    const [real, realDirectory] = await Promise.all([realpath(path), realpath(directory)]);
    return real.startsWith(realDirectory.endsWith(sep) ? realDirectory : realDirectory + sep);
  } catch {
    return false;
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
