import type http from "node:http";
import type { Duplex } from "node:stream";
import type { DockerEndpoint } from "./docker-host.js";
import { apiError, DEFAULT_DOCKER_TIMEOUT_MS, timedOut, unreachable, type EngineResponse, type EngineTransport } from "./engine-transport.js";
import { SshAgent } from "./ssh-transport.js";

interface ModemError extends Error {
  statusCode?: number;
  json?: unknown;
}

interface Modem {
  dial(options: Record<string, unknown>, callback: (error: ModemError | null, data: unknown) => void): void;
}

const OK = { 200: true, 201: true, 204: true, 304: true };

/**
 * Sends Engine API calls through dockerode's modem, for any caller that injects its own
 * dockerode instance. Imported lazily, so nothing pays for dockerode unless it is used.
 */
export class DockerodeTransport implements EngineTransport {
  readonly #endpoint: DockerEndpoint;
  readonly #modem: Promise<Modem>;
  readonly #timeoutMs: number;

  constructor(endpoint: DockerEndpoint, dockerode?: { modem: unknown }, options: { timeoutMs?: number } = {}) {
    this.#endpoint = endpoint;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_DOCKER_TIMEOUT_MS;
    this.#modem = loadDockerode(endpoint, dockerode).then((docker) => docker.modem as Modem);
  }

  async #dial(request: { path: string; query?: Record<string, string> } & Record<string, unknown>, body?: unknown): Promise<unknown> {
    const modem = await this.#modem;
    // The modem builds the query string and the JSON body from one `options` object; `_query`
    // and `_body` keep them apart (a path without `?` gets no query string at all).
    const { query, ...rest } = request;
    const options = { ...rest, options: query ? { _query: query, _body: body ?? {} } : (body ?? {}) };
    return new Promise((resolve, reject) => modem.dial(options, (error, data) => (error ? reject(error) : resolve(data))));
  }

  async request(method: string, path: string, body?: unknown): Promise<EngineResponse> {
    // Plain calls only: a signal on a stream would cut it off mid-build or mid-session.
    const signal = this.#timeoutMs > 0 ? AbortSignal.timeout(this.#timeoutMs) : undefined;
    try {
      const data = await this.#dial({ ...splitQuery(path), method, statusCodes: OK, allowEmpty: true, ...(signal ? { abortSignal: signal } : {}) }, body);
      return { status: 200, body: data };
    } catch (error) {
      const modemError = error as ModemError;
      if (modemError.statusCode) return { status: modemError.statusCode, body: modemError.json };
      if (signal?.aborted) throw timedOut(this.#endpoint, `${method} ${path.split("?")[0]}`, this.#timeoutMs);
      throw unreachable(this.#endpoint, error);
    }
  }

  async hijack(path: string, body: unknown): Promise<Duplex> {
    try {
      return (await this.#dial({ ...splitQuery(path), method: "POST", statusCodes: OK, isStream: true, hijack: true, openStdin: true }, body)) as Duplex;
    } catch (error) {
      const modemError = error as ModemError;
      if (modemError.statusCode) throw apiError(modemError.statusCode, modemError.json, path);
      throw unreachable(this.#endpoint, error);
    }
  }

  async stream(method: string, path: string, body?: NodeJS.ReadableStream, headers?: Record<string, string>): Promise<http.IncomingMessage> {
    try {
      return (await this.#dial({ ...splitQuery(path), method, file: body, headers, statusCodes: OK, isStream: true })) as http.IncomingMessage;
    } catch (error) {
      const modemError = error as ModemError;
      if (modemError.statusCode) throw apiError(modemError.statusCode, modemError.json, path);
      throw unreachable(this.#endpoint, error);
    }
  }

  close(): void {}
}

function splitQuery(path: string): { path: string; query?: Record<string, string> } {
  const at = path.indexOf("?");
  if (at === -1) return { path };
  return { path: `${path.slice(0, at)}?`, query: Object.fromEntries(new URLSearchParams(path.slice(at + 1))) };
}

/**
 * A dockerode instance for the endpoint (or the caller's own), imported only when first needed:
 * the import costs 0.2–0.9 s, which no hot path may pay.
 */
export function loadDockerode<T extends { modem: unknown } = { modem: unknown }>(endpoint: DockerEndpoint, injected?: T): Promise<T> {
  if (injected) return Promise.resolve(injected);
  return import("dockerode").then(({ default: Docker }) => new Docker(dockerodeOptions(endpoint)) as unknown as T);
}

function dockerodeOptions(endpoint: DockerEndpoint): Record<string, unknown> {
  switch (endpoint.kind) {
    case "ssh":
      // Not dockerode's own ssh2 client: it accepts any host key (no known_hosts check) and opens
      // a new ssh connection per request. The host's `ssh` carries the connection instead.
      return { protocol: "http", host: "docker", port: 80, agent: new SshAgent(endpoint) };
    case "tcp":
      return { host: endpoint.host, port: endpoint.port, protocol: endpoint.tls ? "https" : "http", ...(endpoint.tls ?? {}) };
    default:
      return { socketPath: endpoint.socketPath };
  }
}
