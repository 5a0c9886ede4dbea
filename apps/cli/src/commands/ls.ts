import { basename } from "node:path";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { CONTAINER_PREFIX, LABELS, ownedBy, sandboxIdentity, type SandboxIdentity } from "../sandbox-identity.js";
import { NETWORK_LABELS } from "../sandbox-network.js";
import { reviveKeeper } from "../keeper-status.js";

export interface LsOptions {
  json?: boolean;
  /** Whose sandboxes: this login of this host user. @default the current login (SBX_LOGIN or the username) */
  identity?: Pick<SandboxIdentity, "login" | "owner">;
  /** @default process.stdout */
  out?: NodeJS.WritableStream;
  /** The time ages are counted to (tests). @default Date.now() */
  now?: number;
}

/**
 * Lists this user's sandboxes of the current login. On a shared engine other users' sandboxes
 * carry the same managed label; their names and project paths are theirs, not ours to print.
 */
export async function ls(runtime: ContainerRuntime, options: LsOptions = {}): Promise<number> {
  const identity = options.identity ?? sandboxIdentity(process.cwd());
  const out = options.out ?? process.stdout;
  const containers = (await runtime.listContainers({ labels: { [LABELS.managed]: "true", [LABELS.login]: identity.login } })).filter(
    // Egress proxies belong to their sandbox (`sbx status` shows them), they are not sandboxes.
    (container) => container.name.startsWith(CONTAINER_PREFIX) && ownedBy(container.labels, identity) && container.labels[NETWORK_LABELS.role] !== "egress",
  );
  // A running sandbox of this login needs its keeper: bring it back if it died.
  if (!options.identity && containers.some((container) => container.state === "running")) reviveKeeper(identity.login);
  const now = options.now ?? Date.now();
  const rows = containers
    .map((container) => {
      const created = Date.parse(container.createdAt);
      return {
        /** The container's name (what `docker` calls it). */
        name: container.name,
        /** The sandbox's name within its project (`--name`); null for the project's default sandbox. */
        sandbox: container.labels[LABELS.name] ?? null,
        project: container.labels[LABELS.project] ?? "",
        agent: container.labels[LABELS.agent] ?? null,
        state: container.state,
        image: container.image,
        network: container.labels[NETWORK_LABELS.tier] ?? "full",
        createdAt: Number.isNaN(created) ? null : new Date(created).toISOString(),
        ageSeconds: Number.isNaN(created) ? null : Math.max(0, Math.floor((now - created) / 1000)),
        volume: container.mounts.find((mount) => mount.type === "volume")?.source ?? "",
      };
    })
    // By project, its default sandbox first, then its named ones.
    .sort((a, b) => a.project.localeCompare(b.project) || (a.sandbox ?? "").localeCompare(b.sandbox ?? ""));
  if (options.json) {
    out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    out.write(`no sandboxes of the login ${identity.login} (start one with \`sbx up\` or \`sbx create --name <name>\`)\n`);
    return 0;
  }
  const columns = ["NAME", "PROJECT", "AGENT", "STATE", "IMAGE", "NETWORK", "AGE"] as const;
  const table = [
    [...columns],
    ...rows.map((row) => [row.sandbox ?? "(default)", basename(row.project) || "?", row.agent ?? "-", row.state, row.image, row.network, row.ageSeconds === null ? "?" : formatAge(row.ageSeconds)]),
  ];
  const widths = columns.map((_, index) => Math.max(...table.map((cells) => (cells[index] as string).length)));
  for (const cells of table) out.write(`${cells.map((cell, index) => cell.padEnd(widths[index] as number)).join("  ").trimEnd()}\n`);
  return 0;
}

/** `45s`, `12m`, `3h`, `2d`: the largest whole unit, as `docker ps` rounds. */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}
