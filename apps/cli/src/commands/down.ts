import { realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { DockerRuntime } from "@sbx/container-runtime";
import { watchHostExecuted } from "../host-exec-files.js";
import { sandboxIdentity } from "../sandbox-identity.js";
import { removeEgress } from "../sandbox-network.js";

export async function down(): Promise<number> {
  const identity = sandboxIdentity(process.cwd());
  const runtime = new DockerRuntime();
  // Hole 16: the session ends here; report what the sandbox changed that the host will run.
  const hostExecuted = watchHostExecuted({ projectDir: await realpath(identity.projectDir), home: homedir(), env: process.env, projectId: identity.projectId, log: (line) => process.stderr.write(`${line}\n`) });
  try {
    const existing = await runtime.inspectContainer(identity.containerName);
    if (!existing) {
      if (await removeEgress(runtime, identity)) process.stderr.write(`sbx: removed the egress proxy and internal network left by ${identity.containerName}.\n`);
      process.stderr.write(`sbx: no sandbox for ${identity.projectDir}; nothing to do.\n`);
      await hostExecuted.check({ end: true });
      return 0;
    }
    await runtime.removeContainer(identity.containerName);
    // After the sandbox: its internal network is in use until then.
    await removeEgress(runtime, identity);
    process.stderr.write(`sbx: removed ${identity.containerName}; the state volume ${identity.volumeName} is kept.\n`);
    await hostExecuted.check({ end: true });
    return 0;
  } finally {
    runtime.close();
  }
}
