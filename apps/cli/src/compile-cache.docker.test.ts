/**
 * Node ≥ 22.1 keeps V8's compiled code of sbx's modules on disk (bin/sbx.js). Code loaded from that
 * cache runs as the user, so it must live where only the user writes: Node's default directory is
 * the shared temporary directory (`$TMPDIR/node-compile-cache`), which another account on the
 * machine can create first and fill. Run in the offline base image, whose Node is 22.
 */
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";

const environment = await dockerTestEnvironment();
const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

function inNode22(script: string, env: Record<string, string> = {}): string {
  if (!environment.available) throw new Error("no engine");
  const envArgs = Object.entries(env).flatMap(([name, value]) => ["-e", `${name}=${value}`]);
  return execFileSync(
    "docker",
    ["run", "--rm", "--user", "1000:1000", "--tmpfs", "/home/u:mode=0755,uid=1000,gid=1000", "-e", "HOME=/home/u", ...envArgs, "-v", `${REPO}:${REPO}:ro`, "--network", "none", "--entrypoint", "sh", environment.image, "-c", script],
    { encoding: "utf8" },
  );
}

describe.skipIf(!environment.available)("the compile cache", () => {
  it("lands in the user's own cache directory (0700), never in the shared temporary directory", () => {
    const out = inNode22(
      `node --version; node ${REPO}/apps/cli/bin/sbx.js --help >/dev/null && node ${REPO}/apps/cli/bin/sbx.js --help >/dev/null
       stat -c 'dir %a %U' /home/u/.cache/sbx/compile-cache 2>/dev/null || echo 'dir absent'
       find /home/u/.cache/sbx/compile-cache -type f 2>/dev/null | wc -l | sed 's/^/files /'
       [ -e "\${TMPDIR:-/tmp}/node-compile-cache" ] && echo 'shared present' || echo 'shared absent'`,
    );
    expect(Number(/^v(\d+)/m.exec(out)?.[1])).toBeGreaterThanOrEqual(22);
    expect(out).toContain("dir 700 ");
    expect(Number(/^files (\d+)/m.exec(out)?.[1])).toBeGreaterThan(0);
    expect(out).toContain("shared absent");
  });

  it("follows $XDG_CACHE_HOME, and NODE_DISABLE_COMPILE_CACHE turns it off", () => {
    const xdg = inNode22(`node ${REPO}/apps/cli/bin/sbx.js --help >/dev/null; stat -c 'dir %a' /home/u/xdg/sbx/compile-cache 2>/dev/null || echo 'dir absent'`, { XDG_CACHE_HOME: "/home/u/xdg" });
    expect(xdg).toContain("dir 700");
    const off = inNode22(`node ${REPO}/apps/cli/bin/sbx.js --help >/dev/null; ls -d /home/u/.cache/sbx/compile-cache /tmp/node-compile-cache 2>/dev/null | wc -l`, { NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(off.trim()).toBe("0");
  });
});
