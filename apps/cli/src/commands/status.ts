import { DockerRuntime } from "@sbx/container-runtime";
import { sandboxIdentity } from "../sandbox-identity.js";
import { egressNames, NETWORK_LABELS } from "../sandbox-network.js";

export async function status(options: { json?: boolean }): Promise<number> {
  const identity = sandboxIdentity(process.cwd());
  const runtime = new DockerRuntime();
  try {
    const [container, volume, proxy] = await Promise.all([
      runtime.inspectContainer(identity.containerName),
      runtime.inspectVolume(identity.volumeName),
      runtime.inspectContainer(egressNames(identity).proxyName),
    ]);
    const report = {
      project: identity.projectDir,
      container: container
        ? { name: container.name, id: container.id.slice(0, 12), state: container.state, image: container.image, user: container.user, createdAt: container.createdAt }
        : { name: identity.containerName, state: "absent" },
      volume: { name: identity.volumeName, exists: volume !== undefined },
      network: container?.labels[NETWORK_LABELS.tier] ?? "full",
      egressProxy: proxy ? { name: proxy.name, state: proxy.state } : null,
      endpoint: runtime.endpoint.display,
    };
    if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `project  ${report.project}`,
          `sandbox  ${report.container.name} (${report.container.state})${"image" in report.container ? ` · ${report.container.image}` : ""}`,
          `volume   ${report.volume.name}${report.volume.exists ? "" : " (not created yet)"}`,
          `network  ${report.network}${report.egressProxy ? ` (egress proxy ${report.egressProxy.name}: ${report.egressProxy.state})` : ""}`,
          `docker   ${report.endpoint}`,
          "",
        ].join("\n"),
      );
    }
    return 0;
  } finally {
    runtime.close();
  }
}
