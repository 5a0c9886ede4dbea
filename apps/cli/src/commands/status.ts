import type { ContainerRuntime } from "@sbx/container-runtime";
import { keeperReport } from "../keeper-status.js";
import { sandboxIdentity, sandboxMismatch } from "../sandbox-identity.js";
import { egressNames, NETWORK_LABELS } from "../sandbox-network.js";

/** Where the runtime talks to, as a person reads it (`unix:///var/run/docker.sock`, `memory://`). */
export const runtimeEndpoint = (runtime: ContainerRuntime): string => (runtime as { endpoint?: { display: string } }).endpoint?.display ?? `${runtime.driver}://`;

export async function status(runtime: ContainerRuntime, options: { json?: boolean; name?: string; cwd?: string }): Promise<number> {
  const identity = sandboxIdentity(options.cwd ?? process.cwd(), process.env, options.name);
  const [container, volume, proxy] = await Promise.all([
    runtime.inspectContainer(identity.containerName),
    runtime.inspectVolume(identity.volumeName),
    runtime.inspectContainer(egressNames(identity).proxyName),
  ]);
  // A container under this sandbox's name that another project, user or login made: shown as such,
  // never as this project's sandbox (up, exec and down refuse it with the same error).
  const mismatch = container && sandboxMismatch(container.name, container.labels, identity);
  const report = {
    project: identity.projectDir,
    name: identity.name ?? null,
    container: container
      ? {
          name: container.name,
          id: container.id.slice(0, 12),
          state: container.state,
          image: container.image,
          user: container.user,
          createdAt: container.createdAt,
          ...(mismatch ? { mismatch: mismatch.code, mismatchMessage: mismatch.message } : {}),
        }
      : { name: identity.containerName, state: "absent" },
    volume: { name: identity.volumeName, exists: volume !== undefined },
    network: container?.labels[NETWORK_LABELS.tier] ?? "full",
    egressProxy: proxy ? { name: proxy.name, state: proxy.state } : null,
    endpoint: runtimeEndpoint(runtime),
    keeper: keeperReport(identity.login, container?.state === "running"),
  };
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    process.stdout.write(
      [
        `project  ${report.project}`,
        `sandbox  ${report.container.name} (${report.container.state})${"image" in report.container ? ` · ${report.container.image}` : ""}${mismatch ? ` · not this project's sandbox: ${mismatch.message}` : ""}`,
        `volume   ${report.volume.name}${report.volume.exists ? "" : " (not created yet)"}`,
        `network  ${report.network}${report.egressProxy ? ` (egress proxy ${report.egressProxy.name}: ${report.egressProxy.state})` : ""}`,
        `docker   ${report.endpoint}`,
        `keeper   ${report.keeper.summary}`,
        "",
      ].join("\n"),
    );
  }
  return 0;
}
