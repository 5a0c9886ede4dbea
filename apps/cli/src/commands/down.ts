import { DockerRuntime } from "@sbx/container-runtime";
import { sandboxIdentity } from "../sandbox-identity.js";

export async function down(): Promise<number> {
  const identity = sandboxIdentity(process.cwd());
  const runtime = new DockerRuntime();
  try {
    const existing = await runtime.inspectContainer(identity.containerName);
    if (!existing) {
      process.stderr.write(`sbx: no sandbox for ${identity.projectDir}; nothing to do.\n`);
      return 0;
    }
    await runtime.removeContainer(identity.containerName);
    process.stderr.write(`sbx: removed ${identity.containerName}; the state volume ${identity.volumeName} is kept.\n`);
    return 0;
  } finally {
    runtime.close();
  }
}
