/**
 * Saved templates: a sandbox's home — the tools the user installed (`npm install -g` lands in
 * `~/.local`, scripts in `~/.local/bin`, caches) — kept as an image `FROM` the sandbox image it ran,
 * for the next loop's sandboxes to start from (`sbx create --template`, `sbx up --template`).
 *
 * The root filesystem of a sandbox is read-only and its home a tmpfs, so `docker commit` would
 * capture nothing. Instead the home is streamed out as a tar (by the engine's exec), filtered on
 * the host without ever being extracted there (template-archive.ts: bounded, validated, stripped
 * of everything sbx piped or manages), and added to the image under `/opt/sbx/template-home`; the
 * entrypoint seeds the fresh home tmpfs from it at every start, before it makes its links into the
 * state volume. The state volume and the project's conversations are never part of it: they are
 * other mounts, and their mount points are stripped by name too.
 */
import { createHash } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { FILE_PROVIDERS } from "@sbx/auth-probes";
import { BUILT_IN_DENY_PATHS, PROVIDER_LOGIN_ENV } from "@sbx/boundary-policy";
import { isRuntimeError, type ContainerInfo, type ContainerRuntime } from "@sbx/container-runtime";
import { CliError } from "./cli-error.js";
import { CLOUD_LOGIN_DEFINITIONS } from "./cloud-logins.js";
import { STATE_LINKS } from "./entrypoint/state-layout.js";
import { filterHomeArchive, type HomeArchiveReport, type HomeArchiveRules } from "./template-archive.js";
import { LABELS, PROJECT_STORE_DIR, SANDBOX_HOME, STATE_DIR, type SandboxIdentity } from "./sandbox-identity.js";
import type { SandboxPlan } from "./sandbox.js";

export const TEMPLATE_LABELS = {
  /** The template's name (`sbx save <sandbox> <template>`). */
  template: "dev.sbx.template",
  /** The sandbox image the template is built on (kept by `sbx gc` while the template exists). */
  base: "dev.sbx.template-base",
  /** The sandbox it was saved from. */
  source: "dev.sbx.template-source",
  created: "dev.sbx.template-created",
} as const;

/** Where the template's home sits in the image; the entrypoint copies it into the home tmpfs. */
export const TEMPLATE_HOME = "/opt/sbx/template-home";

/** The home tmpfs is 1 GiB (planSandbox), so its tar is a little more at most. */
export const DEFAULT_TEMPLATE_MAX_BYTES = 1024 * 1024 * 1024 + 64 * 1024 * 1024;

const TEMPLATE_NAME = /^[a-z0-9][a-z0-9_.-]{0,39}$/;

export function validateTemplateName(name: string): string {
  if (!TEMPLATE_NAME.test(name)) {
    throw new CliError("SBX_TEMPLATE_BAD_NAME", `The template name "${name.slice(0, 60)}" is not valid.`, {
      hint: "Use 1–40 characters: lower-case letters, digits, '.', '_' or '-', starting with a letter or digit.",
      exitCode: 2,
    });
  }
  return name;
}

/**
 * The template's tag, scoped to the login and the host user: another user's (or login's) template
 * of the same name is another tag, so `--template x` can never pick it up — and lookups go by the
 * owner and login labels anyway, never by the tag alone.
 */
export function templateTag(identity: Pick<SandboxIdentity, "login" | "owner">, name: string): string {
  const owner = createHash("sha256").update(identity.owner).digest("hex").slice(0, 8);
  return `sbx-template:${identity.login}.${validateTemplateName(name)}.${owner}`;
}

const relativeToHome = (path: string) => (path.startsWith("~/") ? path.slice(2) : path.startsWith(`${SANDBOX_HOME}/`) ? path.slice(SANDBOX_HOME.length + 1) : undefined);

/**
 * What never goes into a template, from the tables sbx already keeps: the state volume and the
 * project's conversations (their mount points), every link the entrypoint makes into the state
 * volume (STATE_LINKS: the agents' login and state directories), the login files under their real
 * names wherever they are (the auth-probes providers' and cloud logins' destinations), and the
 * credential files sbx never mounts (the deny list). Shell and REPL history too: a command line
 * may carry a token the user typed. And npm's download cache and logs (rebuilt on demand).
 */
export function templateArchiveRules(options: { secretValues: readonly string[] }): Pick<HomeArchiveRules, "home" | "strippedPaths" | "strippedNames" | "secretValues"> {
  const strippedPaths: Array<{ path: string; why: string }> = [
    { path: relativeToHome(STATE_DIR) as string, why: "the state volume (logins, agents' state)" },
    { path: relativeToHome(PROJECT_STORE_DIR)?.split("/")[0] as string, why: "the project's conversations volume" },
    ...STATE_LINKS.map(([link]) => ({ path: link, why: "a login or state link sbx makes at every start" })),
    ...BUILT_IN_DENY_PATHS.flatMap((entry) => {
      const path = relativeToHome(entry.path);
      return path ? [{ path, why: entry.why }] : [];
    }),
    ...[".bash_history", ".zsh_history", ".sh_history", ".history", ".python_history", ".node_repl_history", ".psql_history", ".mysql_history", ".sqlite_history", ".lesshst", ".viminfo", ".local/share/fish/fish_history"].map((path) => ({
      path,
      why: "shell or REPL history (a command line may carry a token)",
    })),
    { path: ".npm", why: "npm's download cache and logs" },
  ];
  const loginFiles = [
    // Claude's two login files (auth-probes claude.ts pipes them under these names).
    "~/.claude/.credentials.json",
    "~/.claude.json",
    ...FILE_PROVIDERS.flatMap((provider) => provider.files({ home: SANDBOX_HOME, env: {} } as never).filter((file) => file.required).map((file) => file.destination)),
    ...Object.values(CLOUD_LOGIN_DEFINITIONS).flatMap((definition) => (definition.file ? [definition.file.destination] : [])),
  ];
  const strippedNames = [...new Set(loginFiles.map((path) => basename(path)))].map((name) => ({ name, why: "an agent's login file" }));
  return { home: SANDBOX_HOME, strippedPaths, strippedNames, secretValues: options.secretValues };
}

const SECRET_KEY = /token|secret|key|password|credential|auth|session|cookie/i;

/**
 * The exact values sbx pipes into a sandbox of this plan, for the template filter to look for:
 * every credential-like string in the login files, and the API keys of the agent environment. A
 * copy of one anywhere in the home (a file the agent wrote) is stripped from the template.
 */
export function pipedSecretValues(plan: Pick<SandboxPlan, "logins" | "agentEnv">): string[] {
  const values = new Set<string>();
  const walk = (value: unknown, key: string) => {
    if (typeof value === "string") {
      if (value.length >= 12 && SECRET_KEY.test(key)) values.add(value);
    } else if (Array.isArray(value)) for (const item of value) walk(item, key);
    else if (value && typeof value === "object") for (const [name, item] of Object.entries(value)) walk(item, SECRET_KEY.test(key) ? key : name);
  };
  for (const login of plan.logins) {
    if (login.status !== "found") continue;
    for (const file of login.files) {
      const text = file.content.toString("utf8");
      try {
        walk(JSON.parse(text), "");
      } catch {
        if (text.trim().length >= 12) values.add(text.trim());
      }
    }
  }
  for (const [name, value] of Object.entries(plan.agentEnv)) {
    if ((Object.hasOwn(PROVIDER_LOGIN_ENV, name) || SECRET_KEY.test(name)) && value.length >= 8) values.add(value);
  }
  return [...values];
}

export interface TemplateInfo {
  name: string;
  tag: string;
  id: string;
  /** The sandbox it was saved from, and that sandbox's project. */
  source: string;
  project: string;
  baseImage: string;
  createdAt: string;
  sizeBytes: number | undefined;
}

function toTemplate(image: { id: string; tags: string[]; labels: Record<string, string>; createdAt: string; sizeBytes?: number }, tag: string): TemplateInfo {
  return {
    name: image.labels[TEMPLATE_LABELS.template] ?? "",
    tag,
    id: image.id,
    source: image.labels[TEMPLATE_LABELS.source] ?? "",
    project: image.labels[LABELS.project] ?? "",
    baseImage: image.labels[TEMPLATE_LABELS.base] ?? "",
    createdAt: image.labels[TEMPLATE_LABELS.created] ?? image.createdAt,
    sizeBytes: image.sizeBytes,
  };
}

/** This user's templates of this login, by name. Untagged leftovers of a re-save are not templates. */
export async function listTemplates(runtime: ContainerRuntime, identity: Pick<SandboxIdentity, "login" | "owner">): Promise<TemplateInfo[]> {
  const images = await runtime.listImages({ labels: { [LABELS.managed]: "true", [LABELS.login]: identity.login, [TEMPLATE_LABELS.template]: undefined } });
  return images
    .filter((image) => image.labels[LABELS.owner] === identity.owner)
    .flatMap((image) => {
      const name = image.labels[TEMPLATE_LABELS.template] ?? "";
      if (!TEMPLATE_NAME.test(name)) return [];
      const tag = templateTag(identity, name);
      return image.tags.includes(tag) ? [toTemplate(image, tag)] : [];
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export async function findTemplate(runtime: ContainerRuntime, identity: Pick<SandboxIdentity, "login" | "owner">, name: string): Promise<TemplateInfo> {
  const tag = templateTag(identity, name);
  const image = await runtime.inspectImage(tag);
  // By the labels, not the tag alone: an image someone tagged so by hand is not this user's template.
  if (!image || image.labels[TEMPLATE_LABELS.template] !== name || image.labels[LABELS.owner] !== identity.owner || image.labels[LABELS.login] !== identity.login) {
    throw new CliError("SBX_TEMPLATE_NOT_FOUND", `There is no template "${name}" of the login ${identity.login}.`, {
      hint: "See your templates with `sbx ls --templates`; save one with `sbx save <sandbox> <template>`.",
    });
  }
  return toTemplate(image, tag);
}

/**
 * Makes the plan start from the template: its image instead of the sandbox image (never built
 * over: `ensureImage` finds it), and its image id as the image inputs, so a sandbox is replaced
 * when the template is saved again — and, like any sandbox, not otherwise. Hardening, mounts, the
 * network and the login pipe are the plan's own, unchanged.
 */
export function applyTemplate(plan: SandboxPlan, template: TemplateInfo): void {
  const inputs = `template:${template.id}`;
  plan.image = { ...plan.image, tag: template.tag, inputsHash: inputs, baseImage: template.baseImage || plan.image.baseImage };
  plan.spec.image = template.tag;
  plan.spec.labels = { ...plan.spec.labels, [LABELS.imageInputs]: inputs, [TEMPLATE_LABELS.template]: template.name };
}

/**
 * The template a plan starts from: the one asked for, else the one the existing sandbox was made
 * from (so `sbx up` in a sandbox created with `--template` keeps its tools rather than replacing
 * it with a plain one). `--rebuild` and `--base-image` build the sandbox image, which a template
 * is not.
 */
export async function chooseTemplate(
  runtime: ContainerRuntime,
  plan: SandboxPlan,
  options: {
    template?: string | undefined;
    rebuild?: boolean | undefined;
    baseImage?: string | undefined;
    log?: (line: string) => void;
    /** The caller's inspect of the sandbox's name, when it asked already (one round trip, not two). */
    found?: Promise<ContainerInfo | undefined>;
  },
): Promise<TemplateInfo | undefined> {
  let name = options.template;
  if (name !== undefined) {
    validateTemplateName(name);
    if (options.rebuild || options.baseImage) {
      throw new CliError("SBX_USAGE", `--template ${name} cannot be combined with ${options.rebuild ? "--rebuild" : "--base-image"}: a template is saved, not built.`, {
        hint: "Drop that option, or start without --template to build the sandbox image.",
        exitCode: 2,
      });
    }
  } else {
    const existing = await (options.found ?? runtime.inspectContainer(plan.spec.name));
    name = existing?.labels[TEMPLATE_LABELS.template];
    if (name === undefined || !TEMPLATE_NAME.test(name) || options.rebuild || options.baseImage) return undefined;
    const kept = await findTemplate(runtime, plan.identity, name).catch(() => undefined);
    if (!kept) {
      options.log?.(`sbx: the template ${name} that ${plan.spec.name} was made from is gone; it becomes a plain sandbox`);
      return undefined;
    }
    applyTemplate(plan, kept);
    return kept;
  }
  const template = await findTemplate(runtime, plan.identity, name);
  applyTemplate(plan, template);
  return template;
}

export interface SaveTemplateOptions {
  /** The running sandbox to save. */
  container: ContainerInfo;
  identity: Pick<SandboxIdentity, "login" | "owner">;
  template: string;
  /** What sbx pipes into this login's sandboxes (pipedSecretValues). */
  secretValues: readonly string[];
  /** @default SBX_TEMPLATE_MAX_BYTES, else DEFAULT_TEMPLATE_MAX_BYTES */
  maxBytes?: number;
  log: (line: string) => void;
  /** The sandbox user's ids in the image. */
  uid: number;
  gid: number;
}

export interface SavedTemplate {
  template: TemplateInfo;
  report: HomeArchiveReport;
}

/**
 * The command that streams the home out. Absolute paths (the agent controls `PATH` and
 * `~/.local/bin`, not the read-only `/usr`); `head -c` ends the stream at the bound inside the
 * sandbox (the host counts again), whatever the tar would go on to send (a sparse 100 GB file).
 */
export function homeArchiveCommand(maxBytes: number): string[] {
  const excluded = [STATE_DIR, PROJECT_STORE_DIR.split("/").slice(0, -1).join("/"), `${SANDBOX_HOME}/.npm`].map((path) => `--exclude=./${path.slice(SANDBOX_HOME.length + 1)}`);
  return ["/bin/sh", "-c", `cd ${SANDBOX_HOME} && /bin/tar --create --file=- --one-file-system --hard-dereference --numeric-owner ${excluded.join(" ")} . 2>/dev/null | /usr/bin/head -c ${maxBytes + 1}`];
}

/**
 * Saves the sandbox's home as the template image `FROM` the sandbox image the sandbox runs (the
 * template's own base, when it was itself made from a template: layers never pile up, the home
 * already holds what the old template seeded). A template of the same name is replaced.
 */
export async function saveTemplate(runtime: ContainerRuntime, options: SaveTemplateOptions): Promise<SavedTemplate> {
  const tag = templateTag(options.identity, options.template);
  const maxBytes = options.maxBytes ?? DEFAULT_TEMPLATE_MAX_BYTES;
  const running = await runtime.inspectImage(options.container.image);
  const baseImage = running?.labels[TEMPLATE_LABELS.base] || options.container.image;
  if (!(await runtime.inspectImage(baseImage))) {
    throw new CliError("SBX_TEMPLATE_BASE_MISSING", `The sandbox image ${baseImage} that ${options.container.name} runs is no longer on this engine.`, {
      hint: "Run `sbx up` in that project (it rebuilds the image and replaces the sandbox), install the tools again, then save.",
    });
  }
  const previous = await runtime.inspectImage(tag);
  const contextDir = mkdtempSync(join(tmpdir(), "sbx-template-"));
  try {
    // The archive is written as one file for the builder; it is never unpacked on the host.
    const archive = createWriteStream(join(contextDir, "home.tar"), { mode: 0o600 });
    const incoming = new PassThrough();
    let stopped = false;
    // The exec pushes without backpressure; once the filter has refused, the rest is dropped.
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (!stopped) incoming.write(chunk);
        done();
      },
    });
    options.log(`sbx: reading the home of ${options.container.name}`);
    const filtering = filterHomeArchive(incoming, archive, {
      ...templateArchiveRules({ secretValues: options.secretValues }),
      maxBytes,
      uid: options.uid,
      gid: options.gid,
    }).finally(() => {
      stopped = true;
    });
    const reading = runtime
      .exec(options.container.name, { cmd: homeArchiveCommand(maxBytes), stdout: sink })
      .finally(() => incoming.end());
    const [report, result] = await Promise.all([filtering, reading]);
    if (result.exitCode !== 0) {
      throw new CliError("SBX_TEMPLATE_READ_FAILED", `Reading the home of ${options.container.name} failed (exit ${result.exitCode}).`, { hint: "Check the sandbox runs (`sbx status`) and save again." });
    }
    writeFileSync(join(contextDir, "Dockerfile"), `FROM ${baseImage}\nADD home.tar ${TEMPLATE_HOME}/\n`);
    options.log(`sbx: building template ${options.template} (${report.files} files, ${(report.bytes / 1024 / 1024).toFixed(1)} MiB) on ${baseImage}`);
    await runtime.buildImage({
      contextDir,
      tag,
      labels: {
        [LABELS.managed]: "true",
        [LABELS.login]: options.identity.login,
        [LABELS.owner]: options.identity.owner,
        [LABELS.project]: options.container.labels[LABELS.project] ?? "",
        [TEMPLATE_LABELS.template]: options.template,
        [TEMPLATE_LABELS.base]: baseImage,
        [TEMPLATE_LABELS.source]: options.container.name,
        [TEMPLATE_LABELS.created]: new Date().toISOString(),
      },
    });
    const image = await runtime.inspectImage(tag);
    if (!image) throw new CliError("SBX_TEMPLATE_READ_FAILED", `The template ${options.template} was built but is missing.`);
    // The template saved before under this name, untagged now: gone unless a sandbox still runs it.
    if (previous && previous.id !== image.id) {
      await runtime.removeImage(previous.id).catch((error: unknown) => {
        if (!isRuntimeError(error, "SBX_IMAGE_IN_USE")) throw error;
      });
    }
    return { template: toTemplate(image, tag), report };
  } finally {
    rmSync(contextDir, { recursive: true, force: true });
  }
}

/** SBX_TEMPLATE_MAX_BYTES, when set: a positive whole number of bytes. */
export function templateMaxBytes(env: Record<string, string | undefined>): number {
  const raw = env.SBX_TEMPLATE_MAX_BYTES;
  if (raw === undefined || raw === "") return DEFAULT_TEMPLATE_MAX_BYTES;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new CliError("SBX_USAGE", `SBX_TEMPLATE_MAX_BYTES must be a positive number of bytes, not "${raw.slice(0, 40)}".`, { exitCode: 2 });
  }
  return value;
}
