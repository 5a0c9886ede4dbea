/**
 * A sandbox started from a template (`sbx create --template`) finds the saved home in its image at
 * /opt/sbx/template-home; the home itself is a fresh tmpfs at every start. The entrypoint copies
 * the template home into it before it makes its links into the state volume — never over anything
 * already there, links copied as links — once per start: `idle` and the first `install` both ask,
 * one copies and the other waits for it, so the tools are in place when `sbx up` returns.
 */
import { cpSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TemplateSeedOptions {
  home: string;
  /** @default /opt/sbx/template-home */
  templateHome?: string;
  /** Where the once-per-start claim is kept (a tmpfs that starts empty). @default /run/sbx */
  runtimeDir?: string;
  /** How long a second caller waits for the first to finish copying. @default 120 s */
  waitMs?: number;
}

/** Returns what this call did: `seeded`, `waited` (another caller seeded), or `none` (no template). */
export function seedHomeFromTemplate(options: TemplateSeedOptions): "seeded" | "waited" | "none" {
  const source = options.templateHome ?? "/opt/sbx/template-home";
  if (!existsSync(source)) return "none";
  const claim = join(options.runtimeDir ?? "/run/sbx", "template-seed");
  const done = join(claim, "done");
  try {
    mkdirSync(claim, { mode: 0o700 });
  } catch (error) {
    // No runtime tmpfs (a container started by hand): seed without the claim; copying never overwrites.
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
      cpSync(source, options.home, { recursive: true, force: false, errorOnExist: false, verbatimSymlinks: true, preserveTimestamps: true });
      return "seeded";
    }
    const deadline = Date.now() + (options.waitMs ?? 120_000);
    // Synchronous like the rest of the layout set-up: a short sleep between looks.
    while (!existsSync(done) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    return "waited";
  }
  try {
    cpSync(source, options.home, { recursive: true, force: false, errorOnExist: false, verbatimSymlinks: true, preserveTimestamps: true });
  } finally {
    writeFileSync(done, "");
  }
  return "seeded";
}
