import { DockerRuntime } from "@sbx/container-runtime";
import { attach } from "../attach.js";
import { ENTRYPOINT, sandboxIdentity } from "../sandbox-identity.js";

export async function shell(): Promise<number> {
  const identity = sandboxIdentity(process.cwd());
  const runtime = new DockerRuntime();
  try {
    return await attach(runtime, identity.containerName, { cmd: [...ENTRYPOINT, "agent", "bash", "-l"] });
  } finally {
    runtime.close();
  }
}
