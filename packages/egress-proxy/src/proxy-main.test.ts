import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The bundle the image runs (built by `pnpm build`).
const PROXY = fileURLToPath(new URL("../dist/image/proxy.mjs", import.meta.url));
const start = (policy: string | undefined, args: string[] = []) =>
  spawnSync(process.execPath, [PROXY, ...args], { encoding: "utf8", timeout: 10_000, env: { PATH: process.env.PATH, ...(policy === undefined ? {} : { SBX_EGRESS_POLICY: policy }) } });

describe("the proxy's main process fails closed", () => {
  it("refuses to start without a policy, with a policy it cannot parse, or with an invalid entry", () => {
    for (const policy of [undefined, "not json", JSON.stringify({ tier: "full" }), JSON.stringify({ tier: "allowlist", allowedDomains: ["*.com"] })]) {
      const run = start(policy);
      expect(run.status, String(policy)).toBe(1);
      expect(run.stderr).toMatch(/^sbx-egress: no valid policy in SBX_EGRESS_POLICY .*refusing to start\n$/);
    }
  });

  it("refuses an argument it does not know (only the test-only --test-public-cidr exists)", () => {
    const run = start(JSON.stringify({ tier: "internet-only" }), ["--allow-everything"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('unknown argument "--allow-everything"');
  });
});
