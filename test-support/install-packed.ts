import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Packs a package the way it would be published and installs only that tarball into a fresh
 * directory (its registry dependencies come from the registry, nothing from the workspace), so a
 * test can prove the package works alone. Returns the consumer app's directory.
 */
export function installPackedAlone(packageDir: string, work: string, options: { requiredFiles: string[] }): string {
  const missing = options.requiredFiles.filter((file) => !existsSync(join(packageDir, file)));
  if (missing.length > 0) {
    throw new Error(`${missing.join(", ")} missing in ${packageDir}: build the package first (turbo builds before test).`);
  }
  execFileSync("pnpm", ["pack", "--pack-destination", work], { cwd: packageDir, stdio: "pipe" });
  const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
  if (!tarball) throw new Error(`pnpm pack produced no tarball in ${work}`);
  const app = join(work, "app");
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", join(work, tarball)], { cwd: app, stdio: "pipe" });
  return app;
}
