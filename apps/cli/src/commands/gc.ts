import { isRuntimeError, type ContainerRuntime } from "@sbx/container-runtime";
import { CliError } from "../cli-error.js";
import { canAsk, confirm } from "../confirm.js";
import { CONTAINER_PREFIX, LABELS, ownedBy, sandboxIdentity, type SandboxIdentity } from "../sandbox-identity.js";
import { NETWORK_LABELS } from "../sandbox-network.js";
import { listTemplates, TEMPLATE_LABELS } from "../templates.js";

export interface GcOptions {
  /** Also remove state volumes no sandbox mounts: saved logins and every project's conversations. */
  volumes?: boolean;
  dryRun?: boolean;
  yes?: boolean;
  json?: boolean;
  /** Whose sandboxes: this login of this host user. @default the current login (SBX_LOGIN or the username) */
  identity?: Pick<SandboxIdentity, "login" | "owner">;
  /** `--login`: another of this user's logins to clean up. @default the current login */
  login?: string;
  /** Also delete this login's saved templates no sandbox runs (`sbx gc --templates`): saved work, so never by default. */
  templates?: boolean;
}

export interface GcPlan {
  /** Whose: the login this plan is for (other logins' and other users' things are never in it). */
  login: string;
  /** Sandboxes that are not running; their state is on the volume, nothing of theirs is lost. */
  containers: { name: string; project: string; state: string }[];
  /** sbx images no remaining sandbox uses, except the newest (so the next `sbx up` builds nothing). */
  images: { ref: string; createdAt: string }[];
  /** With --volumes: state volumes no remaining sandbox mounts. */
  volumes: { name: string; login: string }[];
  /** Internal networks of sandboxes that are gone (nothing but deleted containers on them). */
  networks: { name: string }[];
  /** With --templates: saved templates no remaining sandbox runs. */
  templates?: { name: string; tag: string; createdAt: string }[];
}

const MANAGED = { labels: { [LABELS.managed]: "true" } };

/**
 * What `sbx gc` would remove. Reads only. On a shared engine other users' and other logins'
 * sandboxes carry the same managed label: only what this login of this host user made is a
 * candidate (its login and owner labels, the `sbx-` name prefix); everything the engine still
 * uses — anyone's container — is kept.
 */
export async function planGc(runtime: ContainerRuntime, options: Pick<GcOptions, "volumes" | "identity" | "login" | "templates">): Promise<GcPlan> {
  const identity = options.identity ?? sandboxIdentity(process.cwd(), options.login ? { ...process.env, SBX_LOGIN: options.login } : process.env);
  const [containers, images, volumes, networks] = await Promise.all([
    runtime.listContainers(MANAGED),
    runtime.listImages(MANAGED),
    options.volumes ? runtime.listVolumes(MANAGED) : Promise.resolve([]),
    runtime.listNetworks(MANAGED),
  ]);
  const mine = (container: { name: string; labels: Record<string, string> }) => container.name.startsWith(CONTAINER_PREFIX) && ownedBy(container.labels, identity);
  // An egress proxy goes with its sandbox (`<sandbox>-egress`): stale once that one is not running.
  const isProxy = (container: { labels: Record<string, string> }) => container.labels[NETWORK_LABELS.role] === "egress";
  const runningSandboxes = new Set(containers.filter((container) => !isProxy(container) && container.state === "running").map((container) => container.name));
  const isStale = (container: (typeof containers)[number]) =>
    mine(container) && (isProxy(container) ? !runningSandboxes.has(container.name.replace(/-egress$/, "")) : container.state !== "running");
  const stale = containers.filter(isStale);
  const kept = containers.filter((container) => !isStale(container));
  const inUse = new Set(kept.map((container) => container.image));
  // Templates are saved work: kept (unless --templates), and so is the sandbox image each is built on.
  const templates = await listTemplates(runtime, identity);
  const templatesGone = options.templates ? templates.filter((template) => !inUse.has(template.tag) && !inUse.has(template.id)) : [];
  for (const template of templates) if (!templatesGone.includes(template)) inUse.add(template.baseImage);
  // Images are shared by content: only the ones this login built, and never the newest of each
  // kind (sandbox, egress proxy), so the next `sbx up` builds nothing.
  const ours = images.filter((image) => image.labels[LABELS.owner] === identity.owner && ownedBy(image.labels, identity) && image.labels[TEMPLATE_LABELS.template] === undefined);
  const newestOf = new Map<string, (typeof images)[number]>();
  for (const image of [...ours].sort((a, b) => b.createdAt.localeCompare(a.createdAt))) {
    const role = image.labels[NETWORK_LABELS.role] ?? "sandbox";
    if (!newestOf.has(role)) newestOf.set(role, image);
  }
  const newest = new Set(newestOf.values());
  const gone = new Set(stale.map((container) => container.name));
  const mounted = new Set(kept.flatMap((container) => container.mounts.filter((mount) => mount.type === "volume").map((mount) => mount.source)));
  return {
    login: identity.login,
    containers: stale.map((container) => ({ name: container.name, project: container.labels[LABELS.project] ?? "", state: container.state })),
    images: ours
      .filter((image) => !newest.has(image) && !image.tags.some((tag) => inUse.has(tag)) && !inUse.has(image.id))
      .map((image) => ({ ref: image.tags[0] ?? image.id, createdAt: image.createdAt }))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
    volumes: volumes
      .filter((volume) => ownedBy(volume.labels, identity) && !mounted.has(volume.name))
      .map((volume) => ({ name: volume.name, login: volume.labels[LABELS.login] ?? "" })),
    networks: networks.filter((network) => ownedBy(network.labels, identity) && network.containers.every((name) => gone.has(name))).map((network) => ({ name: network.name })),
    ...(options.templates ? { templates: templatesGone.map((template) => ({ name: template.name, tag: template.tag, createdAt: template.createdAt })) } : {}),
  };
}

/** Says what it will delete, asks (or needs --yes), then removes containers, images and volumes in that order. */
export async function gc(runtime: ContainerRuntime, options: GcOptions, stream: NodeJS.WritableStream = process.stderr): Promise<number> {
  const plan = await planGc(runtime, options);
  const count = plan.containers.length + plan.images.length + plan.volumes.length + plan.networks.length + (plan.templates?.length ?? 0);
  if (options.json) process.stdout.write(`${JSON.stringify({ dryRun: options.dryRun ?? false, ...plan }, null, 2)}\n`);
  else stream.write(describePlan(plan, options));
  if (count === 0 || options.dryRun) return 0;
  if (!options.yes) {
    if (!canAsk()) {
      throw new CliError("SBX_CONFIRM_REQUIRED", `sbx gc would delete ${count} item${count === 1 ? "" : "s"} and needs a yes first.`, {
        hint: "Run it in a terminal to answer, or pass --yes (see the list with --dry-run).",
        exitCode: 2,
      });
    }
    await confirm("Press Enter to delete them, or type n to keep everything:", "Stopped; nothing was deleted.");
  }
  for (const container of plan.containers) await runtime.removeContainer(container.name);
  for (const network of plan.networks) await runtime.removeNetwork(network.name);
  // Before the images: a template's base is deletable only once the template is gone.
  for (const template of plan.templates ?? []) {
    await runtime.removeImage(template.tag).catch((error: unknown) => {
      if (!isRuntimeError(error, "SBX_IMAGE_IN_USE")) throw error;
      stream.write(`sbx: kept template ${template.name}: a container uses it now.\n`);
    });
  }
  for (const image of plan.images) {
    // Someone may have started a container from it since the plan (a `docker run` of their own).
    await runtime.removeImage(image.ref).catch((error: unknown) => {
      if (!isRuntimeError(error, "SBX_IMAGE_IN_USE")) throw error;
      stream.write(`sbx: kept ${image.ref}: a container uses it now.\n`);
    });
  }
  for (const volume of plan.volumes) await runtime.removeVolume(volume.name);
  if (!options.json) stream.write(`sbx: deleted ${count} item${count === 1 ? "" : "s"}.\n`);
  return 0;
}

function describePlan(plan: GcPlan, options: Pick<GcOptions, "volumes" | "dryRun">): string {
  const lines: string[] = [];
  for (const container of plan.containers) lines.push(`  sandbox ${container.name} (${container.state}; project ${container.project || "unknown"})`);
  for (const network of plan.networks) lines.push(`  network ${network.name} (a sandbox's internal network; its sandbox is gone)`);
  for (const image of plan.images) lines.push(`  image ${image.ref} (built ${image.createdAt.slice(0, 10)}; no sandbox uses it)`);
  for (const template of plan.templates ?? []) lines.push(`  template ${template.name} (${template.tag}, saved ${template.createdAt.slice(0, 10)}; no sandbox runs it)`);
  for (const volume of plan.volumes) {
    lines.push(`  state volume ${volume.name}: the saved logins and every project's conversations of ${volume.login || "its login"} (notes in the inbox and the host's mirror in ~/.cache/sbx/sessions stay)`);
  }
  const none = options.volumes ? "nothing to remove" : "nothing to remove (state volumes are only removed with --volumes)";
  if (lines.length === 0) return `sbx gc: ${none} for the login ${plan.login}.\n`;
  return `sbx gc ${options.dryRun ? "would delete" : "will delete"} (login ${plan.login}):\n${lines.join("\n")}\n`;
}
