import { CliError } from "../cli-error.js";

/** `sbx exec [--tty|--no-tty] [--workdir DIR] [--name NAME] -- <cmd> [args…]`, parsed by hand to stay off commander. */
export function parseExecArgs(args: string[]): { command: string[]; tty?: boolean; workdir?: string; name?: string; help: boolean } {
  let tty: boolean | undefined;
  let workdir: string | undefined;
  let name: string | undefined;
  let index = 0;
  for (; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === "--") {
      index += 1;
      break;
    }
    if (arg === "-h" || arg === "--help") return { command: [], help: true };
    if (arg === "-t" || arg === "--tty") tty = true;
    else if (arg === "-T" || arg === "--no-tty") tty = false;
    else if (arg === "-w" || arg === "--workdir") workdir = args[++index];
    else if (arg === "-n" || arg === "--name") {
      name = args[++index];
      if (name === undefined) throw new CliError("SBX_USAGE", `${arg} needs a sandbox name.`, { hint: "Usage: sbx exec --name <name> -- <command> [args…]", exitCode: 2 });
    } else if (arg.startsWith("-")) {
      throw new CliError("SBX_USAGE", `Unknown option for exec: ${arg}.`, { hint: "Usage: sbx exec [--tty|--no-tty] [--workdir DIR] [--name NAME] -- <command> [args…]", exitCode: 2 });
    } else break;
  }
  const command = args.slice(index);
  return { command, help: false, ...(tty !== undefined ? { tty } : {}), ...(workdir ? { workdir } : {}), ...(name !== undefined ? { name } : {}) };
}

export const EXEC_USAGE = `Usage: sbx exec [options] -- <command> [args…]

Run a command in this project's running sandbox.

Options:
  -t, --tty          allocate a terminal (default: when stdin and stdout are terminals)
  -T, --no-tty       never allocate a terminal
  -w, --workdir DIR  working directory inside the sandbox (default: /workspace)
  -n, --name NAME    one of the project's named sandboxes (sbx create --name); default: the project's own
`;

export async function execFast(args: string[]): Promise<number> {
  const parsed = parseExecArgs(args);
  if (parsed.help) {
    process.stdout.write(EXEC_USAGE);
    return 0;
  }
  if (parsed.command.length === 0) {
    throw new CliError("SBX_USAGE", "sbx exec needs a command to run.", { hint: "For example: sbx exec -- ls -la", exitCode: 2 });
  }
  // Loaded here, not at the top: program.ts imports this module for EXEC_USAGE, and `sbx --help`
  // or `sbx up` must not pay for the runtime's module graph twice over.
  const [{ DockerRuntime }, { attach }, { sandboxIdentity }] = await Promise.all([
    import("@sbx/container-runtime"),
    import("../attach.js"),
    import("../sandbox-identity.js"),
  ]);
  // The name is checked before anything is asked of the engine. No label check here (nor in
  // bin/sbx): the name is built so that only this project's sandbox of that name can carry it
  // (sandboxContainerName), and `sbx up`/`create` refuse a container under it that is not.
  const identity = sandboxIdentity(process.cwd(), process.env, parsed.name);
  const runtime = new DockerRuntime();
  try {
    return await attach(runtime, identity.containerName, {
      cmd: parsed.command,
      ...(parsed.tty !== undefined ? { tty: parsed.tty } : {}),
      ...(parsed.workdir ? { workdir: parsed.workdir } : {}),
    });
  } finally {
    runtime.close();
  }
}

/**
 * `sbx exec-check <container>` (internal): bin/sbx runs it after `docker exec` exits 1, which is
 * also docker's status for a missing or stopped sandbox or an engine that does not answer. Exits
 * 0 when the sandbox is running (the 1 was the command's own), else explains with the usual code.
 */
export async function execCheck(container: string): Promise<number> {
  const { DockerRuntime, containerNotFound, containerNotRunning } = await import("@sbx/container-runtime");
  const runtime = new DockerRuntime();
  try {
    const info = await runtime.inspectContainer(container);
    if (!info) throw containerNotFound(container);
    if (info.state !== "running") throw containerNotRunning(info.state);
    return 0;
  } finally {
    runtime.close();
  }
}
