import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RuntimeError } from "./errors.js";

/** Where the Docker Engine API answers, as DOCKER_HOST (and DOCKER_TLS_VERIFY/DOCKER_CERT_PATH) say. */
export type DockerEndpoint =
  | { kind: "unix"; socketPath: string; display: string }
  | { kind: "npipe"; socketPath: string; display: string }
  | { kind: "tcp"; host: string; port: number; tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer }; display: string }
  | { kind: "ssh"; url: string; display: string };

const DEFAULT_UNIX_SOCKET = "/var/run/docker.sock";

/**
 * Resolves the engine endpoint the way the docker CLI does for DOCKER_HOST, so Docker Engine,
 * Docker Desktop, Podman's Docker API (`unix:///run/user/1000/podman/podman.sock`) and remote
 * hosts (`tcp://…` with TLS, `ssh://…`) all work with nothing else changed.
 */
export function resolveDockerEndpoint(env: Record<string, string | undefined> = process.env): DockerEndpoint {
  const raw = env.DOCKER_HOST?.trim();
  if (!raw) {
    return process.platform === "win32"
      ? { kind: "npipe", socketPath: "\\\\.\\pipe\\docker_engine", display: "npipe:////./pipe/docker_engine" }
      : { kind: "unix", socketPath: DEFAULT_UNIX_SOCKET, display: `unix://${DEFAULT_UNIX_SOCKET}` };
  }
  const invalid = (why: string) =>
    new RuntimeError("SBX_DOCKER_HOST_INVALID", `DOCKER_HOST=${raw} is not a Docker endpoint: ${why}.`, {
      hint: "Use unix:///path/to/docker.sock, tcp://host:2376 or ssh://user@host, or unset DOCKER_HOST.",
    });
  if (raw.startsWith("unix://")) {
    const socketPath = raw.slice("unix://".length);
    if (!socketPath.startsWith("/")) throw invalid("the socket path must be absolute");
    return { kind: "unix", socketPath, display: raw };
  }
  if (raw.startsWith("npipe://")) {
    return { kind: "npipe", socketPath: raw.slice("npipe://".length).replace(/\//g, "\\"), display: raw };
  }
  if (raw.startsWith("ssh://")) return { kind: "ssh", url: raw, display: raw };
  if (raw.startsWith("tcp://") || raw.startsWith("http://") || raw.startsWith("https://")) {
    let url: URL;
    try {
      url = new URL(raw.replace(/^tcp:/, "http:"));
    } catch (cause) {
      throw Object.assign(invalid("the address does not parse"), { cause });
    }
    const useTls = Boolean(env.DOCKER_TLS_VERIFY) || raw.startsWith("https://") || url.port === "2376";
    const port = Number(url.port || (useTls ? 2376 : 2375));
    if (!useTls) return { kind: "tcp", host: url.hostname, port, display: raw };
    const certDir = env.DOCKER_CERT_PATH;
    // A file that is not there is not sent (no client certificate: the server decides).
    const read = (file: string) => (certDir && existsSync(join(certDir, file)) ? readFileSync(join(certDir, file)) : undefined);
    const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
    const [ca, cert, key] = [read("ca.pem"), read("cert.pem"), read("key.pem")];
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    return { kind: "tcp", host: url.hostname, port, tls, display: raw };
  }
  throw invalid("the scheme must be unix, tcp, npipe or ssh");
}
