/**
 * The sandbox's lifecycle against the real engine: concurrent `sbx up` (hole 11), resource and
 * log bounds (hole 14), and `gc`/`ls` acting only on this user's own sandboxes (hole 15).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../packages/container-runtime/src/test-support/docker-environment.js";
import { docker } from "./test-support/docker-cli.js";
import { runSbx } from "./test-support/run-sbx.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;

describe.skipIf(!environment.available)(`sbx lifecycle against the Docker engine${skipReason}`, { timeout: 600_000 }, () => {
  const login = `sbxlife${randomBytes(3).toString("hex")}`;
  const root = mkdtempSync(join(tmpdir(), "sbx-lifecycle-"));
  const home = join(root, "home");
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    SBX_LOGIN: login,
    SBX_BASE_IMAGE: environment.available ? environment.image : "",
    ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
  };
  const created: { containers: string[]; volumes: string[] } = { containers: [], volumes: [`${login}-llm`] };
  const project = (name: string) => {
    const dir = join(root, name);
    mkdirSync(join(dir, ".git"), { recursive: true });
    return dir;
  };
  const containerOf = async (cwd: string, withEnv = env) => {
    const status = await runSbx(["status", "--json"], { cwd, env: withEnv });
    const name = JSON.parse(status.stdout).container.name as string;
    created.containers.push(name);
    return name;
  };

  beforeAll(() => mkdirSync(home, { recursive: true }));
  afterAll(() => {
    for (const name of created.containers) docker(["rm", "-f", name], { allowFailure: true });
    for (const name of created.volumes) docker(["volume", "rm", name], { allowFailure: true });
  });

  it("hole 11: five simultaneous `sbx up --detach` in one project all exit 0, and one container results", async () => {
    // Build (or find) the image first, in another project: the race under test is the container's.
    const warm = project("warm");
    const first = await runSbx(["up", "--detach", "--yes"], { cwd: warm, env, timeoutMs: 600_000 });
    expect(first.exitCode, first.stderr).toBe(0);
    await containerOf(warm);
    const dir = project("concurrent");
    const name = await containerOf(dir);
    const ups = await Promise.all(Array.from({ length: 5 }, () => runSbx(["up", "--detach", "--yes"], { cwd: dir, env, timeoutMs: 600_000 })));
    for (const up of ups) expect(up.exitCode, up.stderr).toBe(0);
    const listed = docker(["ps", "-a", "--filter", `name=^/${name}$`, "--format", "{{.Names}} {{.State}}"]).stdout.trim().split("\n");
    expect(listed).toEqual([`${name} running`]);
  });
});
