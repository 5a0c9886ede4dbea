import { homedir } from "node:os";
import { DockerRuntime } from "@sbx/container-runtime";
import { describeKeeper, ensureKeeper, keeperDisabled, keeperHealth, keeperStateDir } from "@sbx/credential-keeper";
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
      keeper: keeperReport(identity.login, container?.state === "running"),
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
          `keeper   ${report.keeper.summary}`,
          "",
        ].join("\n"),
      );
    }
    return 0;
  } finally {
    runtime.close();
  }
}

/** The login keeper's state; restarted here if it died while a sandbox of the login runs. */
function keeperReport(login: string, sandboxRunning: boolean) {
  const stateDir = keeperStateDir(process.env, homedir());
  const health = keeperHealth(stateDir, login);
  const restarted = health.state === "dead" && sandboxRunning && !keeperDisabled(process.env);
  if (restarted) ensureKeeper({ login, stateDir, env: process.env });
  const summary = `${describeKeeper(health)}${restarted ? " — restarted it" : ""}`;
  return { state: restarted ? "restarted" : health.state, summary, ...(health.file ? { lastSyncAt: health.file.lastSyncAt ?? null, providers: health.file.providers } : {}) };
}
