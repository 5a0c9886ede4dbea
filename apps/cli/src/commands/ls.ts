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
  const rows = containers.map((container) => ({
    name: container.name,
    state: container.state,
    project: container.labels[LABELS.project] ?? "",
    image: container.image,
    volume: container.mounts.find((mount) => mount.type === "volume")?.source ?? "",
  }));
  if (options.json) {
    out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    out.write(`no sandboxes of the login ${identity.login} (start one with \`sbx up\`)\n`);
    return 0;
  }
  const header = { name: "NAME", state: "STATE", project: "PROJECT", image: "IMAGE", volume: "VOLUME" };
  const all = [header, ...rows];
  const width = (key: keyof typeof header) => Math.max(...all.map((row) => row[key].length));
  for (const row of all) {
    out.write(`${(["name", "state", "project", "image", "volume"] as const).map((key) => row[key].padEnd(width(key))).join("  ").trimEnd()}\n`);
  }
  return 0;
}
