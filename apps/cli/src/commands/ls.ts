import { DockerRuntime } from "@sbx/container-runtime";
import { LABELS } from "../sandbox-identity.js";
import { NETWORK_LABELS } from "../sandbox-network.js";

export async function ls(options: { json?: boolean }): Promise<number> {
  const runtime = new DockerRuntime();
  try {
    // Egress proxies belong to their sandbox (`sbx status` shows them), they are not sandboxes.
    const containers = (await runtime.listContainers({ labels: { [LABELS.managed]: "true" } })).filter((container) => container.labels[NETWORK_LABELS.role] !== "egress");
    const rows = containers.map((container) => ({
      name: container.name,
      state: container.state,
      project: container.labels[LABELS.project] ?? "",
      image: container.image,
      volume: container.mounts.find((mount) => mount.type === "volume")?.source ?? "",
    }));
    if (options.json) {
      process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write("no sandboxes (start one with `sbx up`)\n");
      return 0;
    }
    const header = { name: "NAME", state: "STATE", project: "PROJECT", image: "IMAGE", volume: "VOLUME" };
    const all = [header, ...rows];
    const width = (key: keyof typeof header) => Math.max(...all.map((row) => row[key].length));
    for (const row of all) {
      process.stdout.write(`${(["name", "state", "project", "image", "volume"] as const).map((key) => row[key].padEnd(width(key))).join("  ").trimEnd()}\n`);
    }
    return 0;
  } finally {
    runtime.close();
  }
}
