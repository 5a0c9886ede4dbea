/**
 * The conversation move's copy against a racing start-up, on the sandbox's own Node (22): there
 * `cpSync` copies directories in C++ and aborts the process when one vanishes under it (exit 134,
 * `std::filesystem::filesystem_error`: the entrypoint died with SBX_SECRET_INSTALL_FAILED once in
 * CI); `copyTreeSync` must throw a JavaScript error the move handles, or finish.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const image = process.env.SBX_TEST_BASE_IMAGE;
const required = process.env.SBX_REQUIRE_DOCKER === "1" || process.env.CI === "true";
const source = fileURLToPath(new URL("./copy-tree.ts", import.meta.url));

// A tree of 300 directories, removed from the far end by a worker while the main thread copies it.
const race = `
const fs = require("node:fs"); const { Worker } = require("node:worker_threads");
const src = "/tmp/race/src"; fs.rmSync("/tmp/race", { recursive: true, force: true });
for (let i = 0; i < 300; i++) { fs.mkdirSync(src + "/d" + i + "/e", { recursive: true }); fs.writeFileSync(src + "/d" + i + "/e/f", "x".repeat(1000)); }
new Worker('const fs = require("node:fs"); setTimeout(() => { for (let i = 299; i >= 0; i--) fs.rmSync("' + src + '/d" + i, { recursive: true, force: true }); }, 2);', { eval: true });
import("/opt/copy-tree.ts").then(({ copyTreeSync }) => {
  try { copyTreeSync(src, "/tmp/race/dst"); console.log("copied"); } catch (error) { console.log("error " + error.code); }
});
`;

describe.skipIf(!image && !required)("copyTreeSync on the sandbox's Node", () => {
  it("a directory vanishing mid-copy is a JavaScript error (or no error), never an aborted process", () => {
    expect(image, "SBX_TEST_BASE_IMAGE names the offline base image").toBeTruthy();
    for (let round = 0; round < 5; round++) {
      const output = execFileSync("docker", ["run", "--rm", "-v", `${source}:/opt/copy-tree.ts:ro`, image as string, "node", "--experimental-strip-types", "--no-warnings", "-e", race], { encoding: "utf8", timeout: 60_000 });
      expect(output.trim()).toMatch(/^(?:copied|error ENOENT)$/);
    }
  }, 120_000);
});
