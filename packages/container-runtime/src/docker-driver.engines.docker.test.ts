/**
 * The runtime contract against every other Docker-API engine sbx claims: Podman's API socket, a
 * remote engine over ssh:// and one over tcp:// with TLS (client certificate required). Each over
 * both transports. In CI (SBX_REQUIRE_DOCKER=1 / CI=true) they must run; elsewhere an engine that
 * cannot be set up here is skipped with the reason.
 */
import { afterAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "./docker-driver.js";
import { isRuntimeError } from "./errors.js";
import { describeRuntimeContract } from "./test-support/contract.js";
import { engineEnvironment, type EngineEnvironment, type EngineName } from "./test-support/engines.js";

const image = process.env.SBX_TEST_BASE_IMAGE;
const engines: Array<[EngineName, EngineEnvironment]> = [];
for (const name of ["podman", "ssh", "tls"] as const) engines.push([name, await engineEnvironment(name, image)]);

afterAll(async () => {
  for (const [, engine] of engines) if (engine.available) await engine.stop();
});

const [podman, ssh, tls] = engines.map(([, engine]) => engine) as [EngineEnvironment, EngineEnvironment, EngineEnvironment];
/** The dialect a runtime on `env` reads off the engine's /_ping. */
async function dialectOver(env: Record<string, string>, transport: "http" | "dockerode"): Promise<string> {
  const runtime = new DockerRuntime({ env, transport });
  try {
    return await runtime.dialect();
  } finally {
    runtime.close();
  }
}
const skipped = (engine: EngineEnvironment) => (engine.available ? "" : ` (skipped: ${engine.reason})`);

describe.skipIf(!podman.available)(`Podman's Docker API${skipped(podman)}`, () => {
  const env = podman.available ? podman.env : {};
  describeRuntimeContract("podman over node:http", async () => ({ runtime: new DockerRuntime({ env }), image: image ?? "" }), { timeout: 60_000 });
  describeRuntimeContract("podman over dockerode's modem", async () => ({ runtime: new DockerRuntime({ env, transport: "dockerode" }), image: image ?? "" }), {
    timeout: 60_000,
  });

  it.each(["http", "dockerode"] as const)("is known as Podman from its /_ping (%s transport)", async (transport) => {
    expect(await dialectOver(env, transport)).toBe("podman");
  });
});

describe.skipIf(!ssh.available)(`a remote engine over ssh://${skipped(ssh)}`, () => {
  const env = ssh.available ? ssh.env : {};
  // The driver runs the host's `ssh`, found on PATH: the wrapper that names the test's key and
  // known_hosts (as a user's ~/.ssh/config would) goes first for these tests only.
  const originalPath = process.env.PATH;
  const withPath = (path: string | undefined) => {
    process.env.PATH = path;
  };

  describe("with the pinned host key", () => {
    describeRuntimeContract(
      "ssh over node:http",
      async () => {
        withPath(env.PATH);
        return { runtime: new DockerRuntime({ env }), image: image ?? "" };
      },
      { timeout: 60_000 },
    );
    describeRuntimeContract(
      "ssh over dockerode's modem",
      async () => {
        withPath(env.PATH);
        return { runtime: new DockerRuntime({ env, transport: "dockerode" }), image: image ?? "" };
      },
      { timeout: 60_000 },
    );
  });

  it.each(["http", "dockerode"] as const)("refuses a host whose key is not the one in known_hosts (%s transport)", async (transport) => {
    // An impostor on the address: known_hosts pins another key. dockerode's own ssh2 client
    // accepted any host key, so this connected before the driver used the host's ssh.
    withPath(env.SBX_TEST_IMPOSTOR_PATH);
    const runtime = new DockerRuntime({ env, transport });
    try {
      const failure = await runtime.ping().catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_DOCKER_UNREACHABLE")).toBe(true);
      expect(String((failure as { cause?: Error }).cause?.message)).toMatch(/Host key verification failed/);
    } finally {
      runtime.close();
      withPath(originalPath);
    }
  });

  afterAll(() => withPath(originalPath));
});

describe.skipIf(!tls.available)(`a remote engine over tcp:// with TLS${skipped(tls)}`, () => {
  const env = tls.available ? tls.env : {};
  describeRuntimeContract("tls over node:http", async () => ({ runtime: new DockerRuntime({ env }), image: image ?? "" }));
  describeRuntimeContract("tls over dockerode's modem", async () => ({ runtime: new DockerRuntime({ env, transport: "dockerode" }), image: image ?? "" }));

  it.each(["http", "dockerode"] as const)("is known as Docker from its /_ping (%s transport)", async (transport) => {
    expect(await dialectOver(env, transport)).toBe("docker");
  });

  it.each(["http", "dockerode"] as const)("is refused without a client certificate (%s transport)", async (transport) => {
    const runtime = new DockerRuntime({ env: { ...env, DOCKER_CERT_PATH: env.SBX_TEST_NO_CLIENT_CERT_PATH }, transport });
    try {
      const failure = await runtime.ping().catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_DOCKER_UNREACHABLE")).toBe(true);
    } finally {
      runtime.close();
    }
  });
});
