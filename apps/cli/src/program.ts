import { Command, CommanderError } from "commander";
import { CliError } from "./cli-error.js";
import { EXEC_USAGE } from "./commands/exec.js";

/** Builds the commander program; every action lazy-imports its command module. */
export async function runProgram(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command("sbx")
    .description("Run LLM coding agents in a hardened Docker sandbox that inherits your host login.")
    .version(await version(), "-v, --version")
    .enablePositionalOptions()
    .showHelpAfterError("(run `sbx --help` for usage)")
    .exitOverride();

  const sandboxOptions = (command: Command) =>
    command
      .option("--base-image <image>", "base image for the sandbox image (default: $SBX_BASE_IMAGE or node:22-slim)")
      .option("--profile <name>", "policy profile from your sbx config (default: $SBX_PROFILE)")
      .option("--network <tier>", "network tier: full, internet-only, allowlist or none (default: the profile's, else full)")
      .option("--allow <domain>", "with --network allowlist: also allow this domain (*.example.com for every host below it; repeatable)", (value: string, previous: string[]) => [...previous, value], [] as string[])
      .option("--rebuild", "rebuild the sandbox image even if it is up to date")
      .option("--dry-run", "print what would be created, with secrets redacted, and change nothing")
      .option("-y, --yes", "do not pause on the audit of what crosses into the sandbox")
      .option("--trust-workspace", "let the agents trust this project's own agent configuration (.claude/settings.json, .mcp.json, …) and remember that on this host until those files change")
      .option("--template <template>", "start from a template saved with `sbx save` (see `sbx ls --templates`)");

  sandboxOptions(program.command("up").description("start or reuse this project's sandbox, pipe your logins in, and open a shell"))
    .option("-d, --detach", "start the sandbox and return without attaching")
    .option("-n, --name <name>", "one of the project's named sandboxes (sbx create --name); default: the project's own")
    .action(async (options) => {
      const { up } = await loadUp();
      exitCode = await up({ ...options, attach: options.detach ? undefined : ["bash", "-l"] });
    });

  sandboxOptions(program.command("run").description("run an agent in this project's sandbox (e.g. `sbx run claude`)"))
    .option("-n, --name <name>", "one of the project's named sandboxes (sbx create --name); default: the project's own")
    .argument("<agent>", "claude, codex, gemini, opencode, or any command in the sandbox")
    .argument("[args...]", "arguments for the agent (after --)")
    .passThroughOptions()
    .action(async (agent: string, args: string[], options) => {
      const [{ up }, { agentCommandLine }] = await Promise.all([loadUp(), import("./agents.js")]);
      exitCode = await up({ ...options, attach: agentCommandLine(agent, args), agent });
    });

  sandboxOptions(program.command("create").description("start one of this project's named sandboxes, detached (for agent loops: then sbx exec --name, sbx rm --name)"))
    .requiredOption("-n, --name <name>", "the sandbox's name within the project (1-40 of a-z 0-9 . _ -); `sbx up` makes the project's default one")
    .option("--agent <agent>", "the agent it is for (claude, codex, gemini or opencode): its login must be on the host; `sbx ls` shows it")
    .argument("[workspace]", "a directory of the project (default: the current directory)")
    .action(async (workspace: string | undefined, options) => {
      const { create } = await loadUp();
      exitCode = await create({ ...options, ...(workspace !== undefined ? { workspace } : {}) });
    });

  program
    .command("exec")
    .description("run a command in this project's running sandbox: sbx exec -- <cmd> [args…]")
    .helpOption(false)
    .allowUnknownOption()
    .argument("[command...]")
    .action(async () => {
      // Normally handled before commander loads (see main.ts); reached only via `sbx help exec`.
      process.stdout.write(EXEC_USAGE);
    });

  program
    .command("shell")
    .description("open a shell in this project's running sandbox")
    .option("-n, --name <name>", "one of the project's named sandboxes (sbx create --name); default: the project's own")
    .action(async (options: { name?: string }) => {
      const { shell } = await import("./commands/shell.js");
      exitCode = await shell(options);
    });

  /** Runs a command with a Docker runtime it is handed (the fake in unit tests), closed after. */
  const withRuntime = async (run: (runtime: import("@sbx/container-runtime").ContainerRuntime) => Promise<number>) => {
    const { DockerRuntime } = await import("@sbx/container-runtime");
    const runtime = new DockerRuntime();
    try {
      return await run(runtime);
    } finally {
      runtime.close();
    }
  };

  program
    .command("down")
    .alias("rm")
    .description("stop and remove this project's sandbox (the state volume is kept)")
    .option("-n, --name <name>", "one of the project's named sandboxes (sbx create --name); default: the project's own")
    .action(async (options: { name?: string }) => {
      const { down } = await import("./commands/down.js");
      exitCode = await withRuntime((runtime) => down(runtime, options));
    });

  program
    .command("gc")
    .description("delete this login's stopped sandboxes and unused sbx images (and with --volumes, its unused state volumes), after saying what")
    .option("--volumes", "also delete state volumes no sandbox uses: saved logins and conversations")
    .option("--templates", "also delete your saved templates no sandbox runs (kept otherwise: they are saved work)")
    .option("--login <name>", "clean up another of your logins (default: $SBX_LOGIN or your username)")
    .option("--dry-run", "only say what would be deleted")
    .option("-y, --yes", "do not ask before deleting")
    .option("--json", "machine-readable output")
    .action(async (options: { volumes?: boolean; templates?: boolean; login?: string; dryRun?: boolean; yes?: boolean; json?: boolean }) => {
      const { gc } = await import("./commands/gc.js");
      exitCode = await withRuntime((runtime) => gc(runtime, options));
    });

  program
    .command("ls")
    .description("list your sandboxes (of the current login)")
    .option("--json", "machine-readable output")
    .option("--templates", "list your saved templates instead")
    .action(async (options: { json?: boolean; templates?: boolean }) => {
      if (options.templates) {
        const { lsTemplates } = await import("./commands/ls-templates.js");
        exitCode = await withRuntime((runtime) => lsTemplates(runtime, options));
        return;
      }
      const { ls } = await import("./commands/ls.js");
      exitCode = await withRuntime((runtime) => ls(runtime, options));
    });

  program
    .command("save")
    .description("save a sandbox's home (the tools you installed, without any login sbx piped) as a template: sbx save [<sandbox>] <template>")
    .argument("<sandbox-or-template>", "the sandbox (a name given with --name, or a container name from `sbx ls`); alone: the template, saving this project's sandbox")
    .argument("[template]", "the template's name")
    .option("--json", "machine-readable output")
    .action(async (first: string, second: string | undefined, options: { json?: boolean }) => {
      const { save } = await import("./commands/save.js");
      const target = second === undefined ? { template: first } : { sandbox: first, template: second };
      exitCode = await withRuntime((runtime) => save(runtime, { ...target, ...options }));
    });

  program
    .command("status")
    .description("show this project's sandbox")
    .option("--json", "machine-readable output")
    .option("-n, --name <name>", "one of the project's named sandboxes (sbx create --name); default: the project's own")
    .action(async (options: { json?: boolean; name?: string }) => {
      const { status } = await import("./commands/status.js");
      exitCode = await withRuntime((runtime) => status(runtime, options));
    });

  const network = program.command("network").description("the sandbox's network tier: what its egress proxy allowed and refused");
  network
    .command("log")
    .description("what this project's sandbox reached or was refused, per destination, with the rule that decided")
    .option("--json", "machine-readable output")
    .option("-n, --name <name>", "one of the project's named sandboxes (sbx create --name); default: the project's own")
    .action(async (options: { json?: boolean; name?: string }) => {
      const { networkLog } = await import("./commands/network.js");
      exitCode = await networkLog(options);
    });

  program
    .command("doctor")
    .description("check Docker, the image and your logins, and say how to fix each problem")
    .option("--json", "machine-readable output")
    .option("--base-image <image>", "base image to check for")
    .action(async (options: { json?: boolean; baseImage?: string }) => {
      const { doctor } = await import("./commands/doctor.js");
      exitCode = await withRuntime((runtime) => doctor(runtime, options));
    });

  program
    .command("export")
    .description("render agent sessions (this project's sandbox and the host's own) as Markdown notes in the inbox")
    .option("--source <dir>", "a directory of sessions to export instead (e.g. ~/.claude/projects)")
    .option("--inbox <dir>", "where notes go (default: $SANDBOX_INBOX_DIR or ~/sbx-inbox)")
    .option("--agent <agent>", "only claude, codex or gemini sessions")
    .option("--json", "machine-readable output")
    .option("--no-redact", "write secrets the boundary policy detects as they are (default: replaced by [REDACTED:<rule>])")
    .action(async (options: { source?: string; inbox?: string; agent?: string; json?: boolean; redact?: boolean }) => {
      const { exportFromCli } = await import("./commands/export-entry.js");
      exitCode = await exportFromCli(options);
    });

  const policy = program.command("policy").description("the boundary policy: what may cross into a sandbox");
  policy
    .command("check")
    .description("check the environment, an env file, a path or text on stdin against the refuse rules (exit 3 if something is refused)")
    .option("--env-file <file>", "check the variables in this env file")
    .option("--path <path>", "check a host path as a mount")
    .option("--stdin", "scan text from stdin")
    .option("--profile <name>", "apply a profile from your sbx config")
    .option("--json", "machine-readable output")
    .action(async (options: { envFile?: string; path?: string; stdin?: boolean; profile?: string; json?: boolean }) => {
      const [{ policyCheck }, { homedir }, { text }] = await Promise.all([import("./commands/policy.js"), import("node:os"), import("node:stream/consumers")]);
      exitCode = await policyCheck({
        ...options,
        cwd: process.cwd(),
        env: process.env,
        home: homedir(),
        stdout: process.stdout,
        readStdin: () => text(process.stdin),
      });
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return 0;
      // commander already printed its message; add the stable code.
      process.stderr.write(`code: SBX_USAGE\n`);
      return 2;
    }
    throw error;
  }
  return exitCode;
}

/** `up`/`run` from their one-file bundle (scripts/bundle.mjs), addressed by URL so TypeScript leaves it alone. */
const loadUp = () => import(new URL("./up.bundle.mjs", import.meta.url).href) as Promise<typeof import("./commands/up.js")>;

async function version(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export { CliError };
