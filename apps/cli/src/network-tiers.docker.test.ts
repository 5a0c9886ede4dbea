/**
 * The network tiers against the real engine: for each tier, what must connect does (through the
 * egress proxy) and what must not does not — by IP, by name, a name resolving to a private
 * address, IPv6, raw UDP and TCP DNS to the test's own resolver, a direct connection that bypasses
 * the proxy, the Docker host itself, and the proxy killed mid-session. Every target is a container
 * or network this test started (see test-support/network-lab.ts).
 */
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime, type ContainerSpec } from "@sbx/container-runtime";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import type { SandboxIdentity } from "./sandbox-identity.js";
import { applyNetworkToSpec, ensureEgress, planNetwork, removeEgress } from "./sandbox-network.js";
import { docker } from "./test-support/docker-cli.js";
import { probe, startLab, type Lab } from "./test-support/network-lab.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;
const image = environment.available ? environment.image : "";

interface TierSandbox {
  identity: SandboxIdentity;
  container: string;
  proxy?: string;
  internalGateway?: string;
  /** The host's IPv6 link-local address on the internal network's bridge (the bridge is the test's own). */
  bridgeLinkLocal?: string;
}

/** A stand-in sandbox: the base image, with exactly the network, DNS and proxy environment sbx gives the real one. */
async function startSandbox(runtime: DockerRuntime, lab: Lab, tier: "full" | "internet-only" | "allowlist" | "none", allowedDomains: string[] = []): Promise<TierSandbox> {
  const name = `sbxtest-${lab.suffix}-${tier}`;
  const identity = { containerName: name, projectDir: "/nonexistent", projectId: name, login: "x", volumeName: "x", conversationsVolumeName: "x-conversations", owner: "0:test" };
  const plan = planNetwork({ tier, identity, allowedDomains, baseImage: image, env: process.env });
  const spec: ContainerSpec = { name, image, user: "1000:1000", cmd: ["sleep", "3600"], labels: { "sbx.test": lab.suffix } };
  applyNetworkToSpec(spec, plan);
  const sandbox: TierSandbox = { identity, container: name };
  if (plan.egress) {
    await ensureEgress(runtime, plan, () => undefined, ["--test-public-cidr", lab.publicNetwork.v4, "--test-public-cidr", lab.publicNetwork.v6]);
    sandbox.proxy = plan.egress.proxyName;
    // The proxy reaches the lab's hosts the way it reaches the internet: over networks of its own
    // (the restart gives it Docker's resolver for the lab's names).
    docker(["network", "connect", lab.publicNetwork.name, sandbox.proxy]);
    docker(["network", "connect", lab.lanNetwork.name, sandbox.proxy]);
    docker(["restart", "-t", "1", sandbox.proxy]);
    const address = (await runtime.inspectContainer(sandbox.proxy))?.networks?.[plan.egress.networkName]?.ipv4 as string;
    spec.dns = [address];
    const subnet = (await runtime.inspectNetwork(plan.egress.networkName))?.subnets[0] as string;
    sandbox.internalGateway = subnet.replace(/\.0\/\d+$/, ".1");
    const bridge = `br-${(await runtime.inspectNetwork(plan.egress.networkName))?.id.slice(0, 12)}`;
    sandbox.bridgeLinkLocal = networkInterfaces()[bridge]?.find((entry) => entry.family === "IPv6" && entry.address.startsWith("fe80"))?.address;
  }
  await runtime.createContainer(spec);
  await runtime.startContainer(name);
  return sandbox;
}

describe.skipIf(!environment.available)(`network tiers against the Docker engine${skipReason}`, { timeout: 120_000 }, () => {
  const runtime = new DockerRuntime();
  let lab: Lab;
  const sandboxes: TierSandbox[] = [];
  let hostListener: Server;
  let hostListener6: Server;
  let hostPort = 0;
  let hostPort6 = 0;

  beforeAll(async () => {
    lab = startLab(image);
    // The test's own listener on the Docker host, on every interface: a stand-in for the host's services.
    hostListener = createServer((socket) => socket.end("host service\n"));
    await new Promise<void>((resolve) => hostListener.listen(0, "0.0.0.0", resolve));
    hostPort = (hostListener.address() as { port: number }).port;
    hostListener6 = createServer((socket) => socket.end("host service\n"));
    await new Promise<void>((resolve) => hostListener6.listen({ port: 0, host: "::", ipv6Only: true }, resolve));
    hostPort6 = (hostListener6.address() as { port: number }).port;
  }, 300_000);

  afterAll(async () => {
    for (const sandbox of sandboxes) {
      docker(["rm", "-f", sandbox.container], { allowFailure: true });
      await removeEgress(runtime, sandbox.identity).catch(() => undefined);
    }
    lab?.cleanup();
    hostListener?.close();
    hostListener6?.close();
    runtime.close();
  }, 120_000);

  describe("internet-only", () => {
    let sandbox: TierSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox(runtime, lab, "internet-only");
      sandboxes.push(sandbox);
    }, 300_000);

    it("reaches a public host through the proxy, by name over HTTPS (CONNECT) and HTTP, and by IP", () => {
      expect(probe(sandbox.container, "fetch", "https://public.stand-in.test/")).toMatchObject({ status: 200, body: expect.stringContaining("public hit") });
      expect(probe(sandbox.container, "fetch", "http://public.stand-in.test/plain")).toMatchObject({ status: 200, body: expect.stringContaining("GET /plain") });
      expect(probe(sandbox.container, "fetch", `http://${lab.publicHost.ipv4}/by-ip`)).toMatchObject({ status: 200 });
    });

    it("reaches the public host over IPv6 through the proxy", () => {
      expect(probe(sandbox.container, "fetch", `http://[${lab.publicHost.ipv6}]/v6`)).toMatchObject({ status: 200, body: expect.stringContaining("GET /v6") });
    });

    it("refuses a LAN host by IP and by a name that resolves to it, with a 403 naming the tier and rule", () => {
      // Node's fetch reports a refused CONNECT as a cancelled request; the raw exchange shows the body.
      expect(probe(sandbox.container, "fetch", `http://${lab.lanHost.ipv4}/`).result).toBe("error");
      const byIp = probe(sandbox.container, "connect-raw", `${lab.lanHost.ipv4}:80`);
      expect(byIp.text).toMatch(/^HTTP\/1.1 403 Forbidden/);
      expect(byIp.text).toContain("network tier internet-only, rule private");
      const byName = probe(sandbox.container, "connect-raw", "lan.stand-in.test:443");
      expect(byName.text).toMatch(/^HTTP\/1.1 403 Forbidden/);
      expect(byName.text).toContain(`${lab.lanHost.ipv4} (lan.stand-in.test) is a private (RFC 1918) address (network tier internet-only, rule private)`);
    });

    it("refuses private, loopback and metadata addresses written as IPv6", () => {
      for (const target of [`[::ffff:${lab.lanHost.ipv4}]:80`, "[::1]:80", "[::ffff:169.254.169.254]:80", "[fd00::1]:80"]) {
        expect(probe(sandbox.container, "connect-raw", target).text, target).toMatch(/^HTTP\/1.1 403 Forbidden/);
      }
    });

    it("has no route to anything directly: not the public host by IPv4 or IPv6, not the LAN host, not the Docker host", () => {
      expect(probe(sandbox.container, "tcp", lab.publicHost.ipv4, "80").result).not.toBe("connected");
      expect(probe(sandbox.container, "tcp", lab.publicHost.ipv6, "80").result).not.toBe("connected");
      expect(probe(sandbox.container, "tcp", lab.lanHost.ipv4, "80").result).not.toBe("connected");
      // By name, a direct connection reaches only the sinkhole address: the proxy, which serves no port 80.
      expect(probe(sandbox.container, "tcp", "public.stand-in.test", "80").result).not.toBe("connected");
      // The internal network's gateway address is where an internal Docker bridge normally sits on
      // the host, reaching every host service listening on 0.0.0.0.
      expect(probe(sandbox.container, "tcp", sandbox.internalGateway as string, String(hostPort)).result).not.toBe("connected");
    });

    it("has no IPv6 at all, so not even the host's link-local address on the bridge answers", () => {
      expect(docker(["exec", sandbox.container, "cat", "/proc/sys/net/ipv6/conf/all/disable_ipv6"]).stdout.trim()).toBe("1");
      expect(sandbox.bridgeLinkLocal, "the bridge's link-local address on the host").toBeDefined();
      expect(probe(sandbox.container, "tcp", `${sandbox.bridgeLinkLocal}%eth0`, String(hostPort6)).result).not.toBe("connected");
    });

    it("gets no answer from raw DNS to the test's own resolver, over UDP or TCP", () => {
      expect(probe(sandbox.container, "udp-dns", lab.resolver.ipv4, "exfil.stand-in.test").result).not.toBe("answer");
      expect(probe(sandbox.container, "tcp-dns", lab.resolver.ipv4, "exfil.stand-in.test").result).not.toBe("answer");
    });

    it("resolves names only to the proxy itself (a sinkhole), never to a real address", () => {
      const lookup = probe(sandbox.container, "lookup", "public.stand-in.test");
      expect(lookup.result).toBe("resolved");
      expect(lookup.addresses).not.toContain(lab.publicHost.ipv4);
      expect(lookup.addresses).not.toContain("203.0.113.7");
    });

    it("logs each decision with its rule for `sbx network log`", () => {
      const log = docker(["exec", sandbox.proxy as string, "cat", "/var/log/sbx-egress/egress.jsonl"]).stdout;
      expect(log).toMatch(/"host":"public.stand-in.test".*"decision":"allowed"/);
      expect(log).toMatch(/"host":"lan.stand-in.test".*"decision":"refused","rule":"private"/);
    });

    it("fails closed when the proxy is killed mid-session: no network at all, never the full one", () => {
      expect(probe(sandbox.container, "fetch", "https://public.stand-in.test/before")).toMatchObject({ status: 200 });
      docker(["kill", sandbox.proxy as string]);
      expect(probe(sandbox.container, "fetch", "https://public.stand-in.test/after").result).toMatch(/error|timeout/);
      expect(probe(sandbox.container, "tcp", lab.publicHost.ipv4, "443").result).not.toBe("connected");
      expect(probe(sandbox.container, "udp-dns", lab.resolver.ipv4, "public.stand-in.test").result).not.toBe("answer");
    });
  });

  describe("allowlist", () => {
    let sandbox: TierSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox(runtime, lab, "allowlist", ["api.stand-in.test", "listed-lan.stand-in.test"]);
      sandboxes.push(sandbox);
    }, 300_000);

    it("reaches a listed name through the proxy", () => {
      expect(probe(sandbox.container, "fetch", "https://api.stand-in.test/v1/messages")).toMatchObject({ status: 200, body: expect.stringContaining("GET /v1/messages") });
    });

    it("refuses a name that is not listed, even on the same host, and the same host by IP", () => {
      const other = probe(sandbox.container, "connect-raw", "other-api.stand-in.test:443");
      expect(other.text).toMatch(/^HTTP\/1.1 403 Forbidden/);
      expect(other.text).toContain("other-api.stand-in.test is not on this sandbox's allowlist (network tier allowlist, rule not-listed)");
      expect(probe(sandbox.container, "connect-raw", `${lab.publicHost.ipv4}:80`).text).toContain("the allowlist names domains only (network tier allowlist, rule not-listed)");
      expect(probe(sandbox.container, "fetch", "https://other-api.stand-in.test/").result).toBe("error");
    });

    it("refuses a listed name that resolves to a private address", () => {
      expect(probe(sandbox.container, "connect-raw", "listed-lan.stand-in.test:443").text).toContain("rule private");
    });

    it("answers DNS for listed names only", () => {
      expect(probe(sandbox.container, "lookup", "api.stand-in.test").result).toBe("resolved");
      expect(probe(sandbox.container, "lookup", "other-api.stand-in.test").result).toBe("error");
      expect(probe(sandbox.container, "lookup", "c2VjcmV0.exfil.stand-in.test").result).toBe("error");
    });

    it("has no route around the proxy, and raw DNS to the test's resolver gets nothing", () => {
      expect(probe(sandbox.container, "tcp", lab.publicHost.ipv4, "443").result).not.toBe("connected");
      expect(probe(sandbox.container, "udp-dns", lab.resolver.ipv4, "api.stand-in.test").result).not.toBe("answer");
      expect(probe(sandbox.container, "tcp-dns", lab.resolver.ipv4, "api.stand-in.test").result).not.toBe("answer");
    });
  });

  describe("full", () => {
    let sandbox: TierSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox(runtime, lab, "full");
      sandboxes.push(sandbox);
    }, 120_000);

    it("is today's bridge: no proxy, no proxy environment, and the Docker host's services answer", () => {
      const [info] = JSON.parse(docker(["inspect", sandbox.container]).stdout);
      expect(info.HostConfig.NetworkMode).toBe("default");
      expect(info.Config.Env.join("\n")).not.toContain("HTTPS_PROXY");
      expect(sandbox.proxy).toBeUndefined();
      const gateway = info.NetworkSettings.Gateway as string;
      expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(probe(sandbox.container, "tcp", gateway, String(hostPort)), gateway).toEqual({ result: "connected" });
    });
  });

  describe("none", () => {
    let sandbox: TierSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox(runtime, lab, "none");
      sandboxes.push(sandbox);
    }, 120_000);

    it("has no network at all: no TCP, no DNS, no proxy", () => {
      expect(docker(["inspect", "-f", "{{.HostConfig.NetworkMode}}", sandbox.container]).stdout.trim()).toBe("none");
      expect(probe(sandbox.container, "tcp", lab.publicHost.ipv4, "80").result).not.toBe("connected");
      expect(probe(sandbox.container, "udp-dns", lab.resolver.ipv4, "public.stand-in.test").result).not.toBe("answer");
      expect(probe(sandbox.container, "lookup", "public.stand-in.test").result).toBe("error");
      expect(sandbox.proxy).toBeUndefined();
    });
  });
});
