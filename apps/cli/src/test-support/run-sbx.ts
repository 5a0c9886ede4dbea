import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const SBX_BIN = fileURLToPath(new URL("../../bin/sbx.js", import.meta.url));
/** The installed command: a POSIX-sh launcher that hands `exec` to docker and the rest to SBX_BIN. */
export const SBX_LAUNCHER = fileURLToPath(new URL("../../bin/sbx", import.meta.url));

export interface SbxResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `sbx` as a real subprocess, the way a user does. */
export function runSbx(
  args: string[],
  options: { cwd: string; env: Record<string, string | undefined>; input?: string; timeoutMs?: number; launcher?: boolean; uid?: number; gid?: number },
): Promise<SbxResult> {
  return new Promise((resolve, reject) => {
    const [command, argv] = options.launcher ? [SBX_LAUNCHER, args] : [process.execPath, [SBX_BIN, ...args]];
    const ids = options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {};
    const child = spawn(command, argv, { cwd: options.cwd, env: options.env as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "pipe"], ...ids });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/**
 * The environment a Docker test runs `sbx` with: a HOME of its own, a login of its own, the
 * offline base image, and the engine the suite runs against (DOCKER_HOST when set), nothing else.
 */
export function sbxTestEnv(home: string, login: string, environment: { available: boolean; image?: string }): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: home,
    SBX_LOGIN: login,
    SBX_BASE_IMAGE: environment.available ? (environment.image ?? "") : "",
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
  };
}
