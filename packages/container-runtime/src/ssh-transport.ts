import http from "node:http";
import { Duplex } from "node:stream";
import type { DockerEndpoint } from "./docker-host.js";

type SshEndpoint = Extract<DockerEndpoint, { kind: "ssh" }>;

/**
 * The argv of the `ssh` that carries one Engine API connection, exactly as the docker CLI builds
 * it (`ssh -l user -p port -- host docker system dial-stdio`). The host's own `ssh` is used, not
 * a JavaScript client, so `~/.ssh/config`, known_hosts (an unknown or changed host key is
 * refused), the agent, ProxyJump and hardware keys all behave as they do for `docker -H ssh://`.
 */
export function sshArguments(endpoint: SshEndpoint): string[] {
  const url = new URL(endpoint.url);
  const args = ["-o", "ConnectTimeout=30", "-T"];
  if (url.username) args.push("-l", decodeURIComponent(url.username));
  if (url.port) args.push("-p", url.port);
  // `--` so a host name can never be read as an ssh option (`ssh://-oProxyCommand=…`).
  // URL keeps an IPv6 literal in brackets; ssh wants it bare.
  args.push("--", url.hostname.replace(/^\[(.*)\]$/, "$1"), "docker", "system", "dial-stdio");
  return args;
}

/**
 * An http.Agent whose connections are `ssh … docker system dial-stdio` subprocesses (run through
 * execa, imported only when the first connection opens). Pooled connections are reused, so a CLI
 * run pays for one ssh handshake, not one per request.
 */
export class SshAgent extends http.Agent {
  readonly #endpoint: SshEndpoint;

  // Each connection is an ssh handshake (~0.3 s): a burst of parallel requests (one inspect per
  // container in a listing) queues on a few connections instead of starting an ssh per request.
  constructor(endpoint: SshEndpoint, options: http.AgentOptions = { keepAlive: true, maxSockets: 4 }) {
    super(options);
    this.#endpoint = endpoint;
  }

  override createConnection(_options: http.ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void): undefined {
    openSshConnection(this.#endpoint).then(
      (socket) => callback?.(null, socket),
      (error: Error) => callback?.(error, undefined as never),
    );
    return undefined;
  }
}

/** One `ssh … dial-stdio` subprocess as a socket-like Duplex; destroying it ends the subprocess. */
export async function openSshConnection(endpoint: SshEndpoint): Promise<Duplex> {
  const { execa } = await import("execa");
  const child = execa("ssh", sshArguments(endpoint), { stdin: "pipe", stdout: "pipe", stderr: "pipe", buffer: false, reject: false });
  const { stdin, stdout, stderr } = child;
  let stderrTail = "";
  stderr.on("data", (chunk: Buffer) => (stderrTail = (stderrTail + chunk.toString("utf8")).slice(-2000)));
  const socket = new Duplex({
    read: () => void stdout.resume(),
    write: (chunk: Buffer, _encoding, done) => void stdin.write(chunk, done),
    final: (done) => void stdin.end(done),
    destroy: (error, done) => {
      child.kill();
      done(error);
    },
  });
  stdout.on("data", (chunk: Buffer) => {
    if (!socket.push(chunk)) stdout.pause();
  });
  stdin.on("error", () => {});
  // The readable side ends only once ssh has exited, so a failed ssh (unknown host key, refused
  // key) reaches the request as ssh's own reason, not as a bare "socket hang up".
  void child.then((result) => {
    if (socket.destroyed) return;
    if (result.exitCode === 0) {
      socket.push(null);
      return;
    }
    const why = stderrTail.trim().split("\n").pop() || result.signal || `exit ${result.exitCode}`;
    socket.destroy(new Error(`ssh to ${endpoint.display} failed: ${why}`));
  });
  // http.Agent and ClientRequest treat the connection as a net.Socket.
  const handles = [stdin, stdout, stderr] as unknown as Array<{ ref?: () => void; unref?: () => void }>;
  Object.assign(socket, {
    setKeepAlive: () => socket,
    setNoDelay: () => socket,
    setTimeout: () => socket,
    ref: () => {
      child.ref();
      for (const handle of handles) handle.ref?.();
      return socket;
    },
    unref: () => {
      // An idle pooled connection must not keep a finished CLI run alive.
      child.unref();
      for (const handle of handles) handle.unref?.();
      return socket;
    },
  });
  return socket;
}
