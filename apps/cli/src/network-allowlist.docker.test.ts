/**
 * The real sandbox (the sbx image, Claude Code inside) under `allowlist`, started the way `sbx up`
 * starts it: Claude Code reaches a stand-in API host whose name is listed and cannot reach one
 * that is not; `sbx status`, `sbx network log`, a tier change and `sbx down` do what they say.
 * The stand-in hosts are the test's own containers (test-support/network-lab.ts).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "@sbx/container-runtime";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import type { SandboxOptions } from "./sandbox.js";
import { egressNames, NETWORK_LABELS } from "./sandbox-network.js";
import { docker } from "./test-support/docker-cli.js";
import { startLab, type Lab } from "./test-support/network-lab.js";
import { runSbx } from "./test-support/run-sbx.js";

// The built module: it finds the entrypoint bundle and the Dockerfile beside itself, as installed.
const { ensureSandbox, planSandbox } = (await import(new URL("../dist/sandbox.js", import.meta.url).href)) as typeof import("./sandbox.js");
const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

describe.skipIf(!environment.available)(`the sandbox under allowlist${skipReason}`, { timeout: 180_000 }, () => {
  const runtime = new DockerRuntime();
  let lab: Lab;
  let options: SandboxOptions;
  let container = "";
  let proxy = "";
  let internalNetwork = "";
  const login = `sbxtest${randomBytes(3).toString("hex")}`;

  /** `entrypoint agent` runs the agent with its piped environment, as `sbx run` does. */
  const claude = (baseUrl: string) =>
    docker(["exec", "-e", `ANTHROPIC_BASE_URL=${baseUrl}`, container, "timeout", "60", "node", "/opt/sbx/entrypoint.mjs", "agent", "claude", "-p", "say hi"], { allowFailure: true });

  beforeAll(async () => {
    const image = environment.available ? environment.image : "";
    lab = startLab(image);
    const root = mkdtempSync(join(tmpdir(), "sbx-allowlist-"));
    const project = join(root, "project");
    mkdirSync(join(project, ".git"), { recursive: true });
    mkdirSync(join(root, "home"));
    const env = {
      PATH: process.env.PATH,
      HOME: join(root, "home"),
      SBX_LOGIN: login,
      SBX_BASE_IMAGE: image,
      // An API key is a piped login: the allowlist starts with its provider's API host.
      ANTHROPIC_API_KEY: `sk-ant-api03-${randomBytes(16).toString("hex")}`,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
    };
    options = {
      cwd: project,
      env,
      home: env.HOME,
      log: (line) => process.stderr.write(`[sbx] ${line}\n`),
      network: "allowlist",
      allow: ["api.stand-in.test"],
      // TEST ONLY: the lab's "public" network counts as the internet for the proxy's checks.
      egressProxyTestArgs: ["--test-public-cidr", lab.publicNetwork.v4, "--test-public-cidr", lab.publicNetwork.v6],
    };
    const plan = await planSandbox(options);
    container = plan.spec.name;
    ({ proxyName: proxy, networkName: internalNetwork } = egressNames(plan.identity));
    await ensureSandbox(runtime, plan, options);
    // The proxy reaches the lab's hosts over networks of its own, as it reaches the internet.
    docker(["network", "connect", lab.publicNetwork.name, proxy]);
    docker(["network", "connect", lab.lanNetwork.name, proxy]);
    docker(["restart", "-t", "1", proxy]);
    // If the proxy came back at another address, sbx recreates the sandbox with the new DNS server.
    await ensureSandbox(runtime, await planSandbox(options), options);
  }, 20 * 60_000);

  afterAll(async () => {
    if (container) docker(["rm", "-f", container], { allowFailure: true });
    if (proxy) docker(["rm", "-f", proxy], { allowFailure: true });
    if (internalNetwork) docker(["network", "rm", internalNetwork], { allowFailure: true });
    docker(["volume", "rm", `${login}-llm`], { allowFailure: true });
    lab?.cleanup();
    runtime.close();
  }, 120_000);

  it("puts the sandbox only on its internal network, with the proxy as DNS server and the proxy environment", () => {
    const [info] = JSON.parse(docker(["inspect", container]).stdout);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual([internalNetwork]);
    expect(info.HostConfig.Dns).toHaveLength(1);
    expect(info.Config.Labels[NETWORK_LABELS.tier]).toBe("allowlist");
    expect(info.Config.Env).toEqual(expect.arrayContaining(["HTTPS_PROXY=http://sbx-egress:3128", "https_proxy=http://sbx-egress:3128", "NODE_USE_ENV_PROXY=1", "NO_PROXY=localhost,127.0.0.1,::1"]));
    const [net] = JSON.parse(docker(["network", "inspect", internalNetwork]).stdout);
    expect(net.Internal).toBe(true);
  });

  it("Claude Code reaches the listed stand-in API host through the proxy", () => {
    const run = claude("http://api.stand-in.test");
    expect(run.stdout + run.stderr).toContain("stand-in API host public reached");
    expect(docker(["logs", lab.publicHost.name]).stdout).toMatch(/request POST \/v1\/messages\S* host=api\.stand-in\.test/);
  }, 90_000);

  it("Claude Code cannot reach a stand-in host that is not listed, and the refusal is logged with its rule", async () => {
    claude("http://other-api.stand-in.test");
    expect(docker(["logs", lab.publicHost.name]).stdout).not.toContain("host=other-api.stand-in.test");
    const log = await runSbx(["network", "log", "--json"], { cwd: options.cwd, env: options.env });
    expect(log.exitCode, log.stderr).toBe(0);
    const report = JSON.parse(log.stdout) as { tier: string; destinations: Array<{ destination: string; decision: string; rule: string }> };
    expect(report.tier).toBe("allowlist");
    expect(report.destinations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ destination: "api.stand-in.test:80", decision: "allowed", rule: "allowlist:api.stand-in.test" }),
        expect.objectContaining({ destination: "other-api.stand-in.test:80", decision: "refused", rule: "not-listed" }),
      ]),
    );
    const text = await runSbx(["network", "log"], { cwd: options.cwd, env: options.env });
    expect(text.stdout).toMatch(/refused\s+other-api\.stand-in\.test:80\s+not-listed/);
  }, 150_000);

  it("git, npm and Node's own fetch go through the proxy with the environment sbx sets (nothing per tool)", () => {
    const inSandbox = (script: string) => docker(["exec", container, "sh", "-c", script], { allowFailure: true });
    inSandbox("timeout 20 git ls-remote http://api.stand-in.test/repo.git");
    inSandbox("GIT_SSL_NO_VERIFY=1 timeout 20 git ls-remote https://api.stand-in.test/tls-repo.git");
    inSandbox("timeout 30 npm view --registry http://api.stand-in.test/npm-registry/ left-pad version");
    inSandbox("timeout 30 npm view --strict-ssl=false --registry https://api.stand-in.test/npm-tls/ left-pad version");
    inSandbox(`timeout 20 node -e 'fetch("http://api.stand-in.test/node-fetch").then((r) => r.text()).then(console.log)'`);
    const seen = docker(["logs", lab.publicHost.name]).stdout;
    expect(seen).toMatch(/GET \/repo\.git\/info\/refs\?service=git-upload-pack host=api\.stand-in\.test/);
    expect(seen).toMatch(/GET \/tls-repo\.git\/info\/refs\?service=git-upload-pack host=api\.stand-in\.test/);
    expect(seen).toMatch(/GET \/npm-registry\/left-pad host=api\.stand-in\.test/);
    expect(seen).toMatch(/GET \/npm-tls\/left-pad host=api\.stand-in\.test/);
    expect(seen).toMatch(/GET \/node-fetch host=api\.stand-in\.test/);
  }, 150_000);

  it("needs what sbx sets: Node's fetch ignores the proxy without NODE_USE_ENV_PROXY, git's libcurl ignores HTTP_PROXY without lower-case http_proxy", () => {
    const inSandbox = (script: string) => docker(["exec", container, "sh", "-c", script], { allowFailure: true });
    inSandbox(`env -u NODE_USE_ENV_PROXY timeout 20 node -e 'fetch("http://api.stand-in.test/node-without-flag").then((r) => r.text()).then(console.log)'`);
    inSandbox("env -u http_proxy -u all_proxy -u ALL_PROXY timeout 20 git ls-remote http://api.stand-in.test/upper-only.git");
    const seen = docker(["logs", lab.publicHost.name]).stdout;
    expect(seen).not.toContain("/node-without-flag");
    expect(seen).not.toContain("/upper-only.git");
  }, 90_000);

  it("shows the tier and the proxy in `sbx status --json`, and lists only the sandbox in `sbx ls`", async () => {
    const status = JSON.parse((await runSbx(["status", "--json"], { cwd: options.cwd, env: options.env })).stdout);
    expect(status.network).toBe("allowlist");
    expect(status.egressProxy).toEqual({ name: proxy, state: "running" });
    const listed = JSON.parse((await runSbx(["ls", "--json"], { cwd: options.cwd, env: options.env })).stdout) as Array<{ name: string }>;
    expect(listed.map((row) => row.name)).toContain(container);
    expect(listed.map((row) => row.name)).not.toContain(proxy);
  });

  it("recreates the sandbox on a tier change, and `sbx down` removes the proxy and the internal network", async () => {
    const up = await runSbx(["up", "--detach", "--yes", "--network", "full"], { cwd: options.cwd, env: options.env, timeoutMs: 120_000 });
    expect(up.exitCode, up.stderr).toBe(0);
    expect(up.stderr).toContain("network tier is now full");
    expect(docker(["inspect", "-f", `{{index .Config.Labels "${NETWORK_LABELS.tier}"}} {{.HostConfig.NetworkMode}}`, container]).stdout.trim()).toBe("full default");
    expect(docker(["inspect", proxy], { allowFailure: true }).exitCode).not.toBe(0);

    const again = await runSbx(["up", "--detach", "--yes", "--network", "internet-only"], { cwd: options.cwd, env: options.env, timeoutMs: 120_000 });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(docker(["inspect", "-f", "{{.State.Running}}", proxy]).stdout.trim()).toBe("true");
    const down = await runSbx(["down"], { cwd: options.cwd, env: options.env });
    expect(down.exitCode, down.stderr).toBe(0);
    for (const args of [["inspect", container], ["inspect", proxy], ["network", "inspect", internalNetwork]]) {
      expect(docker(args, { allowFailure: true }).exitCode, args.join(" ")).not.toBe(0);
    }
  }, 300_000);
});
