import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";

/** A bundle as pipeSecretBundle sends it: a header line, then the secrets' bytes back to back. */
function bundleOf(secrets: Array<{ secret: string; destination: string; content: Buffer }>): Buffer {
  const header = {
    version: 1,
    secrets: secrets.map(({ content, ...rest }) => ({ ...rest, mode: 0o600, bytes: content.length, sha256: createHash("sha256").update(content).digest("hex") })),
  };
  return Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), ...secrets.map((entry) => entry.content)]);
}

describe("installs racing in one sandbox (several `sbx up` at once)", () => {
  let runner: string;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "sbx-install-runner-"));
    const contents = `import { readFileSync } from "node:fs";
import { join } from "node:path";
import { receiveSecretBundle } from "@sbx/secret-pipe";
const [bundle, startAt, root] = process.argv.slice(2) as [string, string, string];
const bytes = readFileSync(bundle);
while (Date.now() < Number(startAt)) {}
try {
  receiveSecretBundle(bytes, { home: join(root, "home"), secretsDir: join(root, "run-secrets"), within: [join(root, "home/.llm"), join(root, "run-sbx")] });
} catch (error) {
  process.stderr.write(String((error as Error).message));
  process.exit(1);
}`;
    runner = join(dir, "runner.mjs");
    // Resolved from here, so @sbx/secret-pipe is the workspace package the entrypoint bundles.
    const resolveDir = fileURLToPath(new URL(".", import.meta.url));
    await build({ stdin: { contents, resolveDir, loader: "ts" }, outfile: runner, bundle: true, platform: "node", format: "esm", logLevel: "warning" });
  });

  it("hole 11: 100 installs in rounds of 20 at once never shred or overwrite each other's copies, and the login lands whole", async () => {
    const failures: string[] = [];
    for (let round = 0; round < 5; round += 1) {
      const root = mkdtempSync(join(tmpdir(), "sbx-install-race-"));
      for (const dir of ["home/.llm/claude", "run-secrets", "run-sbx"]) mkdirSync(join(root, dir), { recursive: true });
      // Large enough that landing, checking and installing take a while.
      const login = Buffer.from(JSON.stringify({ claudeAiOauth: { accessToken: `CANARY-${randomBytes(200_000).toString("hex")}` } }));
      const env = Buffer.from(JSON.stringify({ env: { FOO: "bar" }, pipedLogins: [] }));
      const bundle = join(root, "bundle");
      writeFileSync(
        bundle,
        bundleOf([
          { secret: "claude-credentials", destination: "~/.llm/claude/.credentials.json", content: login },
          { secret: "agent-env", destination: join(root, "run-sbx/agent-env.json"), content: env },
        ]),
      );
      const startAt = Date.now() + 2000;
      const results = await Promise.all(
        Array.from(
          { length: 20 },
          () =>
            new Promise<{ code: number | null; stderr: string }>((resolve) => {
              const child = spawn(process.execPath, [runner, bundle, String(startAt), root], { stdio: ["ignore", "ignore", "pipe"] });
              let stderr = "";
              child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
              child.on("close", (code) => resolve({ code, stderr }));
            }),
        ),
      );
      failures.push(...results.filter((result) => result.code !== 0).map((result) => `round ${round}: ${result.stderr.slice(0, 200)}`));
      expect(readFileSync(join(root, "home/.llm/claude/.credentials.json")).equals(login), `round ${round}: the installed login is the piped one`).toBe(true);
      expect(readdirSync(join(root, "run-secrets"))).toEqual([]);
    }
    expect(failures).toEqual([]);
  }, 180_000);
});
