// The package as another git ref built it, for benches that compare this build with it.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));

/** The package as built at `ref`, in a temporary directory, or undefined when git cannot make it. */
export async function baselineBuild(ref) {
  const work = mkdtempSync(join(tmpdir(), "sbx-policy-bench-"));
  try {
    const archive = execFileSync("git", ["-C", repoRoot, "archive", ref, "packages/boundary-policy", "packages/errors", "tsconfig.base.json"], { maxBuffer: 64 << 20 });
    execFileSync("tar", ["-x", "-C", work], { input: archive });
    const copy = join(work, "packages/boundary-policy");
    symlinkSync(join(packageDir, "node_modules"), join(copy, "node_modules"));
    symlinkSync(join(repoRoot, "node_modules"), join(work, "node_modules"));
    const tsc = join(repoRoot, "node_modules/.bin/tsc");
    execFileSync(tsc, ["-p", join(copy, "tsconfig.build.json")], { stdio: "ignore" });
    if (!existsSync(join(copy, "dist/index.js"))) return undefined;
    const module = await import(join(copy, "dist/index.js"));
    return { module, cleanup: () => rmSync(work, { recursive: true, force: true }) };
  } catch {
    rmSync(work, { recursive: true, force: true });
    return undefined;
  }
}
