import { DockerRuntime } from "@sbx/container-runtime";
import { EGRESS_LOG_FILE, parseEgressLog, summarizeEgressLog } from "@sbx/egress-proxy";
import { CliError } from "../cli-error.js";
import { sandboxIdentity } from "../sandbox-identity.js";
import { egressNames, NETWORK_LABELS } from "../sandbox-network.js";

/** `sbx network log`: the egress proxy's decisions, per destination, with the rule that decided. */
export async function networkLog(options: { json?: boolean; name?: string }): Promise<number> {
  const identity = sandboxIdentity(process.cwd(), process.env, options.name);
  const { proxyName } = egressNames(identity);
  const runtime = new DockerRuntime();
  try {
    const [sandbox, proxy] = await Promise.all([runtime.inspectContainer(identity.containerName), runtime.inspectContainer(proxyName)]);
    const tier = sandbox?.labels[NETWORK_LABELS.tier] ?? proxy?.labels[NETWORK_LABELS.tier] ?? "full";
    if (!proxy) {
      const text = `sbx: ${sandbox ? `${identity.containerName} runs with network tier ${tier}` : `no sandbox for ${identity.projectDir}`}: no egress proxy, so nothing is logged (only internet-only and allowlist go through one).\n`;
      if (options.json) process.stdout.write(`${JSON.stringify({ tier, proxy: null, destinations: [] }, null, 2)}\n`);
      else process.stderr.write(text);
      return 0;
    }
    if (proxy.state !== "running") {
      throw new CliError("SBX_EGRESS_PROXY_DOWN", `The egress proxy ${proxyName} is ${proxy.state}, so its log is gone with it and the sandbox has no network.`, {
        hint: "Run `sbx up --detach` to start it again.",
      });
    }
    const read = await runtime.exec(proxyName, { cmd: ["sh", "-c", `cat ${EGRESS_LOG_FILE}.1 ${EGRESS_LOG_FILE} 2>/dev/null; true`] });
    const entries = parseEgressLog(read.stdout.toString("utf8"));
    const destinations = summarizeEgressLog(entries);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ tier, proxy: proxyName, destinations, entries }, null, 2)}\n`);
      return 0;
    }
    if (destinations.length === 0) {
      process.stdout.write(`network ${tier}: nothing reached or refused yet.\n`);
      return 0;
    }
    const width = Math.min(48, Math.max(...destinations.map((item) => item.destination.length)));
    const lines = destinations.map(
      (item) => `${item.decision.padEnd(8)} ${item.destination.padEnd(width)}  ${item.rule}${item.count > 1 ? ` ×${item.count}` : ""}  ${item.reason}`,
    );
    process.stdout.write(`network ${tier} (${proxyName}):\n${lines.join("\n")}\n`);
    return 0;
  } finally {
    runtime.close();
  }
}
