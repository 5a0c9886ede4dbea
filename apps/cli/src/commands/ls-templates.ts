import type { ContainerRuntime } from "@sbx/container-runtime";
import { sandboxIdentity, type SandboxIdentity } from "../sandbox-identity.js";
import { listTemplates } from "../templates.js";

export interface LsTemplatesOptions {
  json?: boolean;
  /** Whose templates: this login of this host user. @default the current login */
  identity?: Pick<SandboxIdentity, "login" | "owner">;
  /** @default process.stdout */
  out?: NodeJS.WritableStream;
}

/** `sbx ls --templates`: this user's saved templates of the current login. */
export async function lsTemplates(runtime: ContainerRuntime, options: LsTemplatesOptions = {}): Promise<number> {
  const identity = options.identity ?? sandboxIdentity(process.cwd());
  const out = options.out ?? process.stdout;
  const rows = (await listTemplates(runtime, identity)).map((template) => ({
    template: template.name,
    source: template.source,
    project: template.project,
    baseImage: template.baseImage,
    sizeBytes: template.sizeBytes ?? null,
    created: template.createdAt,
    image: template.tag,
  }));
  if (options.json) {
    out.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    out.write(`no templates of the login ${identity.login} (save one with \`sbx save <sandbox> <template>\`)\n`);
    return 0;
  }
  const table = [
    ["TEMPLATE", "SOURCE", "PROJECT", "BASE IMAGE", "SIZE", "CREATED"],
    ...rows.map((row) => [row.template, row.source, row.project, row.baseImage, row.sizeBytes === null ? "?" : `${(row.sizeBytes / 1e6).toFixed(0)} MB`, row.created.slice(0, 19).replace("T", " ")]),
  ];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => (row[column] ?? "").length))) ?? [];
  for (const row of table) out.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()}\n`);
  return 0;
}
