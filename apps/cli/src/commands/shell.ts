import { DockerRuntime } from "@sbx/container-runtime";
import { attach } from "../attach.js";
import { reviveKeeper } from "../keeper-status.js";
import { ENTRYPOINT, sandboxIdentity } from "../sandbox-identity.js";

export async function shell(options: { name?: string } = {}): Promise<number> {
  const identity = sandboxIdentity(process.cwd(), process.env, options.name);
  const runtime = new DockerRuntime();
  try {
    // The shell may refresh the login inside: the keeper must be there to carry it to the host.
    reviveKeeper(identity.login);
    return await attach(runtime, identity.containerName, { cmd: [...ENTRYPOINT, "agent", "bash", "-l"] });
  } finally {
    runtime.close();
  }
}
