import http from "node:http";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import type { DockerEndpoint } from "./docker-host.js";
import { containerNotFound, containerNotRunning, RuntimeError } from "./errors.js";
import { SshAgent } from "./ssh-transport.js";

export interface EngineResponse {
  status: number;
  body: unknown;
}

/**
 * How requests reach the Engine API. The plain `node:http` transport keeps the CLI's hot paths
 * (exec, status) free of dockerode's import cost, over unix sockets, tcp (TLS) and ssh:// alike.
 */
export interface EngineTransport {
  request(method: string, path: string, body?: unknown): Promise<EngineResponse>;
  /** POST with `Upgrade: tcp` and hand back the raw bidirectional stream (exec start, attach). */
  hijack(path: string, body: unknown): Promise<Duplex>;
  /** A raw streaming GET/POST (logs, build output). */
  stream(method: string, path: string, body?: NodeJS.ReadableStream, headers?: Record<string, string>): Promise<http.IncomingMessage>;
  close(): void;
}

export function unreachable(endpoint: DockerEndpoint, cause: unknown): RuntimeError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  // The engine is there but this user may not talk to it: "Start Docker" would send them astray.
  if (code === "EACCES" || code === "EPERM") {
    return new RuntimeError("SBX_DOCKER_PERMISSION_DENIED", `Permission denied on the Docker socket ${endpoint.display}.`, {
      hint:
        "Add yourself to the docker group (`sudo usermod -aG docker $USER`, then log in again), use a rootless engine's socket " +
        "(DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock), or point DOCKER_HOST at an engine you may use.",
      cause,
    });
  }
  return new RuntimeError("SBX_DOCKER_UNREACHABLE", `Docker is not answering at ${endpoint.display}.`, {
    hint:
      endpoint.display.startsWith("unix://") || endpoint.display.startsWith("npipe://")
        ? "Start Docker (Docker Desktop, `sudo systemctl start docker`, or Podman's socket), or point DOCKER_HOST at a running engine."
        : "Check that the remote engine is up and reachable, or unset DOCKER_HOST to use the local one.",
    cause,
  });
}

/** How long one Engine API call may take before sbx gives up on the engine. */
export const DEFAULT_DOCKER_TIMEOUT_MS = 10_000;

/**
 * SBX_DOCKER_TIMEOUT in seconds (`0` waits forever), else 10 s. It bounds every plain API call and
 * the handshake of streams; a stream itself (build output, an attached shell) may run as long as
 * it likes.
 */
export function dockerTimeoutMs(env: Record<string, string | undefined> = process.env): number {
  const raw = env.SBX_DOCKER_TIMEOUT?.trim();
  if (!raw) return DEFAULT_DOCKER_TIMEOUT_MS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new RuntimeError("SBX_DOCKER_TIMEOUT_INVALID", `SBX_DOCKER_TIMEOUT=${raw} is not a number of seconds.`, {
      hint: "Set it to a number of seconds, e.g. SBX_DOCKER_TIMEOUT=30 (0 waits forever), or unset it for the default 10 s.",
    });
  }
  return seconds * 1000;
}

export function timedOut(endpoint: DockerEndpoint, what: string, ms: number): RuntimeError {
  return new RuntimeError("SBX_DOCKER_TIMEOUT", `Docker at ${endpoint.display} did not answer ${what} within ${ms / 1000} s.`, {
    hint: "The engine may be hung or overloaded: restart it (Docker Desktop, `sudo systemctl restart docker`), or allow longer with SBX_DOCKER_TIMEOUT=<seconds> (0 waits forever).",
  });
}

// node:https (and tls under it) costs ~8 ms to load; only tcp+TLS endpoints need it, so the exec
// hot path over a unix socket loads it never. getBuiltinModule is sync (Node ≥ 20.16).
const httpsModule = () => process.getBuiltinModule("node:https");

export class NodeHttpTransport implements EngineTransport {
  readonly #endpoint: DockerEndpoint;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;

  constructor(endpoint: DockerEndpoint, options: { timeoutMs?: number } = {}) {
    this.#endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_DOCKER_TIMEOUT_MS;
    const tls = endpoint.kind === "tcp" ? endpoint.tls : undefined;
    // keepAlive lets a CLI run reuse one connection for its few requests; idle sockets are
    // unref'd by the agent, so they never hold the process open.
    if (endpoint.kind === "ssh") this.#agent = new SshAgent(endpoint);
    else this.#agent = tls ? new (httpsModule().Agent)({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
  }

  #options(method: string, path: string, headers: Record<string, string>): http.RequestOptions & { servername?: string } {
    const base: http.RequestOptions = { method, path, headers: { Host: "docker", ...headers }, agent: this.#agent };
    if (this.#endpoint.kind === "tcp") {
      // The certificate is checked against the endpoint's host, never the placeholder Host
      // header (the agent would take "docker" from it). An IP gets no SNI (RFC 6066) and is
      // matched against the certificate's IP SANs.
      const { host, port } = this.#endpoint;
      return { ...base, host, port, ...(this.#endpoint.tls ? { servername: isIP(host) ? "" : host } : {}) };
    }
    // Over ssh the agent's connection is the `ssh … docker system dial-stdio` subprocess.
    if (this.#endpoint.kind === "ssh") return base;
    // An empty servername stops the agent from deriving one from the Host header, which calls
    // net.isIP and so compiles its IPv6 regex: ~15 ms on the first request of every CLI run.
    // A unix socket or named pipe has no TLS, so no SNI to lose.
    return { ...base, socketPath: this.#endpoint.socketPath, servername: "" };
  }

  #send(options: http.RequestOptions, body: Buffer | undefined): http.ClientRequest {
    const useTls = this.#endpoint.kind === "tcp" && this.#endpoint.tls !== undefined;
    const request = (useTls ? httpsModule() : http).request(options);
    request.end(body);
    return request;
  }

  /**
   * Fails the call with SBX_DOCKER_TIMEOUT when `settled` is not called in time: an engine that
   * accepts the connection and never answers would otherwise hang every command, doctor included.
   */
  #deadline(request: http.ClientRequest, what: string, reject: (error: Error) => void): () => void {
    if (this.#timeoutMs <= 0) return () => {};
    const timer = setTimeout(() => {
      reject(timedOut(this.#endpoint, what, this.#timeoutMs));
      request.destroy();
    }, this.#timeoutMs);
    return () => clearTimeout(timer);
  }

  request(method: string, path: string, body?: unknown): Promise<EngineResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = payload ? { "Content-Type": "application/json", "Content-Length": String(payload.length) } : {};
    return new Promise((resolve, reject) => {
      const request = this.#send(this.#options(method, path, headers), payload);
      const settled = this.#deadline(request, `${method} ${path.split("?")[0]}`, reject);
      request.on("close", settled);
      request.on("error", (cause) => reject(unreachable(this.#endpoint, cause)));
      request.on("response", (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", (cause) => reject(unreachable(this.#endpoint, cause)));
        response.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          if ((response.headers["content-type"] ?? "").includes("json") && text) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = text;
            }
          }
          resolve({ status: response.statusCode ?? 0, body: parsed });
        });
      });
    });
  }

  hijack(path: string, body: unknown): Promise<Duplex> {
    const payload = Buffer.from(JSON.stringify(body));
    const headers = { "Content-Type": "application/json", "Content-Length": String(payload.length), Connection: "Upgrade", Upgrade: "tcp" };
    return new Promise((resolve, reject) => {
      // A hijacked connection must not go back to the keep-alive pool (over ssh: its own ssh).
      // Without the pooled agent, the TLS client material (CA, cert, key) goes with the request.
      const agent = this.#endpoint.kind === "ssh" ? new SshAgent(this.#endpoint, { keepAlive: false }) : false;
      const tls = this.#endpoint.kind === "tcp" ? this.#endpoint.tls : undefined;
      const request = this.#send({ ...this.#options("POST", path, headers), agent, ...tls }, payload);
      // Only the handshake is bounded: the stream after it lasts as long as the command.
      const settled = this.#deadline(request, `POST ${path}`, reject);
      request.on("error", (cause) => {
        settled();
        reject(unreachable(this.#endpoint, cause));
      });
      request.on("upgrade", (_response, socket, head) => {
        settled();
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
      });
      request.on("response", (response) => {
        settled();
        // Engines answer errors (404, 409) with a plain response instead of upgrading.
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => reject(apiError(response.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"), path)));
      });
    });
  }

  stream(method: string, path: string, body?: NodeJS.ReadableStream, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const useTls = this.#endpoint.kind === "tcp" && this.#endpoint.tls !== undefined;
      const request = (useTls ? httpsModule() : http).request(this.#options(method, path, headers));
      const settled = this.#deadline(request, `${method} ${path.split("?")[0]}`, reject);
      // A failed connection clears its deadline too: a pending timer kept the process alive for
      // the whole timeout after the engine was found unreachable.
      request.on("error", (cause) => {
        settled();
        reject(unreachable(this.#endpoint, cause));
      });
      request.on("response", (response) => {
        settled();
        resolve(response);
      });
      if (body) body.pipe(request);
      else request.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Turns an Engine API error response into a RuntimeError with the engine's own message. */
export function apiError(status: number, body: unknown, path: string): RuntimeError {
  const detail =
    typeof body === "object" && body !== null && "message" in body ? String((body as { message: unknown }).message) : String(body ?? "").trim();
  if (status === 404 && path.startsWith("/containers/")) return containerNotFound(decodeURIComponent(path.split("/")[2] ?? ""));
  if (status === 409 && /not running|is paused|is restarting/.test(detail)) return containerNotRunning(detail);
  // Podman answers an exec into a stopped container with 500 "container state improper".
  if (status === 500 && /container state improper/.test(detail)) return containerNotRunning(detail);
  if (status === 404 && path.startsWith("/images/")) {
    return new RuntimeError("SBX_IMAGE_NOT_FOUND", `No such image: ${decodeURIComponent(path.split("/")[2] ?? "")}.`);
  }
  return new RuntimeError("SBX_DOCKER_API", `The Docker engine refused ${path.split("?")[0]} (HTTP ${status}): ${detail || "no detail"}.`);
}
