import { spawn } from "node:child_process";
import type { ContainerInfo, ExecOptions, ExecResult } from "@sbx/container-runtime";
import { DEFAULT_SANDBOX_STATE_DIR, type SandboxRuntime } from "../sandbox-copy.js";

/**
 * A runtime whose "containers" are directories on this machine: exec runs the keeper's fixed
 * programs (sh, stat, node) for real, locally, so the unit tests exercise the exact bytes the
 * keeper sends into a sandbox — without Docker. Every exec is recorded (argv and env), so a test can
 * prove no secret was in them. Each container's state directory is a local directory: the
 * sandbox's path in an argv (/home/sandbox/.llm) is pointed at it.
 */
export class LocalRuntime implements SandboxRuntime {
  readonly execs: Array<{ container: string; cmd: string[]; env: Record<string, string> | undefined }> = [];
  readonly containers: ContainerInfo[] = [];
  readonly #stateDirs = new Map<string, string>();

  /** A running "sandbox" whose state directory is `stateDir`; `volume` names a shared state volume. */
  addContainer(name: string, labels: Record<string, string>, stateDir: string, volume?: string): void {
    this.#stateDirs.set(name, stateDir);
    this.containers.push({
      id: name,
      name,
      image: "local",
      state: "running",
      labels,
      user: "1000:1000",
      createdAt: new Date(0).toISOString(),
      security: { capDrop: ["ALL"], capAdd: [], noNewPrivileges: true, pidsLimit: 512 },
      resources: { memoryBytes: undefined, nanoCpus: undefined, logDriver: undefined, logMaxSize: undefined, logMaxFiles: undefined },
      mounts: volume ? [{ type: "volume", source: volume, target: DEFAULT_SANDBOX_STATE_DIR, readOnly: false }] : [],
    });
  }

  async listContainers(): Promise<ContainerInfo[]> {
    return this.containers.map((container) => structuredClone(container));
  }

  exec(container: string, options: ExecOptions): Promise<ExecResult> {
    this.execs.push({ container, cmd: [...options.cmd], env: options.env });
    const stateDir = this.#stateDirs.get(container);
    if (!stateDir) return Promise.reject(new Error(`no container ${container}`));
    const cmd = options.cmd.map((arg) => (arg === DEFAULT_SANDBOX_STATE_DIR ? stateDir : arg));
    return new Promise((resolve, reject) => {
      const child = spawn(cmd[0] as string, cmd.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on("data", (chunk: Buffer) => (options.stdout ? options.stdout.write(chunk) : out.push(chunk)));
      child.stderr.on("data", (chunk: Buffer) => (options.stderr ? options.stderr.write(chunk) : err.push(chunk)));
      child.on("error", reject);
      child.on("close", (code) => resolve({ exitCode: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
      if (options.stdin !== undefined && typeof options.stdin !== "object") child.stdin.end(options.stdin);
      else if (options.stdin instanceof Uint8Array) child.stdin.end(options.stdin);
      else child.stdin.end();
    });
  }
}
