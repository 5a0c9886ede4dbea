import { realpath } from "node:fs/promises";
import { homedir } from "node:os";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { CliError } from "../cli-error.js";
import { watchHostExecuted } from "../host-exec-files.js";
import { LABELS, otherProject, sandboxIdentity } from "../sandbox-identity.js";
import { removeEgress } from "../sandbox-network.js";

export interface DownOptions {
  /** One of the project's named sandboxes (`--name`). @default the project's default sandbox */
  name?: string;
  /** @default process.cwd() */
  cwd?: string;
}

export async function down(runtime: ContainerRuntime, options: DownOptions = {}): Promise<number> {
  const identity = sandboxIdentity(options.cwd ?? process.cwd(), process.env, options.name);
  // Hole 16: the session ends here; report what the sandbox changed that the host will run.
  const hostExecuted = watchHostExecuted({ projectDir: await realpath(identity.projectDir), home: homedir(), env: process.env, projectId: identity.projectId, log: (line) => process.stderr.write(`${line}\n`) });
  const existing = await runtime.inspectContainer(identity.containerName);
  if (!existing) {
    if (await removeEgress(runtime, identity)) process.stderr.write(`sbx: removed the egress proxy and internal network left by ${identity.containerName}.\n`);
    process.stderr.write(`sbx: no sandbox for ${identity.projectDir}; nothing to do.\n`);
    await hostExecuted.check({ end: true });
    return 0;
  }
  const owner = existing.labels[LABELS.owner];
  if (owner !== undefined && owner !== identity.owner) {
    throw new CliError("SBX_SANDBOX_NOT_YOURS", `The sandbox ${identity.containerName} belongs to another user of this Docker engine (${owner}); sbx leaves it alone.`, {
      hint: "Run `sbx down` as that user.",
      exitCode: 3,
    });
  }
  // Another project's under this name (an older sbx's, a hand-made one) is not this project's to remove.
  const other = otherProject(existing.name, existing.labels, identity);
  if (other) throw other;
  await runtime.removeContainer(identity.containerName);
  // After the sandbox: its internal network is in use until then.
  await removeEgress(runtime, identity);
  process.stderr.write(`sbx: removed ${identity.containerName}; the state volume ${identity.volumeName} is kept.\n`);
  await hostExecuted.check({ end: true });
  return 0;
}
