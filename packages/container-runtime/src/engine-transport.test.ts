import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "./docker-driver.js";
import { dockerTimeoutMs } from "./engine-transport.js";
import { isRuntimeError } from "./errors.js";
import { muteEngine } from "./test-support/mute-engine.js";

/** An "engine" that accepts every connection and never says a word: a hung dockerd. */
describe("an engine that accepts connections and never answers", () => {
  const dir = mkdtempSync(join(tmpdir(), "sbx-mute-engine-"));
  const { socketPath } = muteEngine(join(dir, "docker.sock"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("times out a call with SBX_DOCKER_TIMEOUT, naming the endpoint and the limit", async () => {
    const runtime = new DockerRuntime({ env: { DOCKER_HOST: `unix://${socketPath}`, SBX_DOCKER_TIMEOUT: "0.3" } });
    try {
      const failure = await runtime.ping().catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_DOCKER_TIMEOUT"), String(failure)).toBe(true);
      expect((failure as Error).message).toBe(`Docker at unix://${socketPath} did not answer GET /_ping within 0.3 s.`);
      expect((failure as { hint?: string }).hint).toMatch(/SBX_DOCKER_TIMEOUT/);
    } finally {
      runtime.close();
    }
  });

  it("times out over dockerode's modem too (the transport of ssh:// hosts)", async () => {
    const runtime = new DockerRuntime({ env: { DOCKER_HOST: `unix://${socketPath}` }, transport: "dockerode", timeoutMs: 300 });
    const failure = await runtime.inspectContainer("x").catch((error: unknown) => error);
    expect(isRuntimeError(failure, "SBX_DOCKER_TIMEOUT"), String(failure)).toBe(true);
  });

  it("times out the lookups `sbx up` starts with, and an exec before its stream opens", async () => {
    const runtime = new DockerRuntime({ env: { DOCKER_HOST: `unix://${socketPath}` }, timeoutMs: 200 });
    try {
      for (const call of [() => runtime.inspectContainer("x"), () => runtime.inspectImage("x"), () => runtime.ensureVolume("x"), () => runtime.exec("x", { cmd: ["true"] }), () => runtime.logs("x")]) {
        const failure = await call().catch((error: unknown) => error);
        expect(isRuntimeError(failure, "SBX_DOCKER_TIMEOUT"), String(failure)).toBe(true);
      }
    } finally {
      runtime.close();
    }
  });
});

describe("an engine that is not there", () => {
  it("fails each call at once with SBX_DOCKER_UNREACHABLE and leaves no deadline behind to hold the process", async () => {
    const runtime = new DockerRuntime({ env: { DOCKER_HOST: `unix://${join(tmpdir(), "sbx-no-such-engine", "docker.sock")}` }, timeoutMs: 600_000 });
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const before = timers();
    try {
      for (const call of [() => runtime.dialect(), () => runtime.inspectContainer("x"), () => runtime.exec("x", { cmd: ["true"] }), () => runtime.logs("x")]) {
        const failure = await call().catch((error: unknown) => error);
        expect(isRuntimeError(failure, "SBX_DOCKER_UNREACHABLE"), String(failure)).toBe(true);
      }
      // A plain call clears its deadline on the socket's close, a turn or two after the error.
      for (let turn = 0; turn < 20 && timers() !== before; turn += 1) await new Promise((done) => setImmediate(done));
      expect(timers()).toBe(before);
    } finally {
      runtime.close();
    }
  });
});

describe("SBX_DOCKER_TIMEOUT", () => {
  it("is 10 s unless set, in seconds, and 0 waits forever", () => {
    expect(dockerTimeoutMs({})).toBe(10_000);
    expect(dockerTimeoutMs({ SBX_DOCKER_TIMEOUT: "2.5" })).toBe(2500);
    expect(dockerTimeoutMs({ SBX_DOCKER_TIMEOUT: "0" })).toBe(0);
  });

  it("rejects a value that is not a number of seconds", () => {
    const failure = (() => {
      try {
        return dockerTimeoutMs({ SBX_DOCKER_TIMEOUT: "10s" });
      } catch (error) {
        return error;
      }
    })();
    expect(isRuntimeError(failure, "SBX_DOCKER_TIMEOUT_INVALID")).toBe(true);
  });
});
