import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { formatAudit, type CrossingAudit } from "./crossing-audit.js";
import { MemoryRuntime } from "@sbx/container-runtime";
import { allowedDomainsFor, ensureEgress, parseNetworkTier, planNetwork } from "./sandbox-network.js";
import { runSbx } from "./test-support/run-sbx.js";

let home: string;
let project: string;
let env: Record<string, string | undefined>;

beforeAll(() => {
  const root = mkdtempSync(join(tmpdir(), "sbx-network-"));
  home = join(root, "home");
  project = join(root, "project");
  mkdirSync(join(home, ".claude"), { recursive: true });
  mkdirSync(join(project, ".git"), { recursive: true });
  writeFileSync(join(home, ".claude/.credentials.json"), JSON.stringify({ claudeAiOauth: { accessToken: "sk-ant-oat01-network-test", refreshToken: "sk-ant-ort01-network-test", expiresAt: Date.now() + 3_600_000 } }));
  env = { PATH: process.env.PATH, HOME: home, SBX_BASE_IMAGE: "example/base:1", XDG_CONFIG_HOME: join(root, "xdg") };
});

async function dryRun(args: string[], extraEnv: Record<string, string> = {}) {
  const result = await runSbx(["up", "--dry-run", ...args], { cwd: project, env: { ...env, ...extraEnv } });
  return { ...result, plan: result.exitCode === 0 ? JSON.parse(result.stdout) : undefined };
}

describe("the network tier in the plan", () => {
  it("keeps today's bridge for full (the default): no internal network, no proxy environment", async () => {
    const { plan } = await dryRun([]);
    expect(plan.audit.network).toBe("full");
    expect(plan.container.network).toBeUndefined();
    expect(plan.container.env.HTTPS_PROXY).toBeUndefined();
    expect(plan.container.labels["dev.sbx.network"]).toBe("full");
    expect(plan.network.proxy).toBeUndefined();
  });

  it("puts an allowlist sandbox on its internal network behind its own proxy, allowing the piped login's API hosts and --allow", async () => {
    const { plan, stderr } = await dryRun(["--network", "allowlist", "--allow", "*.example.com", "--allow", "registry.npmjs.org"]);
    expect(plan, stderr).toBeDefined();
    expect(plan.container.network).toBe(`${plan.container.name}-net`);
    expect(plan.network.proxy).toBe(`${plan.container.name}-egress`);
    expect(plan.network.policy).toMatchObject({ tier: "allowlist", allowedDomains: ["api.anthropic.com", "platform.claude.com", "*.example.com", "registry.npmjs.org"] });
    expect(plan.container.env).toMatchObject({ HTTPS_PROXY: "http://sbx-egress:3128", http_proxy: "http://sbx-egress:3128", NO_PROXY: "localhost,127.0.0.1,::1", NODE_USE_ENV_PROXY: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" });
    expect(plan.audit.networkRules.join("\n")).toContain("only api.anthropic.com, platform.claude.com, *.example.com, registry.npmjs.org");
  });

  it("takes a profile's tier and the config's allowedDomains (a profile's internet-only was refused as unavailable before)", async () => {
    mkdirSync(join(env.XDG_CONFIG_HOME as string, "sbx"), { recursive: true });
    writeFileSync(
      join(env.XDG_CONFIG_HOME as string, "sbx/config.json"),
      JSON.stringify({ allowedDomains: ["github.com"], profiles: { open: { network: "internet-only" }, tight: { network: "allowlist", allowedDomains: ["*.githubusercontent.com"] } } }),
    );
    try {
      const open = await dryRun(["--profile", "open"]);
      expect(open.exitCode, open.stderr).toBe(0);
      expect(open.plan.network.policy.tier).toBe("internet-only");
      expect(open.plan.network.policy.allowedDomains).toBeUndefined();
      const tight = await dryRun(["--profile", "tight"]);
      expect(tight.plan.network.policy.allowedDomains).toEqual(["api.anthropic.com", "platform.claude.com", "github.com", "*.githubusercontent.com"]);
      // --network wins over the profile.
      expect((await dryRun(["--profile", "tight", "--network", "none"])).plan.container.network).toBe("none");
    } finally {
      writeFileSync(join(env.XDG_CONFIG_HOME as string, "sbx/config.json"), "{}");
    }
  });

  it("gives none no network at all and no proxy", async () => {
    const { plan } = await dryRun(["--network", "none"]);
    expect(plan.container.network).toBe("none");
    expect(plan.container.env.HTTPS_PROXY).toBeUndefined();
    expect(plan.network.proxy).toBeUndefined();
  });

  it("refuses an unknown tier with the list, a stable code and no stack trace", async () => {
    const result = await dryRun(["--network", "internet"]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe(
      'sbx: "internet" is not a network tier.\nhint: Use one of full, internet-only, allowlist, none (--network, or "network" in your sbx config).\ncode: SBX_NETWORK_TIER_INVALID\n',
    );
  });

  it("refuses --allow entries that are not domains, and --allow without the allowlist tier", async () => {
    const bad = await dryRun(["--network", "allowlist", "--allow", "https://example.com/x", "--allow", "*.com"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('"https://example.com/x", "*.com" are not domains the allowlist can hold.');
    expect(bad.stderr).toContain("code: SBX_NETWORK_DOMAIN_INVALID");
    const stray = await dryRun(["--allow", "example.com"]);
    expect(stray.exitCode).toBe(2);
    expect(stray.stderr).toContain("code: SBX_USAGE");
  });
});

describe("ensureEgress", () => {
  const identity = { containerName: "sbx-p-1", projectDir: "/p", projectId: "p-1", login: "ada", volumeName: "ada-llm", conversationsVolumeName: "ada-p-1-conversations", owner: "1000:ada" };
  const plan = () => planNetwork({ tier: "allowlist", identity, allowedDomains: ["api.anthropic.com"], baseImage: "example/base:1", env: {} });

  it("converges when two `sbx up` of one project start the proxy at once: one network, one proxy, one address", async () => {
    const runtime = new MemoryRuntime({ images: ["example/base:1"] });
    const [a, b] = await Promise.all([ensureEgress(runtime, plan(), () => undefined), ensureEgress(runtime, plan(), () => undefined)]);
    expect(a.address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(b).toEqual(a);
    expect((await runtime.listNetworks()).map((network) => [network.name, network.internal, network.containers])).toEqual([["sbx-p-1-net", true, ["sbx-p-1-egress"]]]);
    expect((await runtime.listContainers()).map((container) => container.name)).toEqual(["sbx-p-1-egress"]);
  });

  it("replaces a proxy whose policy changed, and reuses one whose policy did not", async () => {
    const runtime = new MemoryRuntime({ images: ["example/base:1"] });
    const said: string[] = [];
    await ensureEgress(runtime, plan(), (line) => said.push(line));
    const first = (await runtime.inspectContainer("sbx-p-1-egress"))?.id;
    await ensureEgress(runtime, plan(), (line) => said.push(line));
    expect((await runtime.inspectContainer("sbx-p-1-egress"))?.id).toBe(first);
    await ensureEgress(runtime, planNetwork({ tier: "allowlist", identity, allowedDomains: ["api.openai.com"], baseImage: "example/base:1", env: {} }), (line) => said.push(line));
    expect((await runtime.inspectContainer("sbx-p-1-egress"))?.id).not.toBe(first);
    expect(said).toContain("replacing sbx-p-1-egress: its policy, image or network changed");
  });
});

describe("the network helpers", () => {
  it("parses the four tiers and nothing else", () => {
    for (const tier of ["full", "internet-only", "allowlist", "none"]) expect(parseNetworkTier(tier)).toBe(tier);
    expect(() => parseNetworkTier("Full")).toThrow(/not a network tier/);
  });

  it("builds the allowlist from each provider's hosts, then config, then --allow, without duplicates", () => {
    expect(allowedDomainsFor(["claude", "anthropic", "codex"], ["API.Anthropic.com."], ["x.example"])).toEqual([
      "api.anthropic.com",
      "platform.claude.com",
      "api.openai.com",
      "auth.openai.com",
      "chatgpt.com",
      "x.example",
    ]);
  });

  it("shows the tier and each of its rules in the pre-launch audit", () => {
    const audit: CrossingAudit = {
      profile: undefined,
      configFile: undefined,
      network: "allowlist",
      networkRules: ["through sbx's egress proxy (sbx-p-egress)", "only api.anthropic.com"],
      workspace: "/p",
      mounts: [],
      logins: [],
      skippedLogins: [],
      env: [],
      envFiles: [],
      refused: [],
      ignoredProjectFiles: [],
      limits: "memory 2 GiB",
    };
    expect(formatAudit(audit, "sbx-p")).toContain("  network    allowlist\n             through sbx's egress proxy (sbx-p-egress)\n             only api.anthropic.com\n");
  });
});
