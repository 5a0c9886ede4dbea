import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { resolveDockerEndpoint, type DockerEndpoint } from "./docker-host.js";
import { DockerodeTransport, loadDockerode } from "./dockerode-transport.js";
import { dialectOfPing, reportedCapDrop, shortTag, tmpfsOptions, type EngineDialect } from "./engine-dialect.js";
import { apiError, dockerTimeoutMs, NodeHttpTransport, type EngineTransport } from "./engine-transport.js";
import { containerExists, execOutputTooLarge, imageInUse, networkInUse, RuntimeError } from "./errors.js";
import type { Writable } from "node:stream";
import { demuxToText, pumpExecStream } from "./exec-stream.js";
import type {
  BuildSpec,
  ContainerInfo,
  ContainerRuntime,
  ContainerSpec,
  ExecOptions,
  ExecResult,
  ImageInfo,
  ListFilter,
  NetworkInfo,
  NetworkSpec,
  VolumeInfo,
} from "./types.js";

export interface DockerDriverOptions {
  /** @default process.env (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) */
  env?: Record<string, string | undefined>;
  /**
   * `http` talks to the Engine API with plain node:http (fast start-up; over ssh:// through the
   * host's `ssh`); `dockerode` goes through dockerode's modem. @default "http"
   */
  transport?: "http" | "dockerode";
  /**
   * How long a plain API call (and a stream's handshake) may take. @default SBX_DOCKER_TIMEOUT
   * seconds from `env`, else 10 s; 0 waits forever
   */
  timeoutMs?: number;
  /** An existing dockerode instance to use for builds and the dockerode transport. */
  dockerode?: { modem: unknown; buildImage: (...args: never[]) => unknown };
}

/** The part of dockerode that image builds use. */
interface DockerodeForBuilds {
  modem: { followProgress: (stream: NodeJS.ReadableStream, done: (error: Error | null) => void, progress: (event: never) => void) => void };
  buildImage: (context: { context: string; src: string[] }, options: Record<string, unknown>) => Promise<NodeJS.ReadableStream>;
}

interface RawContainer {
  Id: string;
  Name: string;
  Created: string;
  Config: { Image: string; User: string; Labels: Record<string, string> | null };
  State: { Status: ContainerInfo["state"] };
  HostConfig: {
    CapDrop: string[] | null;
    CapAdd: string[] | null;
    SecurityOpt: string[] | null;
    PidsLimit: number | null;
    Tmpfs: Record<string, string> | null;
    Memory?: number;
    NanoCpus?: number;
    LogConfig?: { Type?: string; Config?: Record<string, string> | null };
  };
  Mounts: Array<{ Type: "bind" | "volume"; Name?: string; Source: string; Destination: string; RW: boolean }>;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string }> | null };
}

interface RawNetwork {
  Id: string;
  Name: string;
  Internal: boolean;
  Labels: Record<string, string> | null;
  IPAM?: { Config?: Array<{ Subnet?: string }> | null };
  Containers?: Record<string, { Name: string }> | null;
}

/** The Docker Engine API driver: Docker Engine, Docker Desktop, OrbStack, Colima, Podman, remote hosts. */
export class DockerRuntime implements ContainerRuntime {
  readonly driver = "docker";
  readonly endpoint: DockerEndpoint;
  readonly #transport: EngineTransport;
  readonly #options: DockerDriverOptions;
  #dialect: Promise<EngineDialect> | undefined;

  constructor(options: DockerDriverOptions = {}) {
    this.#options = options;
    this.endpoint = resolveDockerEndpoint(options.env ?? process.env);
    const endpoint = this.endpoint;
    const timeoutMs = options.timeoutMs ?? dockerTimeoutMs(options.env ?? process.env);
    this.#transport = options.transport === "dockerode" ? new DockerodeTransport(endpoint, options.dockerode, { timeoutMs }) : new NodeHttpTransport(endpoint, { timeoutMs });
  }

  async #call(method: string, path: string, body?: unknown, okStatuses: number[] = [200, 201, 204, 304]): Promise<unknown> {
    const response = await this.#transport.request(method, path, body);
    if (!okStatuses.includes(response.status)) throw apiError(response.status, response.body, path);
    return response.body;
  }

  async #optional<T>(path: string): Promise<T | undefined> {
    const response = await this.#transport.request("GET", path);
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw apiError(response.status, response.body, path);
    return response.body as T;
  }

  async ping(): Promise<void> {
    await this.#call("GET", "/_ping");
  }

  /** Docker or Podman, asked once per runtime (only creating a container needs to know). */
  dialect(): Promise<EngineDialect> {
    this.#dialect ??= this.#transport.stream("GET", "/_ping").then((response) => {
      response.resume();
      return dialectOfPing(response.headers);
    });
    return this.#dialect;
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    const raw = await this.#optional<{ Id: string; RepoTags: string[] | null; Created: string; Size?: number; Config: { Labels: Record<string, string> | null } }>(
      `/images/${encodeURIComponent(ref)}/json`,
    );
    return raw && { id: raw.Id, tags: (raw.RepoTags ?? []).map(shortTag), labels: raw.Config?.Labels ?? {}, createdAt: raw.Created, ...(typeof raw.Size === "number" ? { sizeBytes: raw.Size } : {}) };
  }

  async listImages(filter: ListFilter = {}): Promise<ImageInfo[]> {
    const path = `/images/json?filters=${encodeURIComponent(JSON.stringify({ label: labelFilters(filter) }))}`;
    const raw = (await this.#call("GET", path)) as Array<{ Id: string; RepoTags: string[] | null; Labels: Record<string, string> | null; Created: number; Size?: number }>;
    return raw.map((image) => ({
      id: image.Id,
      tags: (image.RepoTags ?? []).filter((tag) => tag !== "<none>:<none>").map(shortTag),
      labels: image.Labels ?? {},
      createdAt: new Date(image.Created * 1000).toISOString(),
      ...(typeof image.Size === "number" ? { sizeBytes: image.Size } : {}),
    }));
  }

  async removeImage(ref: string): Promise<void> {
    const path = `/images/${encodeURIComponent(ref)}`;
    const response = await this.#transport.request("DELETE", path);
    if (response.status === 409) throw imageInUse(ref);
    if (response.status !== 200 && response.status !== 404) throw apiError(response.status, response.body, path);
  }

  async buildImage(spec: BuildSpec): Promise<ImageInfo> {
    // dockerode earns its import here: it packs the context into a tar stream and parses the
    // builder's progress. Nothing on a hot path builds.
    const docker = await this.#dockerode();
    const files = listFiles(spec.contextDir);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await docker.buildImage(
        { context: spec.contextDir, src: files },
        { t: spec.tag, buildargs: spec.buildArgs ?? {}, labels: spec.labels ?? {}, rm: true, forcerm: true },
      );
    } catch (cause) {
      throw new RuntimeError("SBX_IMAGE_BUILD_FAILED", `Building ${spec.tag} could not start.`, { cause });
    }
    const tail: string[] = [];
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
          if (event.error) {
            reject(new RuntimeError("SBX_IMAGE_BUILD_FAILED", `Building ${spec.tag} failed: ${event.errorDetail?.message ?? event.error}`.trim(), {
              hint: tail.length ? `Last build output:\n${tail.join("\n")}` : undefined,
            }));
            return;
          }
          const text = event.stream ?? event.status;
          if (!text) return;
          for (const line of text.split("\n")) {
            if (!line.trim()) continue;
            tail.push(line);
            if (tail.length > 20) tail.shift();
            spec.onProgress?.({ line });
          }
        },
      );
    });
    const image = await this.inspectImage(spec.tag);
    if (!image) throw new RuntimeError("SBX_IMAGE_BUILD_FAILED", `The build of ${spec.tag} finished but the image is missing.`);
    return image;
  }

  #dockerode(): Promise<DockerodeForBuilds> {
    return loadDockerode(this.endpoint, this.#options.dockerode as DockerodeForBuilds | undefined);
  }

  async createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    const tmpfs: Record<string, string> = {};
    const mounts: unknown[] = [];
    const dialect = (spec.mounts ?? []).some((mount) => mount.type === "tmpfs") ? await this.dialect() : "docker";
    for (const mount of spec.mounts ?? []) {
      if (mount.type === "tmpfs") {
        tmpfs[mount.target] = tmpfsOptions(mount, spec, dialect);
      } else {
        mounts.push({ Type: mount.type, Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly ?? false });
      }
    }
    const body = {
      Image: spec.image,
      User: spec.user,
      Cmd: spec.cmd,
      Env: Object.entries(spec.env ?? {}).map(([key, value]) => `${key}=${value}`),
      WorkingDir: spec.workdir ?? "",
      Labels: spec.labels ?? {},
      Tty: false,
      OpenStdin: false,
      HostConfig: {
        CapDrop: ["ALL"],
        CapAdd: spec.capAdd ?? [],
        SecurityOpt: ["no-new-privileges"],
        PidsLimit: spec.pidsLimit ?? 512,
        ...(spec.memoryBytes ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
        ...(spec.nanoCpus ? { NanoCpus: spec.nanoCpus } : {}),
        // Type "" is the engine's default log driver, which then validates the options itself.
        ...(spec.logMaxSize ? { LogConfig: { Type: "", Config: { "max-size": spec.logMaxSize, "max-file": String(spec.logMaxFiles ?? 3) } } } : {}),
        Init: spec.init ?? true,
        Mounts: mounts,
        Tmpfs: tmpfs,
        ReadonlyRootfs: spec.readOnlyRootfs ?? false,
        ...(spec.network ? { NetworkMode: spec.network } : {}),
        ...(spec.dns ? { Dns: spec.dns } : {}),
      },
    };
    const path = `/containers/create?name=${encodeURIComponent(spec.name)}`;
    let sent: unknown = body;
    let response = await this.#transport.request("POST", path, sent);
    if (response.status === 400 && spec.logMaxSize && /log opt/i.test(JSON.stringify(response.body))) {
      // The engine's log driver (journald, syslog, …) takes no size options: it bounds logs its own way.
      const { LogConfig: _dropped, ...hostConfig } = body.HostConfig;
      sent = { ...body, HostConfig: hostConfig };
      response = await this.#transport.request("POST", path, sent);
    }
    // Two creates at once on one fresh volume (two named sandboxes of a new login) each copy the
    // image's content at the mount point into it, and the later copy can find the first one's
    // directory there: Docker refuses with a 500 although the volume is filled by then, and another
    // try copies nothing. Tried again a few times, a moment apart.
    for (let attempt = 1; attempt < COPY_UP_TRIES && lostCopyUpRace(response); attempt++) {
      await new Promise((resume) => setTimeout(resume, 50 * attempt));
      response = await this.#transport.request("POST", path, sent);
    }
    // Podman answers a taken name with a 500 ("… is already in use"), Docker with a 409.
    if (response.status === 409 || (response.status === 500 && /already in use/i.test(JSON.stringify(response.body)))) throw containerExists(spec.name);
    if (response.status === 404) {
      throw new RuntimeError("SBX_IMAGE_NOT_FOUND", `No such image: ${spec.image}.`, { hint: "Run `sbx up` to build it, or check --base-image." });
    }
    if (response.status >= 300) throw apiError(response.status, response.body, path);
    const info = await this.inspectContainer(spec.name);
    if (!info) throw new RuntimeError("SBX_CONTAINER_NOT_FOUND", `The container ${spec.name} vanished right after it was created.`);
    return info;
  }

  async startContainer(nameOrId: string): Promise<void> {
    await this.#call("POST", `/containers/${encodeURIComponent(nameOrId)}/start`);
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined> {
    const raw = await this.#optional<RawContainer>(`/containers/${encodeURIComponent(nameOrId)}/json`);
    return raw && toContainerInfo(raw);
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    const path = `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: labelFilters(filter) }))}`;
    const summaries = (await this.#call("GET", path)) as Array<{ Id: string }>;
    const infos = await Promise.all(summaries.map((summary) => this.inspectContainer(summary.Id)));
    return infos.filter((info): info is ContainerInfo => info !== undefined);
  }

  async removeContainer(nameOrId: string): Promise<void> {
    const path = `/containers/${encodeURIComponent(nameOrId)}?force=1`;
    const response = await this.#transport.request("DELETE", path);
    // 409 "removal … already in progress": another command is removing it, which is what was asked.
    if (response.status === 409 && /already in progress/.test(JSON.stringify(response.body))) return;
    if (![200, 204, 404].includes(response.status)) throw apiError(response.status, response.body, path);
  }

  async exec(nameOrId: string, options: ExecOptions): Promise<ExecResult> {
    const tty = options.tty ?? false;
    const createPath = `/containers/${encodeURIComponent(nameOrId)}/exec`;
    const created = (await this.#call("POST", createPath, {
      AttachStdin: options.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: tty,
      Cmd: options.cmd,
      Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
      ...(options.user ? { User: options.user } : {}),
      ...(options.workdir ? { WorkingDir: options.workdir } : {}),
    })) as { Id: string };
    const socket = await this.#transport.hijack(`/exec/${created.Id}/start`, { Detach: false, Tty: tty });
    let stopResizing: (() => void) | undefined;
    if (tty && options.terminal) {
      const resize = (columns: number, rows: number) =>
        void this.#transport.request("POST", `/exec/${created.Id}/resize?h=${rows}&w=${columns}`).catch(() => undefined);
      resize(options.terminal.columns, options.terminal.rows);
      stopResizing = options.terminal.onResize?.(resize);
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const limit = options.maxOutputBytes ?? Infinity;
    let collected = 0;
    let overflowed = false;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      if (overflowed) return;
      collected += chunk.length;
      if (collected > limit) {
        overflowed = true;
        socket.destroy();
        return;
      }
      into.push(chunk);
    };
    // A sink that is behind pauses the engine's stream until it drains (backpressure): a slow
    // reader of a large output (`sbx save`'s home archive) would otherwise hold all of it in memory.
    const forward = (sink: Writable) => (chunk: Buffer) => {
      if (sink.write(chunk) || socket.isPaused()) return;
      socket.pause();
      // A sink that closes instead (destroyed, failed) never drains: the stream goes on to its end.
      const resume = () => {
        sink.off("drain", resume);
        sink.off("close", resume);
        socket.resume();
      };
      sink.once("drain", resume);
      sink.once("close", resume);
    };
    try {
      await pumpExecStream(socket, {
        tty,
        ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
        stdout: options.stdout ? forward(options.stdout) : collect(out),
        stderr: options.stderr ? forward(options.stderr) : collect(err),
      }).catch((error: unknown) => {
        if (!overflowed) throw error;
      });
    } finally {
      stopResizing?.();
      socket.destroy();
    }
    if (overflowed) throw execOutputTooLarge(nameOrId, limit);
    return { exitCode: await this.#execExitCode(created.Id), stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
  }

  async #execExitCode(execId: string): Promise<number> {
    // The stream can close a moment before the engine records the exit code: ask again at once,
    // then back off (2, 4 … 20 ms), so the usual case waits no timer at all. ~2 s in all.
    for (let attempt = 0; ; attempt += 1) {
      const state = (await this.#call("GET", `/exec/${execId}/json`)) as { Running: boolean; ExitCode: number | null };
      if (!state.Running && state.ExitCode !== null) return state.ExitCode;
      if (attempt >= 110) throw new RuntimeError("SBX_DOCKER_API", "The engine closed an exec stream but never reported its exit code.");
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(20, 2 * attempt)));
    }
  }

  async logs(nameOrId: string): Promise<string> {
    const path = `/containers/${encodeURIComponent(nameOrId)}/logs?stdout=1&stderr=1`;
    const response = await this.#transport.stream("GET", path);
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (response.statusCode !== 200) throw apiError(response.statusCode ?? 0, body.toString("utf8"), path);
    const { stdout, stderr } = demuxToText(body);
    return stdout + stderr;
  }

  async ensureVolume(name: string, labels: Record<string, string> = {}): Promise<VolumeInfo> {
    const existing = await this.inspectVolume(name);
    if (existing) return existing;
    const response = await this.#transport.request("POST", "/volumes/create", { Name: name, Labels: labels });
    if (response.status === 409 || (response.status === 500 && /already exists/i.test(JSON.stringify(response.body)))) {
      // Another command created it a moment ago (engines that do not treat a duplicate as a no-op;
      // Podman says so with a 500).
      const raced = await this.inspectVolume(name);
      if (raced) return raced;
    }
    if (response.status !== 200 && response.status !== 201) throw apiError(response.status, response.body, "/volumes/create");
    const raw = response.body as { Name: string; Labels: Record<string, string> | null };
    return { name: raw.Name, labels: raw.Labels ?? {} };
  }

  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    const raw = await this.#optional<{ Name: string; Labels: Record<string, string> | null }>(`/volumes/${encodeURIComponent(name)}`);
    return raw && { name: raw.Name, labels: raw.Labels ?? {} };
  }

  async listVolumes(filter: ListFilter = {}): Promise<VolumeInfo[]> {
    const path = `/volumes?filters=${encodeURIComponent(JSON.stringify({ label: labelFilters(filter) }))}`;
    const raw = (await this.#call("GET", path)) as { Volumes: Array<{ Name: string; Labels: Record<string, string> | null }> | null };
    return (raw.Volumes ?? []).map((volume) => ({ name: volume.Name, labels: volume.Labels ?? {} }));
  }

  async removeVolume(name: string): Promise<void> {
    await this.#call("DELETE", `/volumes/${encodeURIComponent(name)}`, undefined, [200, 204, 404]);
  }

  async createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    await this.#call("POST", "/networks/create", {
      Name: spec.name,
      CheckDuplicate: true,
      Driver: "bridge",
      Internal: spec.internal ?? false,
      Labels: spec.labels ?? {},
      // The bridge driver otherwise puts the gateway address on the host's bridge interface, and a
      // container on an internal network can still reach every host service listening there.
      Options: spec.hostUnreachable ? { "com.docker.network.bridge.inhibit_ipv4": "true" } : {},
    });
    const info = await this.inspectNetwork(spec.name);
    if (!info) throw new RuntimeError("SBX_DOCKER_API", `The network ${spec.name} vanished right after it was created.`);
    return info;
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    const raw = await this.#optional<RawNetwork>(`/networks/${encodeURIComponent(name)}`);
    return raw && toNetworkInfo(raw);
  }

  async listNetworks(filter: ListFilter = {}): Promise<NetworkInfo[]> {
    const path = `/networks?filters=${encodeURIComponent(JSON.stringify({ label: labelFilters(filter) }))}`;
    const summaries = (await this.#call("GET", path)) as Array<{ Id: string }>;
    // The list omits attached containers: inspect each for the whole picture.
    const infos = await Promise.all(summaries.map((summary) => this.inspectNetwork(summary.Id)));
    return infos.filter((info): info is NetworkInfo => info !== undefined);
  }

  async removeNetwork(name: string): Promise<void> {
    const path = `/networks/${encodeURIComponent(name)}`;
    const response = await this.#transport.request("DELETE", path);
    // Docker: 403 or 409; Podman: a 500 naming the containers still attached.
    if (response.status === 403 || response.status === 409 || (response.status === 500 && /in use|associated containers|active endpoints/i.test(JSON.stringify(response.body)))) throw networkInUse(name);
    if (response.status !== 200 && response.status !== 204 && response.status !== 404) throw apiError(response.status, response.body, path);
  }

  async connectNetwork(network: string, container: string, options: { aliases?: string[] } = {}): Promise<void> {
    await this.#call("POST", `/networks/${encodeURIComponent(network)}/connect`, {
      Container: container,
      EndpointConfig: options.aliases?.length ? { Aliases: options.aliases } : {},
    });
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    const path = `/networks/${encodeURIComponent(network)}/disconnect`;
    const response = await this.#transport.request("POST", path, { Container: container, Force: true });
    // Not attached (or already gone) is the state the caller wanted.
    if (response.status === 200 || response.status === 204 || response.status === 404) return;
    if (response.status === 500 && /is not connected/i.test(JSON.stringify(response.body))) return;
    throw apiError(response.status, response.body, path);
  }

  /** Releases pooled connections so a short-lived process can exit at once. */
  close(): void {
    this.#transport.close();
  }
}

function labelFilters(filter: ListFilter): string[] {
  return Object.entries(filter.labels ?? {}).map(([key, value]) => (value === undefined ? key : `${key}=${value}`));
}

function toNetworkInfo(raw: RawNetwork): NetworkInfo {
  return {
    id: raw.Id,
    name: raw.Name,
    internal: raw.Internal,
    labels: raw.Labels ?? {},
    subnets: (raw.IPAM?.Config ?? []).flatMap((config) => (config.Subnet ? [config.Subnet] : [])),
    containers: Object.values(raw.Containers ?? {}).map((container) => container.Name),
  };
}

/** How often a create is tried when it lost the race to fill a fresh volume. */
const COPY_UP_TRIES = 4;

/** Docker's refusal when another create filled the volume between its look and its copy. */
function lostCopyUpRace(response: { status: number; body: unknown }): boolean {
  return response.status === 500 && /failed to (?:mkdir|copy|chown|lchown|mknod|symlink) [^"]*\/_data\b[^"]*: file exists/i.test(JSON.stringify(response.body));
}

function toContainerInfo(raw: RawContainer): ContainerInfo {
  const tmpfs = Object.entries(raw.HostConfig.Tmpfs ?? {}).map(([target, options]) => ({
    type: "tmpfs" as const,
    target,
    readOnly: options.split(",").includes("ro"),
  }));
  return {
    id: raw.Id,
    name: raw.Name.replace(/^\//, ""),
    image: raw.Config.Image,
    state: raw.State.Status,
    labels: raw.Config.Labels ?? {},
    user: raw.Config.User,
    createdAt: raw.Created,
    security: {
      capDrop: reportedCapDrop(raw.HostConfig.CapDrop ?? []),
      capAdd: raw.HostConfig.CapAdd ?? [],
      noNewPrivileges: (raw.HostConfig.SecurityOpt ?? []).some((option) => /^no-new-privileges(:true)?$/.test(option)),
      pidsLimit: raw.HostConfig.PidsLimit ?? undefined,
    },
    resources: {
      memoryBytes: raw.HostConfig.Memory || undefined,
      nanoCpus: raw.HostConfig.NanoCpus || undefined,
      logDriver: raw.HostConfig.LogConfig?.Type || undefined,
      logMaxSize: raw.HostConfig.LogConfig?.Config?.["max-size"],
      logMaxFiles: raw.HostConfig.LogConfig?.Config?.["max-file"] ? Number(raw.HostConfig.LogConfig.Config["max-file"]) : undefined,
    },
    mounts: [
      ...raw.Mounts.map((mount) => ({
        type: mount.Type,
        source: mount.Type === "volume" ? (mount.Name ?? mount.Source) : mount.Source,
        target: mount.Destination,
        readOnly: !mount.RW,
      })),
      ...tmpfs,
    ],
    networks: Object.fromEntries(
      Object.entries(raw.NetworkSettings?.Networks ?? {}).map(([name, network]) => [
        name,
        { ...(network.IPAddress ? { ipv4: network.IPAddress } : {}), ...(network.GlobalIPv6Address ? { ipv6: network.GlobalIPv6Address } : {}) },
      ]),
    ),
  };
}

function listFiles(root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(relative(root, path));
    }
  };
  walk(root);
  return files;
}

