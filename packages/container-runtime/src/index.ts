export { createRuntime, type RuntimeOptions } from "./create-runtime.js";
export { DockerRuntime, type DockerDriverOptions } from "./docker-driver.js";
export { MemoryRuntime, type MemoryDriverOptions } from "./memory-driver.js";
export { resolveDockerEndpoint, type DockerEndpoint } from "./docker-host.js";
export { DEFAULT_DOCKER_TIMEOUT_MS, dockerTimeoutMs } from "./engine-transport.js";
export { RuntimeError, isRuntimeError, containerNotFound, containerExists, containerNotRunning, imageInUse, networkInUse, type RuntimeErrorCode } from "./errors.js";
export type {
  BuildProgress,
  BuildSpec,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ExecOptions,
  ExecResult,
  ImageInfo,
  ListFilter,
  MountSpec,
  NetworkInfo,
  NetworkSpec,
  VolumeInfo,
} from "./types.js";
