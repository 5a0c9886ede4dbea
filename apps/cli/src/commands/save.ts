import { homedir } from "node:os";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { CliError } from "../cli-error.js";
import { sandboxContainerName } from "../library.js";
import { planSandbox } from "../sandbox.js";
import { CONTAINER_PREFIX, LABELS, sandboxIdentity, sandboxMismatch } from "../sandbox-identity.js";
import { NETWORK_LABELS } from "../sandbox-network.js";
import { pipedSecretValues, saveTemplate, templateMaxBytes, validateTemplateName, type SavedTemplate } from "../templates.js";

export interface SaveOptions {
  /** A sandbox of this project by name (`--name`), or a sandbox's container name from `sbx ls`. @default this project's own sandbox */
  sandbox?: string;
  template: string;
  json?: boolean;
  cwd?: string;
  env?: Record<string, string | undefined>;
  home?: string;
  /** @default process.stdout */
  out?: NodeJS.WritableStream;
  /** @default stderr */
  log?: (line: string) => void;
}

/** How many stripped paths the report lists before it only counts them. */
const LISTED = 20;

/** `sbx save [<sandbox>] <template>`: the sandbox's home, without anything sbx piped, as a template image. */
export async function save(runtime: ContainerRuntime, options: SaveOptions): Promise<number> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const home = options.home ?? homedir();
  const out = options.out ?? process.stdout;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  validateTemplateName(options.template);
  const maxBytes = templateMaxBytes(env);
  const identity = sandboxIdentity(cwd, env);
  const name =
    options.sandbox === undefined ? identity.containerName : options.sandbox.startsWith(CONTAINER_PREFIX) ? options.sandbox : sandboxContainerName(identity, options.sandbox);
  const container = await runtime.inspectContainer(name);
  if (!container || container.labels[NETWORK_LABELS.role] === "egress" || !container.name.startsWith(CONTAINER_PREFIX)) {
    throw new CliError("SBX_SANDBOX_NOT_FOUND", `There is no sandbox ${name} to save.`, { hint: "See your sandboxes with `sbx ls`; start one with `sbx up`." });
  }
  const foreign = sandboxMismatch(container.name, container.labels, identity);
  if (foreign) throw foreign;
  if (container.state !== "running") {
    throw new CliError("SBX_SANDBOX_NOT_RUNNING", `The sandbox ${name} is ${container.state}; only a running sandbox can be saved.`, { hint: "Start it with `sbx up` (its home is empty again after a restart: install, then save)." });
  }
  // What sbx pipes into it, from the same plan `sbx up` makes: a copy of any of it is stripped.
  const plan = await planSandbox({ cwd: container.labels[LABELS.project] || cwd, env, home, log: () => {} }).catch(() => planSandbox({ cwd, env, home, log: () => {} }));
  const [uid = Number.NaN, gid = Number.NaN] = container.user.split(":").map(Number);
  if (!(uid > 0) || !(gid > 0)) throw new CliError("SBX_SANDBOX_NOT_FOUND", `The sandbox ${name} does not run as sbx's sandbox user.`, { hint: "Recreate it with `sbx down` and `sbx up`." });
  const saved = await saveTemplate(runtime, { container, identity, template: options.template, secretValues: pipedSecretValues(plan), maxBytes, log, uid, gid });
  if (options.json) out.write(`${JSON.stringify(saved, null, 2)}\n`);
  else out.write(describeSave(saved));
  return 0;
}

function describeSave({ template, report }: SavedTemplate): string {
  const lines = [
    `saved template ${template.name} (${template.tag}) from ${template.source}: ${report.files} files, ${report.directories} directories, ${report.symlinks} links, ${(report.bytes / 1024 / 1024).toFixed(1)} MiB`,
  ];
  if (report.stripped.length) {
    lines.push(`left out ${report.stripped.length}:`);
    for (const item of report.stripped.slice(0, LISTED)) lines.push(`  ~/${item.path}: ${item.why}`);
    if (report.stripped.length > LISTED) lines.push(`  … and ${report.stripped.length - LISTED} more (--json lists them all)`);
  }
  lines.push(`start from it with: sbx up --template ${template.name}`);
  return `${lines.join("\n")}\n`;
}
