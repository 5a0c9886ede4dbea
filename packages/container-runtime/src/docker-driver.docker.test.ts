import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
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

describe.skipIf(!environment.available)(`an exec streamed into a slow sink${skipReason}`, () => {
  it("waits for the sink (backpressure): 32 MB through a sink that takes 1 ms a write never piles up in memory", { timeout: 180_000 }, async () => {
    const image = environment.available ? environment.image : "";
    const runtime = new DockerRuntime();
    const name = `sbx-backpressure-${randomBytes(4).toString("hex")}`;
    try {
      await runtime.createContainer({ name, image, user: "1000:1000", cmd: ["sh", "-c", "exec sleep 600"] });
      await runtime.startContainer(name);
      let received = 0;
      let mostBuffered = 0;
      const sink = new Writable({
        highWaterMark: 64 * 1024,
        write(chunk: Buffer, _encoding, done) {
          received += chunk.length;
          setTimeout(done, 1);
        },
      });
      const track = setInterval(() => (mostBuffered = Math.max(mostBuffered, sink.writableLength)), 1);
      const result = await runtime.exec(name, { cmd: ["head", "-c", String(32 * 1024 * 1024), "/dev/zero"], stdout: sink });
      await new Promise<void>((done) => sink.end(done));
      clearInterval(track);
      expect(result.exitCode).toBe(0);
      expect(received).toBe(32 * 1024 * 1024);
      // Without backpressure the whole output queues in the sink (tens of MB) while it drains.
      expect(mostBuffered).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await runtime.removeContainer(name).catch(() => undefined);
      runtime.close();
    }
  });
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
