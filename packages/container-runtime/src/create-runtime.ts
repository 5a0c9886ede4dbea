import { DockerRuntime, type DockerDriverOptions } from "./docker-driver.js";
import { MemoryRuntime, type MemoryDriverOptions } from "./memory-driver.js";
import type { ContainerRuntime } from "./types.js";

export type RuntimeOptions = ({ driver?: "docker" } & DockerDriverOptions) | ({ driver: "memory" } & MemoryDriverOptions);

/** Picks a driver. `docker` (the default) speaks the Docker Engine API wherever DOCKER_HOST points. */
export function createRuntime(options: RuntimeOptions = {}): ContainerRuntime {
  if (options.driver === "memory") return new MemoryRuntime(options);
  return new DockerRuntime(options);
}
