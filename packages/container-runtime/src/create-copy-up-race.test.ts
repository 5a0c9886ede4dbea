/**
 * Two containers created at once on one fresh volume (two named sandboxes of a new login): each
 * engine create copies the image's content at the mount point into the empty volume, and the
 * second copy can find the first one's directory already there. Docker then refuses the create
 * with a 500 ("failed to mkdir …/_data/claude: file exists", seen in CI) although a second try
 * finds the volume filled and copies nothing. This scripted engine answers a create so once.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DockerRuntime } from "./docker-driver.js";
import { isRuntimeError } from "./errors.js";

const COPY_UP_RACE = "failed to mkdir /var/lib/docker/volumes/sbxlib2d6dff-llm/_data/claude: file exists";

describe("a create that loses the race to fill a fresh volume", () => {
  const dir = mkdtempSync(join(tmpdir(), "sbx-copy-up-engine-"));
  const socketPath = join(dir, "docker.sock");
  let server: Server;
  // Per container name: how many creates are refused before one succeeds (`loses-<n>`).
  const refusals = new Map<string, number>();
  const creates: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => (body += chunk.toString()));
      request.on("end", () => {
        const url = new URL(request.url ?? "/", "http://engine");
        const reply = (status: number, value: unknown) => {
          response.writeHead(status, { "content-type": "application/json" });
          response.end(JSON.stringify(value));
        };
        if (request.method === "POST" && url.pathname.endsWith("/containers/create")) {
          const name = url.searchParams.get("name") ?? "";
          creates.push(name);
          const refused = refusals.get(name) ?? 0;
          if (name.startsWith("loses") && refused < Number(name.split("-")[1])) {
            refusals.set(name, refused + 1);
            return reply(500, { message: COPY_UP_RACE });
          }
          if (name.startsWith("other")) return reply(500, { message: "failed to mkdir /etc/x: permission denied" });
          return reply(201, { Id: "c0ffee", Warnings: [] });
        }
        const inspect = /\/containers\/([^/]+)\/json$/.exec(url.pathname);
        if (request.method === "GET" && inspect) {
          return reply(200, {
            Id: "c0ffee",
            Name: `/${decodeURIComponent(inspect[1] as string)}`,
            Created: "2026-12-03T00:00:00Z",
            Config: { Image: "img", User: "1000:1000", Labels: {} },
            State: { Status: "created" },
            HostConfig: { CapDrop: ["ALL"], CapAdd: [], SecurityOpt: ["no-new-privileges"], PidsLimit: 512, Tmpfs: {} },
            Mounts: [],
          });
        }
        reply(404, { message: "no such route" });
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `use` with a runtime on the scripted engine, closed after. */
  async function withRuntime(use: (docker: DockerRuntime) => Promise<void>): Promise<void> {
    const docker = new DockerRuntime({ env: { DOCKER_HOST: `unix://${socketPath}` } });
    try {
      await use(docker);
    } finally {
      docker.close();
    }
  }
  const spec = (name: string) => ({ name, image: "img", user: "1000:1000", cmd: ["idle"], mounts: [{ type: "volume" as const, source: "sbxlib2d6dff-llm", target: "/home/sandbox/.llm" }] });

  it("creates the container on the next try", async () => {
    await withRuntime(async (docker) => {
      const info = await docker.createContainer(spec("loses-1"));
      expect(info.name).toBe("loses-1");
      expect(creates.filter((name) => name === "loses-1")).toHaveLength(2);
    });
  });

  it("gives up after a few tries, with the engine's own message", async () => {
    await withRuntime(async (docker) => {
      const failure = await docker.createContainer(spec("loses-99")).catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_DOCKER_API"), String(failure)).toBe(true);
      expect((failure as Error).message).toContain("file exists");
      expect(creates.filter((name) => name === "loses-99")).toHaveLength(4);
    });
  });

  it("does not retry another refusal", async () => {
    await withRuntime(async (docker) => {
      const failure = await docker.createContainer(spec("other")).catch((error: unknown) => error);
      expect(isRuntimeError(failure, "SBX_DOCKER_API"), String(failure)).toBe(true);
      expect(creates.filter((name) => name === "other")).toHaveLength(1);
    });
  });
});
