/**
 * `sbx export` from a real sandbox: sessions written inside a running container (on a named
 * volume, as in a sandbox) are mirrored out and exported with the boundary policy's redaction,
 * the default. Runs in CI (SBX_REQUIRE_DOCKER=1); elsewhere it reports itself skipped.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { DockerRuntime } from "@sbx/container-runtime";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerTestEnvironment } from "../../../../packages/container-runtime/src/test-support/docker-environment.js";
import { plantedTokens, sessionWithTokens } from "../test-support/planted-tokens.js";
import { exportCommand } from "./export.js";
import { exportRedactor } from "./export-redactor.js";

const environment = await dockerTestEnvironment();
const skipReason = environment.available ? "" : ` (skipped: ${environment.reason})`;
const STATE = "/home/sandbox/.llm";
const TIMEOUT = 60_000;

describe.skipIf(!environment.available)(`sbx export from a running sandbox${skipReason}`, () => {
  const image = environment.available ? environment.image : "";
  const suffix = randomBytes(4).toString("hex");
  const volume = `sbx-test-export-redact-${suffix}`;
  const container = `sbx-test-export-redact-${suffix}`;
  let runtime: DockerRuntime;
  let home = "";

  beforeAll(async () => {
    runtime = new DockerRuntime();
    home = mkdtempSync(join(tmpdir(), "sbx-export-docker-"));
    await runtime.ensureVolume(volume, { "dev.sbx.test": "export-redact" });
    await runtime.createContainer({ name: container, image, user: "1000:1000", cmd: ["sh", "-c", "sleep 3600"], mounts: [{ type: "volume", source: volume, target: STATE }] });
    await runtime.startContainer(container);
  }, TIMEOUT);

  afterAll(async () => {
    await runtime.removeContainer(container).catch(() => undefined);
    await runtime.removeVolume(volume).catch(() => undefined);
    runtime.close();
    rmSync(home, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    "finds none of ten planted token families anywhere in the inbox, file names included",
    async () => {
      const tokens = plantedTokens();
      const session = `${STATE}/claude/projects/-workspace/5e55a0b1-0000-4000-8000-00000000beef.jsonl`;
      // Written as root: the fresh volume's root belongs to root. World-readable, as the sync reads as 1000.
      const write = await runtime.exec(container, { user: "0:0", cmd: ["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat > "$1"', "sh", session], stdin: sessionWithTokens(tokens) });
      expect(write.exitCode, write.stderr.toString()).toBe(0);

      const inbox = join(home, "inbox");
      const stdout = new PassThrough();
      let output = "";
      stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const redact = await exportRedactor({ home, env: {}, cwd: home });
      const code = await exportCommand({
        inbox,
        json: true,
        env: {},
        home,
        stdout,
        redact,
        sandbox: { runtime, container, volumeName: volume, projectId: `demo-${suffix}`, project: { name: "demo", path: "/home/me/demo" } },
      });
      expect(code, output).toBe(0);
      expect(JSON.parse(output)).toMatchObject({ written: 1 });

      const everything: string[] = [];
      const walk = (dir: string): void => {
        for (const entry of readdirSync(dir, { withFileTypes: true })) {
          const path = join(dir, entry.name);
          everything.push(path);
          if (entry.isDirectory()) walk(path);
          else everything.push(readFileSync(path, "latin1"));
        }
      };
      walk(inbox);
      const leaked = Object.entries(tokens).filter(([, token]) => everything.some((text) => text.includes(token)));
      expect(leaked.map(([family]) => family)).toEqual([]);
      const note = everything.find((text) => text.startsWith("---\n")) ?? "";
      for (const family of Object.keys(tokens)) expect(note).toContain(`[REDACTED:${family}]`);
      expect(note).toContain("project: demo");
      expect(note).toContain("project_path: /home/me/demo");
    },
    TIMEOUT,
  );
});
