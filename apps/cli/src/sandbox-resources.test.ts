import { describe, expect, it } from "vitest";
import { CliError } from "./cli-error.js";
import { defaultResources, describeResources, resolveResources } from "./sandbox-resources.js";

const GiB = 1024 ** 3;

describe("sandbox resources (hole 14)", () => {
  it("defaults to half the host's memory up to 8 GiB, every CPU, 1024 processes and 10m × 3 of logs", () => {
    expect(defaultResources({ totalMemoryBytes: 32 * GiB, cpus: 8 })).toEqual({ memoryBytes: 8 * GiB, nanoCpus: 8e9, pids: 1024, logMaxSize: "10m", logMaxFiles: 3 });
    expect(defaultResources({ totalMemoryBytes: 6 * GiB, cpus: 2 })).toMatchObject({ memoryBytes: 3 * GiB, nanoCpus: 2e9 });
  });

  it("takes the config's resources over the defaults, and says which came from it", () => {
    const defaults = defaultResources({ totalMemoryBytes: 16 * GiB, cpus: 4 });
    const resources = resolveResources({ memory: "2g", cpus: 1.5, pids: 256, logMaxSize: "1m" }, "/home/ada/.config/sbx/config.json", defaults);
    expect(resources).toEqual({ memoryBytes: 2 * GiB, nanoCpus: 1.5e9, pids: 256, logMaxSize: "1m", logMaxFiles: 3, fromConfig: ["memory", "cpus", "pids", "logMaxSize"] });
    expect(describeResources(resources)).toBe("memory 2 GiB (your config), 1.5 CPUs (your config), 256 processes (your config), logs 1m × 3 (your config)");
    expect(describeResources(resolveResources({ memory: "512m" }, undefined, defaults))).toBe("memory 512 MiB (your config), 4 CPUs, 1024 processes, logs 10m × 3");
  });

  for (const [config, key] of [
    [{ memory: "lots" }, "memory"],
    [{ memory: "1k" }, "memory"],
    [{ memory: 4 }, "memory"],
    [{ cpus: 0 }, "cpus"],
    [{ cpus: "2" }, "cpus"],
    [{ pids: 2.5 }, "pids"],
    [{ pids: 1 }, "pids"],
    [{ logMaxSize: "10 MB" }, "logMaxSize"],
  ] as const) {
    it(`refuses resources.${key} = ${JSON.stringify(config[key as keyof typeof config])} naming the key and the file`, () => {
      const failure = (() => {
        try {
          return resolveResources(config as never, "/home/ada/.config/sbx/config.json");
        } catch (error) {
          return error;
        }
      })();
      expect(failure).toBeInstanceOf(CliError);
      expect((failure as CliError).code).toBe("SBX_RESOURCES_INVALID");
      expect((failure as CliError).message).toContain(`resources.${key} = `);
      expect((failure as CliError).message).toContain("/home/ada/.config/sbx/config.json");
    });
  }
});
