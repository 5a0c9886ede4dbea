import { DockerRuntime } from "@sbx/container-runtime";
import { sandboxIdentity } from "../sandbox-identity.js";
import { removeEgress } from "../sandbox-network.js";

export async function down(): Promise<number> {
  const identity = sandboxIdentity(process.cwd());
  const runtime = new DockerRuntime();
  try {
    const existing = await runtime.inspectContainer(identity.containerName);
    if (!existing) {
      if (await removeEgress(runtime, identity)) process.stderr.write(`sbx: removed the egress proxy and internal network left by ${identity.containerName}.\n`);
      process.stderr.write(`sbx: no sandbox for ${identity.projectDir}; nothing to do.\n`);
      return 0;
    }
    await runtime.removeContainer(identity.containerName);
    // After the sandbox: its internal network is in use until then.
    await removeEgress(runtime, identity);
    process.stderr.write(`sbx: removed ${identity.containerName}; the state volume ${identity.volumeName} is kept.\n`);
    return 0;
  } finally {
    runtime.close();
  }
}
