import { homedir } from "node:os";
import { basename } from "node:path";
import { DockerRuntime } from "@sbx/container-runtime";
import type { AgentName, NoteProject } from "@sbx/transcript-export";
import { CliError } from "../cli-error.js";
import { LABELS, ownedBy, sandboxIdentity, sandboxMismatch } from "../sandbox-identity.js";
import { SESSION_AGENTS } from "../session-stores.js";
import { exportCommand } from "./export.js";
import { exportRedactor } from "./export-redactor.js";


/** `sbx export`: the project's running sandbox (unless --source) and the host's own sessions. */
export async function exportFromCli(options: { source?: string; inbox?: string; agent?: string; json?: boolean; redact?: boolean }): Promise<number> {
  if (options.agent !== undefined && !SESSION_AGENTS.includes(options.agent as AgentName)) {
    throw new CliError("SBX_USAGE", `--agent must be one of ${SESSION_AGENTS.join(", ")}, not "${options.agent}".`, { exitCode: 2 });
  }
  let runtime: DockerRuntime | undefined;
  let sandbox: { runtime: DockerRuntime; container: string; volumeName: string; projectId: string; project: NoteProject } | undefined;
  const identity = sandboxIdentity(process.cwd());
  // Redacted unless the user asks for the raw text: the inbox is meant to be synced.
  const redact = options.redact === false ? undefined : await exportRedactor({ home: homedir(), env: process.env, cwd: identity.projectDir });
  if (!options.source) {
    try {
      runtime = new DockerRuntime();
      const found = await runtime.inspectContainer(identity.containerName);
      let container = found?.state === "running" ? found.name : undefined;
      if (!container) {
        // A named sandbox of the project mounts the same conversations volume: read them through it.
        const named = await runtime.listContainers({ labels: { [LABELS.managed]: "true", [LABELS.login]: identity.login, [LABELS.project]: identity.projectDir } });
        container = named.find(
          (info) => info.state === "running" && info.labels[LABELS.name] !== undefined && ownedBy(info.labels, identity) && !sandboxMismatch(info.name, info.labels, { ...identity, name: info.labels[LABELS.name] as string }),
        )?.name;
      }
      if (container) {
        const project = { name: basename(identity.projectDir), path: identity.projectDir };
        sandbox = { runtime, container, volumeName: identity.volumeName, projectId: identity.projectId, project };
      }
    } catch {
      // No engine (or a bad DOCKER_HOST): there is no sandbox to read, only the host's sessions.
    }
  }
  try {
    return await exportCommand({
      ...(options.source ? { source: options.source } : {}),
      ...(options.inbox ? { inbox: options.inbox } : {}),
      ...(options.agent ? { agent: options.agent as AgentName } : {}),
      ...(options.json ? { json: true } : {}),
      ...(sandbox ? { sandbox } : {}),
      ...(redact ? { redact } : {}),
      env: process.env,
      home: homedir(),
      stdout: process.stdout,
    });
  } finally {
    runtime?.close();
  }
}
