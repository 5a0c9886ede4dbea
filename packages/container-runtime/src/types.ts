import type { Readable, Writable } from "node:stream";

/** A bind mount of a host path, a named volume, or a memory-backed tmpfs. */
export type MountSpec =
  | { type: "bind"; source: string; target: string; readOnly?: boolean }
  | { type: "volume"; source: string; target: string; readOnly?: boolean }
  | {
      type: "tmpfs";
      target: string;
      /** @default 1 MiB */
      sizeBytes?: number;
      /** Octal permission bits of the tmpfs root, e.g. 0o700. */
      mode?: number;
      /** Owner of the tmpfs root (uid:gid), so a non-root user can write it. */
      uid?: number;
      gid?: number;
      /** @default true */
      noexec?: boolean;
    };

/**
 * A runtime-neutral description of a hardened container. Every driver maps it onto its engine
 * (Docker HostConfig, a Kubernetes Pod securityContext, …); the hardening is not optional.
 */
export interface ContainerSpec {
  name: string;
  image: string;
  /** `uid:gid` (numeric, never root). */
  user: string;
  cmd: string[];
  /** Non-secret environment only: secrets go through the secret pipe, never here. */
  env?: Record<string, string>;
  workdir?: string;
  labels?: Record<string, string>;
  mounts?: MountSpec[];
  /** Capabilities added back after dropping ALL. @default [] */
  capAdd?: string[];
  /** @default 512 */
  pidsLimit?: number;
  /** Memory limit in bytes; swap is held to the same figure (no swap beyond it). @default no limit */
  memoryBytes?: number;
  /** CPU limit in billionths of a CPU (2 CPUs = 2e9). @default no limit */
  nanoCpus?: number;
  /**
   * Cap on the container log the main process writes (`10m`), and how many rotated files to keep.
   * Applied where the engine's log driver takes these options (json-file, local); a driver that
   * does not (journald, syslog) keeps its own bounds. @default no cap
   */
  logMaxSize?: string;
  /** @default 3 when logMaxSize is set */
  logMaxFiles?: number;
  /** Run a minimal init as PID 1 so signals and zombies are handled. @default true */
  init?: boolean;
  /** Network name or mode. @default the engine's default bridge */
  network?: string;
  readOnlyRootfs?: boolean;
  /** DNS servers the container's resolver uses (addresses). @default the engine's */
  dns?: string[];
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  state: "created" | "running" | "exited" | "paused" | "restarting" | "removing" | "dead";
  labels: Record<string, string>;
  user: string;
  createdAt: string;
  /** The hardening as the engine reports it, so tests and `sbx doctor` can check it. */
  security: { capDrop: string[]; capAdd: string[]; noNewPrivileges: boolean; pidsLimit: number | undefined };
  /** The bounds as the engine reports them (undefined: none). */
  resources: { memoryBytes: number | undefined; nanoCpus: number | undefined; logDriver: string | undefined; logMaxSize: string | undefined; logMaxFiles: number | undefined };
  mounts: Array<{ type: "bind" | "volume" | "tmpfs"; source?: string; target: string; readOnly: boolean }>;
  /** The networks the container is attached to, with its addresses there (once it runs). */
  networks?: Record<string, { ipv4?: string; ipv6?: string }>;
}

/** A network the runtime creates for sbx (the sandbox's internal network). */
export interface NetworkSpec {
  name: string;
  /** No route out: containers on it reach only each other. @default false */
  internal?: boolean;
  /**
   * The engine's host holds no address on the network, so a container on it cannot reach the
   * host's own services either (an internal Docker bridge otherwise keeps its gateway address on
   * the host). @default false
   */
  hostUnreachable?: boolean;
  labels?: Record<string, string>;
}

export interface NetworkInfo {
  id: string;
  name: string;
  internal: boolean;
  labels: Record<string, string>;
  /** Subnets in CIDR notation. */
  subnets: string[];
  /** Names of the containers attached. */
  containers: string[];
}

export interface ImageInfo {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  createdAt: string;
  /** The image's size on the engine, layers shared with other images included (undefined: not reported). */
  sizeBytes?: number;
}

export interface VolumeInfo {
  name: string;
  labels: Record<string, string>;
}

export interface BuildProgress {
  /** A line of builder output, e.g. `Step 3/9 : RUN npm install -g …`. */
  line: string;
}

export interface BuildSpec {
  /** Directory holding the Dockerfile and everything it copies. */
  contextDir: string;
  tag: string;
  /** Non-secret build arguments only: build args are recorded in the image history. */
  buildArgs?: Record<string, string>;
  labels?: Record<string, string>;
  onProgress?: (progress: BuildProgress) => void;
}

export interface ExecOptions {
  cmd: string[];
  env?: Record<string, string>;
  user?: string;
  workdir?: string;
  /**
   * Bytes written to the process's stdin, which is then closed (EOF). A stream is piped and
   * closed when it ends. Without it the process gets no stdin.
   */
  stdin?: Uint8Array | string | Readable;
  /** Allocate a pseudo-terminal (interactive shells and agents). @default false */
  tty?: boolean;
  /** Stream output here instead of collecting it in the result. */
  stdout?: Writable;
  stderr?: Writable;
  /**
   * The most output (stdout and stderr together) collected into the result: past it the exec is
   * cut off and fails with SBX_EXEC_OUTPUT_TOO_LARGE. What a sandbox prints is its own to choose,
   * so every exec that reads a sandbox's answer back sets one. @default unbounded
   */
  maxOutputBytes?: number;
  /** Current terminal size, and a way to learn of resizes, for `tty` sessions. */
  terminal?: { columns: number; rows: number; onResize?: (listener: (columns: number, rows: number) => void) => () => void };
}

export interface ExecResult {
  exitCode: number;
  /** Collected output; empty when it was streamed to `ExecOptions.stdout`. */
  stdout: Buffer;
  stderr: Buffer;
}

export interface ListFilter {
  /** Only objects carrying all these labels (value `undefined` matches any value). */
  labels?: Record<string, string | undefined>;
}

/**
 * The seam between sbx and a container engine. Small on purpose: a new engine is one new driver
 * file and one more run of the contract suite in `src/test-support/contract.ts`.
 */
export interface ContainerRuntime {
  readonly driver: string;
  /** Resolves when the engine answers; rejects with SBX_DOCKER_UNREACHABLE otherwise. */
  ping(): Promise<void>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  listImages(filter?: ListFilter): Promise<ImageInfo[]>;
  /** Removes an image (tag or id); a missing one is fine, one a container uses is refused (SBX_IMAGE_IN_USE). */
  removeImage(ref: string): Promise<void>;
  buildImage(spec: BuildSpec): Promise<ImageInfo>;
  /** Creates the container; a name already taken rejects with SBX_CONTAINER_EXISTS (the engine's 409). */
  createContainer(spec: ContainerSpec): Promise<ContainerInfo>;
  /** Starts the container; one already running is fine (so concurrent starts converge). */
  startContainer(nameOrId: string): Promise<void>;
  inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined>;
  listContainers(filter?: ListFilter): Promise<ContainerInfo[]>;
  /** Stops (if running) and removes the container. Volumes are never removed here. */
  removeContainer(nameOrId: string): Promise<void>;
  exec(nameOrId: string, options: ExecOptions): Promise<ExecResult>;
  logs(nameOrId: string): Promise<string>;
  /** Creates the volume unless it exists; concurrent calls for one name all resolve to it. */
  ensureVolume(name: string, labels?: Record<string, string>): Promise<VolumeInfo>;
  inspectVolume(name: string): Promise<VolumeInfo | undefined>;
  listVolumes(filter?: ListFilter): Promise<VolumeInfo[]>;
  removeVolume(name: string): Promise<void>;
  /** Creates a network; a name already taken is an error (SBX_DOCKER_API). */
  createNetwork(spec: NetworkSpec): Promise<NetworkInfo>;
  inspectNetwork(name: string): Promise<NetworkInfo | undefined>;
  listNetworks(filter?: ListFilter): Promise<NetworkInfo[]>;
  /** Removes a network; a missing one is fine, one a container is attached to is refused (SBX_NETWORK_IN_USE). */
  removeNetwork(name: string): Promise<void>;
  /** Attaches a container (created or running) to a network, reachable there under `aliases` too. */
  connectNetwork(network: string, container: string, options?: { aliases?: string[] }): Promise<void>;
  /** Detaches a container; one not attached is fine. */
  disconnectNetwork(network: string, container: string): Promise<void>;
}
