import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { containerExists, containerNotFound, containerNotRunning, execOutputTooLarge, imageInUse, networkInUse, RuntimeError } from "./errors.js";
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

interface StoredFile {
  data: Buffer;
  mode: number;
}

interface FakeContainer {
  info: ContainerInfo;
  spec: ContainerSpec;
  files: Map<string, StoredFile>;
  log: string[];
}

export interface MemoryDriverOptions {
  /** Image references that exist before any build. @default [] */
  images?: string[];
  /** Simulate an engine that does not answer. @default false */
  unreachable?: boolean;
}

/**
 * A complete in-memory runtime for fast tests: containers, volumes, images, and an exec that
 * understands the small shell vocabulary sbx itself sends (`sh -c 'umask 077; cat > f'`, `wc -c`,
 * `sha256sum`, `printenv`, `id -u`, `exit N`, …). It passes the same contract suite as the
 * Docker driver, so a unit test against it means something.
 */
export class MemoryRuntime implements ContainerRuntime {
  readonly driver = "memory";
  readonly #images = new Map<string, ImageInfo>();
  #clock = 0;
  readonly #containers = new Map<string, FakeContainer>();
  /** Names whose create is under way. */
  readonly #reserved = new Set<string>();
  readonly #volumes = new Map<string, { info: VolumeInfo; files: Map<string, StoredFile> }>();
  readonly #unreachable: boolean;
  readonly #networks = new Map<string, { info: NetworkInfo; index: number; attached: Map<string, string> }>();
  #networkCount = 0;

  constructor(options: MemoryDriverOptions = {}) {
    this.#unreachable = options.unreachable ?? false;
    for (const ref of options.images ?? []) this.#images.set(ref, fakeImage(ref, {}));
  }

  #engine(): void {
    if (this.#unreachable) {
      throw new RuntimeError("SBX_DOCKER_UNREACHABLE", "Docker is not answering at memory://.", { hint: "This is the in-memory fake configured as unreachable." });
    }
  }

  #container(nameOrId: string): FakeContainer {
    this.#engine();
    const found = this.#containers.get(nameOrId) ?? [...this.#containers.values()].find((container) => container.info.id === nameOrId);
    if (!found) throw containerNotFound(nameOrId);
    return found;
  }

  async ping(): Promise<void> {
    this.#engine();
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    this.#engine();
    return this.#images.get(ref);
  }

  async listImages(filter: ListFilter = {}): Promise<ImageInfo[]> {
    this.#engine();
    const unique = new Map([...this.#images.values()].map((image) => [image.id, image]));
    return [...unique.values()].filter((image) => matchesLabels(image.labels, filter));
  }

  async removeImage(ref: string): Promise<void> {
    this.#engine();
    const image = this.#images.get(ref) ?? [...this.#images.values()].find((candidate) => candidate.id === ref);
    if (!image) return;
    if ([...this.#containers.values()].some((container) => image.tags.includes(container.info.image) || container.info.image === image.id)) throw imageInUse(ref);
    for (const tag of image.tags) this.#images.delete(tag);
  }

  async buildImage(spec: BuildSpec): Promise<ImageInfo> {
    this.#engine();
    if (!existsSync(join(spec.contextDir, "Dockerfile"))) {
      throw new RuntimeError("SBX_IMAGE_BUILD_FAILED", `Building ${spec.tag} failed: the context has no Dockerfile.`);
    }
    spec.onProgress?.({ line: `Step 1/1 : (memory) build ${spec.tag}` });
    // Strictly increasing build times, as a real engine's, so "the newest image" means something.
    this.#clock = Math.max(Date.now(), this.#clock + 1);
    const image = { ...fakeImage(spec.tag, spec.labels ?? {}), createdAt: new Date(this.#clock).toISOString() };
    this.#images.set(spec.tag, image);
    return image;
  }

  async createContainer(spec: ContainerSpec): Promise<ContainerInfo> {
    this.#engine();
    if (!this.#images.has(spec.image)) throw new RuntimeError("SBX_IMAGE_NOT_FOUND", `No such image: ${spec.image}.`);
    // As the engine: a taken name is a 409, the same error whoever lost the race — also while
    // the winner's create is still under way, when the name is reserved but not yet inspectable.
    if (this.#containers.has(spec.name) || this.#reserved.has(spec.name)) throw containerExists(spec.name);
    this.#reserved.add(spec.name);
    if (spec.network && !["bridge", "none", "host", "default"].includes(spec.network) && !this.#networks.has(spec.network)) {
      this.#reserved.delete(spec.name);
      throw new RuntimeError("SBX_DOCKER_API", `No such network: ${spec.network}.`);
    }
    const info: ContainerInfo = {
      id: randomBytes(32).toString("hex"),
      name: spec.name,
      image: spec.image,
      state: "created",
      labels: { ...this.#images.get(spec.image)?.labels, ...spec.labels },
      user: spec.user,
      createdAt: new Date().toISOString(),
      security: { capDrop: ["ALL"], capAdd: spec.capAdd ?? [], noNewPrivileges: true, pidsLimit: spec.pidsLimit ?? 512 },
      // The fake's log driver is json-file, as Docker's default.
      resources: {
        memoryBytes: spec.memoryBytes,
        nanoCpus: spec.nanoCpus,
        logDriver: "json-file",
        logMaxSize: spec.logMaxSize,
        logMaxFiles: spec.logMaxSize ? (spec.logMaxFiles ?? 3) : undefined,
      },
      mounts: (spec.mounts ?? []).map((mount) =>
        mount.type === "tmpfs"
          ? { type: "tmpfs" as const, target: mount.target, readOnly: false }
          : { type: mount.type, source: mount.source, target: mount.target, readOnly: mount.readOnly ?? false },
      ),
    };
    try {
      for (const mount of spec.mounts ?? []) if (mount.type === "volume") await this.ensureVolume(mount.source);
    } finally {
      this.#reserved.delete(spec.name);
    }
    this.#containers.set(spec.name, { info, spec, files: new Map(), log: [] });
    if (spec.network && this.#networks.has(spec.network)) this.#attach(spec.network, spec.name);
    return structuredClone(this.#withNetworks(info));
  }

  async startContainer(nameOrId: string): Promise<void> {
    const container = this.#container(nameOrId);
    if (container.info.state === "running") return;
    container.info.state = "running";
    // The main process's output becomes the container log, as with a real engine.
    const result = runScript(this, container, container.spec.cmd, {}, undefined);
    container.log.push(result.stdout.toString("utf8"), result.stderr.toString("utf8"));
  }

  async inspectContainer(nameOrId: string): Promise<ContainerInfo | undefined> {
    this.#engine();
    try {
      return structuredClone(this.#withNetworks(this.#container(nameOrId).info));
    } catch {
      return undefined;
    }
  }

  async listContainers(filter: ListFilter = {}): Promise<ContainerInfo[]> {
    this.#engine();
    return [...this.#containers.values()].filter((container) => matchesLabels(container.info.labels, filter)).map((container) => structuredClone(this.#withNetworks(container.info)));
  }

  async removeContainer(nameOrId: string): Promise<void> {
    this.#engine();
    const found = [...this.#containers.entries()].find(([name, container]) => name === nameOrId || container.info.id === nameOrId);
    if (found) {
      this.#containers.delete(found[0]);
      for (const network of this.#networks.values()) network.attached.delete(found[0]);
    }
  }

  async exec(nameOrId: string, options: ExecOptions): Promise<ExecResult> {
    const container = this.#container(nameOrId);
    if (container.info.state !== "running") throw containerNotRunning(container.info.state);
    const stdin = options.stdin === undefined ? undefined : await readAll(options.stdin);
    const env = { ...container.spec.env, ...options.env };
    const user = options.user ?? container.spec.user;
    const result = runScript(this, container, options.cmd, env, stdin, user);
    const collected = (options.stdout ? 0 : result.stdout.length) + (options.stderr ? 0 : result.stderr.length);
    if (options.maxOutputBytes !== undefined && collected > options.maxOutputBytes) throw execOutputTooLarge(nameOrId, options.maxOutputBytes);
    if (options.stdout) {
      options.stdout.write(result.stdout);
      result.stdout = Buffer.alloc(0);
    }
    if (options.stderr) {
      options.stderr.write(result.stderr);
      result.stderr = Buffer.alloc(0);
    }
    return result;
  }

  async logs(nameOrId: string): Promise<string> {
    return this.#container(nameOrId).log.join("");
  }

  async ensureVolume(name: string, labels: Record<string, string> = {}): Promise<VolumeInfo> {
    this.#engine();
    const existing = this.#volumes.get(name);
    if (existing) return { ...existing.info };
    this.#volumes.set(name, { info: { name, labels }, files: new Map() });
    return { name, labels };
  }

  async inspectVolume(name: string): Promise<VolumeInfo | undefined> {
    this.#engine();
    const volume = this.#volumes.get(name);
    return volume && { ...volume.info };
  }

  async listVolumes(filter: ListFilter = {}): Promise<VolumeInfo[]> {
    this.#engine();
    return [...this.#volumes.values()].filter((volume) => matchesLabels(volume.info.labels, filter)).map((volume) => ({ ...volume.info }));
  }

  async removeVolume(name: string): Promise<void> {
    this.#engine();
    this.#volumes.delete(name);
  }

  async createNetwork(spec: NetworkSpec): Promise<NetworkInfo> {
    this.#engine();
    if (this.#networks.has(spec.name)) throw new RuntimeError("SBX_DOCKER_API", `The network name ${spec.name} is already in use.`);
    const index = (this.#networkCount += 1);
    const info: NetworkInfo = { id: randomBytes(32).toString("hex"), name: spec.name, internal: spec.internal ?? false, labels: { ...spec.labels }, subnets: [`10.${200 + (index >> 8)}.${index & 0xff}.0/24`], containers: [] };
    this.#networks.set(spec.name, { info, index, attached: new Map() });
    return this.#networkInfo(spec.name) as NetworkInfo;
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    this.#engine();
    return this.#networkInfo(name);
  }

  async listNetworks(filter: ListFilter = {}): Promise<NetworkInfo[]> {
    this.#engine();
    return [...this.#networks.keys()].map((name) => this.#networkInfo(name) as NetworkInfo).filter((network) => matchesLabels(network.labels, filter));
  }

  async removeNetwork(name: string): Promise<void> {
    this.#engine();
    const network = this.#networks.get(name) ?? [...this.#networks.values()].find((candidate) => candidate.info.id === name);
    if (!network) return;
    if (network.attached.size) throw networkInUse(name);
    this.#networks.delete(network.info.name);
  }

  async connectNetwork(network: string, container: string): Promise<void> {
    const found = this.#container(container);
    if (!this.#networks.has(network)) throw new RuntimeError("SBX_DOCKER_API", `No such network: ${network}.`);
    this.#attach(network, found.info.name);
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    this.#engine();
    this.#networks.get(network)?.attached.delete(container);
  }

  #attach(network: string, container: string): void {
    const entry = this.#networks.get(network);
    if (!entry || entry.attached.has(container)) return;
    entry.attached.set(container, `10.${200 + (entry.index >> 8)}.${entry.index & 0xff}.${entry.attached.size + 2}`);
  }

  #networkInfo(name: string): NetworkInfo | undefined {
    const entry = this.#networks.get(name) ?? [...this.#networks.values()].find((candidate) => candidate.info.id === name);
    return entry && { ...structuredClone(entry.info), containers: [...entry.attached.keys()] };
  }

  #withNetworks(info: ContainerInfo): ContainerInfo {
    const networks: NonNullable<ContainerInfo["networks"]> = {};
    for (const [name, entry] of this.#networks) {
      const address = entry.attached.get(info.name);
      if (address) networks[name] = { ipv4: address };
    }
    return { ...info, networks };
  }

  /** Where a path inside a container is stored: on a mounted volume, or in the container's own layer. */
  storeFor(container: FakeContainer, path: string): { files: Map<string, StoredFile>; key: string } {
    for (const mount of container.spec.mounts ?? []) {
      if (mount.type !== "volume") continue;
      if (path === mount.target || path.startsWith(`${mount.target}/`)) {
        const volume = this.#volumes.get(mount.source);
        if (volume) return { files: volume.files, key: path.slice(mount.target.length) || "/" };
      }
    }
    return { files: container.files, key: path };
  }
}

function fakeImage(ref: string, labels: Record<string, string>): ImageInfo {
  return { id: `sha256:${createHash("sha256").update(ref).digest("hex")}`, tags: [ref], labels, createdAt: new Date(0).toISOString() };
}

function matchesLabels(labels: Record<string, string>, filter: ListFilter): boolean {
  return Object.entries(filter.labels ?? {}).every(([key, value]) => key in labels && (value === undefined || labels[key] === value));
}

async function readAll(input: Uint8Array | string | Readable): Promise<Buffer> {
  if (typeof input === "string") return Buffer.from(input);
  if (input instanceof Uint8Array) return Buffer.from(input);
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** Splits a shell script into `;`/`&&` separated commands of words, honouring quotes. */
function parseScript(script: string): Array<{ words: string[]; joiner: ";" | "&&" }> {
  const commands: Array<{ words: string[]; joiner: ";" | "&&" }> = [];
  let words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  const endWord = () => {
    if (inWord) words.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = (joiner: ";" | "&&") => {
    endWord();
    if (words.length) commands.push({ words, joiner });
    words = [];
  };
  for (let i = 0; i < script.length; i += 1) {
    const char = script[i] as string;
    if (quote) {
      if (char === quote) quote = undefined;
      else word += char;
    } else if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === ";" || char === "\n") {
      endCommand(";");
    } else if (char === "&" && script[i + 1] === "&") {
      endCommand("&&");
      i += 1;
    } else if (char === " " || char === "\t") {
      endWord();
    } else {
      word += char;
      inWord = true;
    }
  }
  endCommand(";");
  return commands;
}

function runScript(
  runtime: MemoryRuntime,
  container: FakeContainer,
  argv: string[],
  env: Record<string, string>,
  stdin: Buffer | undefined,
  user = container.spec.user,
): ExecResult {
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  const commands = argv[0] === "sh" && argv[1] === "-c" ? parseScript(argv[2] ?? "") : [{ words: argv, joiner: ";" as const }];
  let umask = 0o022;
  let status = 0;
  let input = stdin;
  const cwd = container.spec.workdir ?? "/";
  const resolvePath = (path: string) => posix.resolve(cwd, path);
  const read = (path: string): Buffer | undefined => {
    if (resolvePath(path) === "/proc/self/status") return procStatus(container.spec);
    const { files, key } = runtime.storeFor(container, resolvePath(path));
    return files.get(key)?.data;
  };
  for (const [index, command] of commands.entries()) {
    if (index > 0 && commands[index - 1]?.joiner === "&&" && status !== 0) continue;
    let words = [...command.words];
    if (words[0] === "exec") words = words.slice(1);
    let redirectOut: { path: string; append: boolean } | undefined;
    let toStderr = false;
    let commandInput = input;
    const args: string[] = [];
    for (let i = 0; i < words.length; i += 1) {
      const word = words[i] as string;
      if (word === ">" || word === ">>") redirectOut = { path: words[++i] ?? "", append: word === ">>" };
      else if (word === "<") commandInput = read(words[++i] ?? "") ?? Buffer.alloc(0);
      else if (word === ">&2" || word === "1>&2") toStderr = true;
      else args.push(word);
    }
    const out: Buffer[] = [];
    const err = (text: string) => stderr.push(Buffer.from(text));
    const [name = "", ...rest] = args;
    status = 0;
    switch (name) {
      case "true":
      case "sleep":
      case "mkdir":
        break;
      case "false":
        status = 1;
        break;
      case "exit":
        return { exitCode: Number(rest[0] ?? 0), stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
      case "umask":
        umask = parseInt(rest[0] ?? "022", 8);
        break;
      case "echo":
        out.push(Buffer.from(`${rest.join(" ")}\n`));
        break;
      case "printenv":
        if (rest[0] && env[rest[0]] !== undefined) out.push(Buffer.from(`${env[rest[0]]}\n`));
        else status = 1;
        break;
      case "id":
        out.push(Buffer.from(`${rest[0] === "-g" ? (user.split(":")[1] ?? user) : (user.split(":")[0] ?? user)}\n`));
        break;
      case "cat":
        if (rest.length === 0) out.push(commandInput ?? Buffer.alloc(0));
        for (const path of rest) {
          const data = read(path);
          if (data) out.push(data);
          else {
            err(`cat: ${path}: No such file or directory\n`);
            status = 1;
          }
        }
        break;
      case "wc":
        out.push(Buffer.from(`${(rest[1] ? read(rest[1]) : commandInput)?.length ?? 0}\n`));
        break;
      case "sha256sum":
        out.push(Buffer.from(`${createHash("sha256").update((rest[0] ? read(rest[0]) : commandInput) ?? Buffer.alloc(0)).digest("hex")}  -\n`));
        break;
      case "stat": {
        // `stat -c %a FILE` (the octal mode, which the secret tests check) and `stat -c %u:%g`,
        // whose answer in the fake is the user it runs as (it owns everything it can write).
        const path = rest[2] ?? "";
        if (rest[1] === "%u:%g") {
          out.push(Buffer.from(`${user}\n`));
          break;
        }
        const { files, key } = runtime.storeFor(container, resolvePath(path));
        const file = files.get(key);
        if (file) out.push(Buffer.from(`${file.mode.toString(8)}\n`));
        else status = 1;
        break;
      }
      case "rm":
        for (const path of rest.filter((arg) => !arg.startsWith("-"))) {
          const { files, key } = runtime.storeFor(container, resolvePath(path));
          files.delete(key);
        }
        break;
      default:
        err(`sh: ${name}: not found in the memory runtime\n`);
        status = 127;
    }
    const produced = Buffer.concat(out);
    if (redirectOut) {
      const { files, key } = runtime.storeFor(container, resolvePath(redirectOut.path));
      const previous = files.get(key);
      const data = redirectOut.append && previous ? Buffer.concat([previous.data, produced]) : produced;
      files.set(key, { data, mode: previous?.mode ?? 0o666 & ~umask });
    } else (toStderr ? stderr : stdout).push(produced);
    // A command that read stdin consumed it; the rest of the script sees EOF, as in a shell.
    if (commandInput === input && ["cat", "wc", "sha256sum"].includes(name) && (name !== "cat" || rest.length === 0)) input = undefined;
  }
  return { exitCode: status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}

/** The capability lines of /proc/self/status for the spec: empty sets unless capabilities were added. */
function procStatus(spec: ContainerSpec): Buffer {
  const held = (spec.capAdd ?? []).length > 0 ? "00000000a80425fb" : "0000000000000000";
  const sets = ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"].map((set) => `${set}:\t${set === "CapInh" || set === "CapAmb" ? "0000000000000000" : held}`);
  return Buffer.from(`Name:\tcat\n${sets.join("\n")}\nNoNewPrivs:\t1\n`);
}
