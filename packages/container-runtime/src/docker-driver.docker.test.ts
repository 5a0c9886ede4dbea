import { describe, expect, it } from "vitest";
import { DockerRuntime } from "./docker-driver.js";
import { isRuntimeError } from "./errors.js";
import { describeRuntimeContract } from "./test-support/contract.js";
import { dockerTestEnvironment } from "./test-support/docker-environment.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

describe.skipIf(!environment.available)(`Docker engine${skipReason}`, () => {
  const image = environment.available ? environment.image : "";
  describeRuntimeContract("docker over node:http", async () => ({ runtime: new DockerRuntime(), image }));
  describeRuntimeContract("docker over dockerode's modem", async () => ({ runtime: new DockerRuntime({ transport: "dockerode" }), image }));
});

describe("DockerRuntime without an engine", () => {
  it("reports a dead DOCKER_HOST socket as SBX_DOCKER_UNREACHABLE with a hint", async () => {
    const runtime = new DockerRuntime({ env: { DOCKER_HOST: "unix:///nonexistent/docker.sock" } });
    const failure = await runtime.ping().catch((error: unknown) => error);
    expect(isRuntimeError(failure, "SBX_DOCKER_UNREACHABLE")).toBe(true);
    expect((failure as Error).message).toBe("Docker is not answering at unix:///nonexistent/docker.sock.");
    expect((failure as { hint?: string }).hint).toMatch(/DOCKER_HOST/);
  });

  it("rejects a DOCKER_HOST that is not an endpoint", () => {
    const failure = (() => {
      try {
        return new DockerRuntime({ env: { DOCKER_HOST: "ftp://nope" } });
      } catch (error) {
        return error;
      }
    })();
    expect(isRuntimeError(failure, "SBX_DOCKER_HOST_INVALID")).toBe(true);
  });
});
