import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import type { ContainerRuntime } from "@sbx/container-runtime";
import { ENTRYPOINT } from "./sandbox-identity.js";

export interface HeldSession {
  /** Given to the attached command as SBX_SESSION, so the watcher can find it. */
  session: string;
  /** Ends the watcher (the attached command has ended, or is to end with it). */
  release(): Promise<void>;
}

/**
 * Holds an exec open in the sandbox for as long as this process lives: `entrypoint watch` reads its
 * stdin, which nothing writes. However this process ends — the agent exited, Ctrl-C, a closed
 * terminal, SIGKILL — the stream closes and the watcher hangs up on the session's agent, which
 * `docker exec` alone would leave running in the sandbox.
 */
export function holdSession(runtime: ContainerRuntime, container: string): HeldSession {
  const session = randomBytes(12).toString("hex");
  const stdin = new PassThrough();
  const watcher = runtime.exec(container, { cmd: [...ENTRYPOINT, "watch", session], stdin }).catch(() => undefined);
  return {
    session,
    release: async () => {
      stdin.end();
      await watcher;
    },
  };
}
