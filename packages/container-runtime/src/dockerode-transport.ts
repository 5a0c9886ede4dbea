import type http from "node:http";
import type { Duplex } from "node:stream";
import type { DockerEndpoint } from "./docker-host.js";
import { apiError, unreachable, type EngineResponse, type EngineTransport } from "./engine-transport.js";

interface ModemError extends Error {
  statusCode?: number;
  json?: unknown;
}

interface Modem {
  dial(options: Record<string, unknown>, callback: (error: ModemError | null, data: unknown) => void): void;
}

const OK = { 200: true, 201: true, 204: true, 304: true };

/**
 * Sends Engine API calls through dockerode's modem: the transport for `ssh://` hosts (dockerode
 * tunnels through ssh2) and for any caller that injects its own dockerode instance. Imported
 * lazily, so nothing pays for dockerode unless it is used.
 */
export class DockerodeTransport implements EngineTransport {
  readonly #endpoint: DockerEndpoint;
  readonly #modem: Promise<Modem>;

  constructor(endpoint: DockerEndpoint, dockerode?: { modem: unknown }) {
    this.#endpoint = endpoint;
    this.#modem = dockerode
      ? Promise.resolve(dockerode.modem as Modem)
      : import("dockerode").then(({ default: Docker }) => {
          const options = endpoint.kind === "ssh" ? { protocol: "ssh" as const, ...sshOptions(endpoint.url) } : endpointOptions(endpoint);
          return new Docker(options).modem as unknown as Modem;
        });
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
    try {
      const data = await this.#dial({ ...splitQuery(path), method, statusCodes: OK, allowEmpty: true }, body);
      return { status: 200, body: data };
    } catch (error) {
      const modemError = error as ModemError;
      if (modemError.statusCode) return { status: modemError.statusCode, body: modemError.json };
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

function sshOptions(url: string): { host: string; port?: number; username?: string } {
  const parsed = new URL(url);
  return { host: parsed.hostname, ...(parsed.port ? { port: Number(parsed.port) } : {}), ...(parsed.username ? { username: parsed.username } : {}) };
}

function endpointOptions(endpoint: Exclude<DockerEndpoint, { kind: "ssh" }>): Record<string, unknown> {
  if (endpoint.kind === "tcp") {
    return { host: endpoint.host, port: endpoint.port, protocol: endpoint.tls ? "https" : "http", ...(endpoint.tls ?? {}) };
  }
  return { socketPath: endpoint.socketPath };
}
