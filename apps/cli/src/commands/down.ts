import type { ContainerRuntime } from "@sbx/container-runtime";
import { CliError } from "../cli-error.js";
import { LABELS, sandboxIdentity } from "../sandbox-identity.js";

export async function down(runtime: ContainerRuntime): Promise<number> {
  const identity = sandboxIdentity(process.cwd());
  const existing = await runtime.inspectContainer(identity.containerName);
  if (!existing) {
    process.stderr.write(`sbx: no sandbox for ${identity.projectDir}; nothing to do.\n`);
    return 0;
  }
  const owner = existing.labels[LABELS.owner];
  if (owner !== undefined && owner !== identity.owner) {
    throw new CliError("SBX_SANDBOX_NOT_YOURS", `The sandbox ${identity.containerName} belongs to another user of this Docker engine (${owner}); sbx leaves it alone.`, {
      hint: "Run `sbx down` as that user.",
      exitCode: 3,
    });
  }
  await runtime.removeContainer(identity.containerName);
  process.stderr.write(`sbx: removed ${identity.containerName}; the state volume ${identity.volumeName} is kept.\n`);
  return 0;
}
