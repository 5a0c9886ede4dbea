import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
}

const readPackage = (dir: string) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;

/**
 * Packs a package the way it would be published and installs only that tarball into a fresh
 * directory, so a test can prove the package works alone. Its registry dependencies come from the
 * registry; its `workspace:` dependencies (the small shared @sbx packages, published beside it)
 * are packed from this checkout and installed from their tarballs, as the registry would serve
 * them — nothing is linked from the workspace. Returns the consumer app's directory.
 */
export function installPackedAlone(packageDir: string, work: string, options: { requiredFiles: string[] }): string {
  const missing = options.requiredFiles.filter((file) => !existsSync(join(packageDir, file)));
  if (missing.length > 0) {
    throw new Error(`${missing.join(", ")} missing in ${packageDir}: build the package first (turbo builds before test).`);
  }
  const packagesDir = dirname(packageDir);
  const byName = new Map(readdirSync(packagesDir).filter((dir) => existsSync(join(packagesDir, dir, "package.json"))).map((dir) => [readPackage(join(packagesDir, dir)).name, join(packagesDir, dir)]));
  const tarballs: string[] = [];
  const packed = new Set<string>();
  const pack = (dir: string) => {
    const manifest = readPackage(dir);
    if (packed.has(manifest.name)) return;
    packed.add(manifest.name);
    for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
      if (!range.startsWith("workspace:")) continue;
      const dependency = byName.get(name);
      if (!dependency) throw new Error(`${manifest.name} depends on ${name}, which is not in ${packagesDir}`);
      pack(dependency);
    }
    const destination = mkdtempSync(join(work, "pack-"));
    execFileSync("pnpm", ["pack", "--pack-destination", destination], { cwd: dir, stdio: "pipe" });
    const tarball = readdirSync(destination).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`pnpm pack produced no tarball for ${manifest.name}`);
    tarballs.push(join(destination, tarball));
  };
  pack(packageDir);
  const app = join(work, "app");
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs], { cwd: app, stdio: "pipe" });
  return app;
}
