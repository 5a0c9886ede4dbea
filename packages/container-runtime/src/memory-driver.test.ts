import { describe, expect, it } from "vitest";
import { isRuntimeError } from "./errors.js";
import { MemoryRuntime } from "./memory-driver.js";
import { describeRuntimeContract } from "./test-support/contract.js";

describeRuntimeContract("memory", async () => ({ runtime: new MemoryRuntime({ images: ["fake-base:latest"] }), image: "fake-base:latest" }));

describe("MemoryRuntime", () => {
  it("fails like an unreachable engine when configured so", async () => {
    const failure = await new MemoryRuntime({ unreachable: true }).ping().catch((error: unknown) => error);
    expect(isRuntimeError(failure, "SBX_DOCKER_UNREACHABLE")).toBe(true);
  });

  it("refuses to create a container from an image that does not exist", async () => {
    const runtime = new MemoryRuntime();
    const failure = await runtime.createContainer({ name: "x", image: "nope:1", user: "1000:1000", cmd: ["true"] }).catch((error: unknown) => error);
    expect(isRuntimeError(failure, "SBX_IMAGE_NOT_FOUND")).toBe(true);
  });
});
