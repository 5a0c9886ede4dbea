import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";

/** What a probe may touch on the host. Injected, so probes are tested without a real home. */
export interface HostContext {
  home: string;
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  /** The file's bytes, `undefined` when it does not exist; throws when it exists but cannot be read. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** Runs a program (no shell) and returns its exit code and stdout. Secrets are never in `args`. */
  run(command: string, args: string[]): Promise<{ exitCode: number; stdout: string }>;
  /** @default Date.now */
  now?: () => number;
}

export function realHostContext(options: { home: string; env: Record<string, string | undefined>; platform?: NodeJS.Platform }): HostContext {
  return {
    home: options.home,
    env: options.env,
    platform: options.platform ?? process.platform,
    async readFile(path) {
      try {
        return await readFile(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
        throw error;
      }
    },
    run(command, args) {
      return new Promise((resolve) => {
        execFile(command, args, { encoding: "utf8", timeout: 10_000 }, (error, stdout) => {
          const code = error ? (typeof error.code === "number" ? error.code : 127) : 0;
          resolve({ exitCode: code, stdout });
        });
      });
    },
  };
}
